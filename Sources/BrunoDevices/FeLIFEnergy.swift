import BrunoSpice
import BrunoSupport
import BrunoSurrogates
import Foundation

/// Where a `felif` neuron (models/felif.lib) takes its energy from and where it goes, as ngspice vectors.
///
/// The subcircuit's physical network — membrane, FeCap terminals, reset switch and target, latch and timer — is
/// probed element by element. The FeCap's internal state nodes (`e`, `r`, `p`: field, switching rate and
/// polarization as voltages) carry no physical energy: they are a calculator, a separate network that only
/// controls `Bsw`, so they are left out of both sides of the bookkeeping.
public enum FeLIFEnergyProbes {
    /// What supplies energy: the input into the membrane, the reset target source and the logic's 1 V supply and
    /// buffer. `input` is the probe of the source feeding the membrane (nil inside a column, whose synapses are
    /// probed separately).
    /// The label of the input's probe in the bench.
    public static let inputLabel = "input"

    public static func supplies(instance x: String = "xn", input: EnergyProbe? = nil) -> [EnergyProbe] {
        (input.map { [$0] } ?? []) + [
            EnergyProbe(label: "reset supply", plus: "\(x).rtgt", current: "@b.\(x).brt[i]"),
            .source("logic supply", name: "v.\(x).vone", plus: "\(x).one"),
            .source("logic supply", name: "e.\(x).eqb", plus: "\(x).qb"),
        ]
    }

    /// Where the energy goes, grouped by what it means (several elements can share a label).
    public static func sinks(instance x: String = "xn", membrane m: String = "mem") -> [EnergyProbe] {
        [
            EnergyProbe(label: "FeCap switching", plus: m, current: "@b.\(x).xfe.bsw[i]"),
            EnergyProbe(label: "FeCap dielectric", plus: m, current: "@c.\(x).xfe.cfe[i]"),
            EnergyProbe(label: "leakage", plus: m, current: "@b.\(x).xfe.bleak[i]"),
            EnergyProbe(label: "leakage", plus: m, current: "@b.\(x).bdsc[i]"),
            EnergyProbe(label: "membrane capacitance", plus: m, current: "@c.\(x).cpar[i]"),
            EnergyProbe(label: "reset switch", plus: m, minus: "\(x).rtgt", current: "@s.\(x).srst[i]"),
            EnergyProbe(label: "latch and timer", plus: "\(x).one", minus: "\(x).q", current: "@s.\(x).sset[i]"),
            EnergyProbe(label: "latch and timer", plus: "\(x).one", minus: "\(x).q", current: "@s.\(x).shold[i]"),
            EnergyProbe(label: "latch and timer", plus: "\(x).q", current: "@s.\(x).sclr[i]"),
            EnergyProbe(label: "latch and timer", plus: "\(x).q", current: "@c.\(x).cq[i]"),
            EnergyProbe(label: "latch and timer", plus: "\(x).q", current: "@r.\(x).rq[i]"),
            EnergyProbe(label: "latch and timer", plus: "\(x).qb", minus: "\(x).tmr", current: "@r.\(x).rt[i]"),
            EnergyProbe(label: "latch and timer", plus: "\(x).tmr", current: "@c.\(x).ct[i]"),
        ]
    }

    /// Every vector the probes read, for a deck's `.save` line.
    public static func saves(_ probes: [EnergyProbe]) -> [String] {
        var seen = Set<String>(), out: [String] = []
        for p in probes {
            for v in [p.plus, p.minus].filter({ $0 != "0" }).map({ "v(\($0))" }) + [p.current]
            where seen.insert(v).inserted { out.append(v) }
        }
        return out
    }
}

/// Energies [J] by label over one window, summed over the elements that share a label.
public struct EnergyParts: Sendable, Equatable, Codable {
    public var labels: [String]
    public var joules: [Double]

    public init(_ plot: SpicePlot, probes: [EnergyProbe], delivered: Bool, window: ClosedRange<Double>? = nil) throws {
        labels = []
        joules = []
        for p in probes {
            let e = delivered ? try plot.deliveredEnergy(p, window: window) : try plot.absorbedEnergy(p, window: window)
            if let k = labels.firstIndex(of: p.label) { joules[k] += e } else { labels.append(p.label); joules.append(e) }
        }
    }

    public var total: Double { joules.reduce(0, +) }
    public subscript(_ label: String) -> Double { labels.firstIndex(of: label).map { joules[$0] } ?? 0 }

