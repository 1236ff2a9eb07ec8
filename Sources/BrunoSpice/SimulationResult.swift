import Numerics
import Foundation

/// Physical quantity of a vector, from ngspice's vector type code.
public enum SpiceQuantity: String, Sendable, Codable, CaseIterable {
    case none, time, frequency, voltage, current, voltageDensity, currentDensity, voltageDensitySquared,
         currentDensitySquared, voltageSquared, currentSquared, pole, zero, sParameter, temperature,
         resistance, impedance, admittance, power, phase, decibel, capacitance, charge

    init(code: Int32) {
        let all = SpiceQuantity.allCases
        self = code >= 0 && Int(code) < all.count ? all[Int(code)] : .none
    }

    /// SI unit symbol for axis labels and CSV headers.
    public var unit: String {
        switch self {
        case .time: "s"
        case .frequency: "Hz"
        case .voltage: "V"
        case .current: "A"
        case .voltageDensity: "V/√Hz"
        case .currentDensity: "A/√Hz"
        case .voltageDensitySquared: "V²/Hz"
        case .currentDensitySquared: "A²/Hz"
        case .voltageSquared: "V²"
        case .currentSquared: "A²"
        case .temperature: "°C"
        case .resistance, .impedance: "Ω"
        case .admittance: "S"
        case .power: "W"
        case .phase: "rad"
        case .decibel: "dB"
        case .capacitance: "F"
        case .charge: "C"
        case .none, .pole, .zero, .sParameter: ""
        }
    }
}

/// One vector read back from ngspice, copied out of its memory.
public struct SpiceVector: Sendable, Equatable {
    public var name: String
    public var quantity: SpiceQuantity
    /// Real data, or the real parts of complex data.
    public var real: [Double]
    /// Complex data (nil for a real vector).
    public var complex: [Complex<Double>]?

    public init(name: String, quantity: SpiceQuantity, real: [Double], complex: [Complex<Double>]? = nil) {
        self.name = name
        self.quantity = quantity
        self.real = real
        self.complex = complex
    }

    public var isComplex: Bool { complex != nil }
    public var count: Int { real.count }
}

/// The vectors of one analysis (ngspice's "plot": `tran1`, `dc1`, `op1`, …).
public struct SpicePlot: Sendable, Equatable {
    /// ngspice's plot name (`tran1`).
    public var name: String
    /// The analysis kind (`tran`, `dc`, `op`, `ac`, …): the plot name without its number.
    public var kind: String
    public var vectors: [SpiceVector]

    /// The independent variable: `time` for tran, the swept source for dc, `frequency` for ac.
    public var scale: SpiceVector? {
        vectors.first { $0.quantity == .time || $0.quantity == .frequency } ?? (kind == "dc" ? vectors.first { $0.name.hasPrefix("v-sweep") || $0.name.hasPrefix("i-sweep") || $0.name == "sweep" } : nil)
    }

    /// A vector by name; `v(out)` and `out`, `i(v1)` and `v1#branch` are accepted alike, case-insensitively.
    public subscript(_ name: String) -> SpiceVector? {
        let key = SpicePlot.canonical(name)
        return vectors.first { SpicePlot.canonical($0.name) == key }
    }

    /// ngspice names node voltages by the node (`out`) and branch currents `v1#branch`.
    static func canonical(_ name: String) -> String {
        let n = name.lowercased().replacingOccurrences(of: " ", with: "")
        if n.hasPrefix("v("), n.hasSuffix(")"), !n.contains(",") { return String(n.dropFirst(2).dropLast()) }
        if n.hasPrefix("i("), n.hasSuffix(")") { return String(n.dropFirst(2).dropLast()) + "#branch" }
        return n
    }
}

/// Everything one simulation returned.
public struct SimulationResult: Sendable, Equatable {
    /// One plot per analysis that ran, in the order ngspice created them.
    public var plots: [SpicePlot]
    /// Warnings ngspice printed that may change what the circuit means (e.g. an element with no value).
    public var warnings: [String]
    /// Every line ngspice printed during the load and the run.
    public var log: [String]
    /// Wall time of the load and the run on its instance [s] (set by `SpicePool`; what a deck costs in core-seconds).
    public var seconds: Double?

    /// The first plot of the given kind (`tran`, `dc`, `op`).
    public func plot(_ kind: String) -> SpicePlot? { plots.first { $0.kind == kind.lowercased() } }

    /// A vector of the first plot that has it.
    public subscript(_ name: String) -> SpiceVector? {
        for plot in plots { if let v = plot[name] { return v } }
        return nil
    }
}