    /// Every figure times `s`.
    public func scaled(by s: Double) -> EnergyParts {
        var out = self
        out.joules = joules.map { $0 * s }
        return out
    }

    /// self + other·s, label by label (labels of self).
    public func adding(_ other: EnergyParts, scaledBy s: Double) -> EnergyParts {
        var out = self
        for k in out.labels.indices { out.joules[k] += other[labels[k]] * s }
        return out
    }
}

/// One FeLIF neuron driven by a constant current, simulated with every element of its physical network probed.
public struct FeLIFEnergyBench: Sendable {
    public var parameters: FeLIFParameters
    public var variation = FeLIFVariation.nominal
    /// Input current into the membrane [A].
    public var current: Double
    /// Simulated time [s]; the energy window is all of it.
    public var duration: Double
    /// ngspice's largest step [s]: the calibration protocol's, which the switch models need (calibration/felif.toml).
    public var maxStep = 1e-6
    /// ngspice's `trtol`. At its default (7) a step may jump over the reset, whose time constant is ≈ 12 ns
    /// (20 kΩ into the FeCap and C_par): the membrane falls 4 V in one 90 ns step, spike timing is unharmed, but the
    /// energy of that step is mis-integrated (reset supply −21 %, reset switch −48 % at 1 µs steps against 10 ns
    /// steps). At 0.1 the truncation-error control resolves the reset: within 0.2 % of 10 ns steps, 6 % more points.
    public static let energyTruncationTolerance = 0.1

    public init(parameters: FeLIFParameters = .reference, current: Double, duration: Double) {
        self.parameters = parameters
        self.current = current
        self.duration = duration
    }

    /// The input flows through a 0 V ammeter (`Vam`) into the membrane: ngspice keeps no current vector of a
    /// top-level current source, but every voltage source has its branch current.
    static let inputProbe = EnergyProbe(label: FeLIFEnergyProbes.inputLabel, plus: "0", minus: "mem", current: "vam#branch")

    public func netlist(library: DeviceLibrary) throws -> Netlist {
        guard duration > 0, duration.isFinite else {
            throw SpiceError.invalidRequest("The energy window must be a positive duration (got \(duration) s).")
        }
        guard current.isFinite, current >= 0 else {
            throw SpiceError.invalidRequest("The input current must be finite and not negative (got \(current) A).")
        }
        let n = Netlist.spiceNumber
        let probes = FeLIFEnergyProbes.supplies(input: Self.inputProbe) + FeLIFEnergyProbes.sinks()
        let saves = ["v(spk)"] + FeLIFEnergyProbes.saves(probes)
        return try Netlist(string: """
        FeLIF neuron energy bench (generated by Bruno)
        .include "\(library.model("felif.lib").path)"
        Iin 0 min DC \(n(current))
        Vam min mem DC 0
        XN mem spk felif \(instanceArguments(parameters.subcircuitArguments + variation.subcircuitArguments))
        .options method=gear reltol=1e-4 abstol=1e-15 chgtol=1e-16 trtol=\(n(Self.energyTruncationTolerance))
        .save \(saves.joined(separator: " "))
        .tran \(n(min(maxStep, duration / 100))) \(n(duration)) 0 \(n(maxStep)) uic
        .end
        """, name: "felif-energy.cir", baseDirectory: library.netlists)
    }

    public func run(on pool: SpicePool, library: DeviceLibrary) async throws -> FeLIFEnergyMeasurement {
        try FeLIFEnergyMeasurement(try await pool.simulate(netlist(library: library)), current: current)
    }
}

/// A neuron's energy over one window, both ways: what its supplies delivered and what its elements absorbed.
public struct FeLIFEnergyMeasurement: Sendable, Equatable, Codable {
    /// Input current [A] and window [s].
    public var current: Double
    public var duration: Double
    public var spikes: Int
    /// Energy delivered by each supply [J] (input, reset supply, logic supply).
    public var supplies: EnergyParts
    /// Energy absorbed by each part [J] (stored energy counts as absorbed; it is returned over a spike cycle).
    public var sinks: EnergyParts
    /// Power [W] by label over the window's second half, delivered (`settledSupplies`) and absorbed (`settledSinks`).
    /// The bench starts with every node at 0 V (`uic`), so the first microseconds charge the neuron's capacitances
    /// from the supplies once; at rest the second half is the static power alone.
    public var settledSupplies: EnergyParts
    public var settledSinks: EnergyParts

    public init(_ result: SimulationResult, current: Double, instance: String = "xn", input: EnergyProbe? = nil) throws {
        guard let plot = result.plot("tran"), let t = plot.scale?.real, t.count > 1 else {
            throw SpiceError.invalidRequest("The neuron energy bench returned no transient.")
        }
        self.current = current
        duration = t[t.count - 1] - t[0]
        spikes = try NeuronTrace(result).spikeTimes.count
        supplies = try EnergyParts(plot, probes: FeLIFEnergyProbes.supplies(instance: instance, input: input ?? FeLIFEnergyBench.inputProbe),
                                   delivered: true)
        sinks = try EnergyParts(plot, probes: FeLIFEnergyProbes.sinks(instance: instance), delivered: false)
        let half = (t[0] + t[t.count - 1]) / 2, late = half...t[t.count - 1], rate = 1 / (late.upperBound - half)
        settledSupplies = try EnergyParts(plot, probes: FeLIFEnergyProbes.supplies(instance: instance,
                                                                                   input: input ?? FeLIFEnergyBench.inputProbe),
                                          delivered: true, window: late).scaled(by: rate)
        settledSinks = try EnergyParts(plot, probes: FeLIFEnergyProbes.sinks(instance: instance), delivered: false, window: late)
            .scaled(by: rate)
    }

    /// Power [W] the supplies delivered over the window's second half.
    public var settledPower: Double { settledSupplies.total }

    /// What the supplies delivered beyond `settledPower` over the window [J]: at rest, the one-off charge of the
    /// neuron's capacitances from a start at 0 V.
    public var powerUpEnergy: Double { supplies.total - settledPower * duration }

    /// Mean power [W] the supplies delivered over the window.
    public var power: Double { supplies.total / duration }

    /// Relative disagreement of the two bookkeepings, |supplied − absorbed| / supplied.
    public var imbalance: Double { abs(supplies.total - sinks.total) / max(abs(supplies.total), .leastNormalMagnitude) }
}

/// A whole column's energy from its SPICE run (`FeLIFColumn.recordsEnergy`): what the read pulses delivered into
/// the RRAM cells, what the summing-line gain put into the membrane, and what the neuron's own supplies delivered.
public struct FeLIFColumnEnergy: Sendable, Equatable, Codable {
    /// Energy [J] the input lines' read pulses delivered (all cells of the column).
    public var reads: Double
    /// Energy [J] the ideal summing-line-to-membrane gain (the `F` sources) delivered into the membrane.
    public var membraneInput: Double
    /// Energy [J] the neuron's reset and logic supplies delivered.
    public var neuronSupplies: Double
    public var spikes: Int
    public var duration: Double

    /// The read pulse source of input line i: `Vin<i>` on node `in<i>` (see `FeLIFColumn.text`).
    public static func inputProbes(synapses: Int) -> [EnergyProbe] {
        (0..<synapses).map { .source("synaptic reads", name: "vin\($0)", plus: "in\($0)") }
    }

    public init(_ result: SimulationResult, column: FeLIFColumn) throws {
        guard let plot = result.plot("tran"), let t = plot.scale?.real, t.count > 1 else {
            throw SpiceError.invalidRequest("The column's run returned no transient.")
        }
        reads = try EnergyParts(plot, probes: Self.inputProbes(synapses: column.synapses.count), delivered: true).total
        guard let v = plot["v(mem)"]?.real, let ip = plot["i(vsp)"]?.real, let im = plot["i(vsn)"]?.real,
              v.count == t.count, ip.count == t.count, im.count == t.count else {
            throw SpiceError.invalidRequest("The column's run lacks v(mem), i(vsp) or i(vsn) (they are always saved).")
        }
        // Fp injects gain·i(Vsp) into mem, Fn draws gain·i(Vsn) from it.
        let p = (0..<t.count).map { v[$0] * column.currentGain * (ip[$0] - im[$0]) }
        membraneInput = SpiceEnergy.integral(time: t, power: p)
        neuronSupplies = try EnergyParts(plot, probes: FeLIFEnergyProbes.supplies(), delivered: true).total
        spikes = try NeuronTrace(result).spikeTimes.count
        duration = t[t.count - 1] - t[0]
    }

    public var total: Double { reads + membraneInput + neuronSupplies }
    /// What the neuron took [J]: its input through the gain and its own supplies.
    public var neuron: Double { membraneInput + neuronSupplies }
}
