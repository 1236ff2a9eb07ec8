import BrunoSpice
import BrunoSurrogates
import Foundation

/// The FeLIF surrogate's parameters as a neuron netlist sets them, evaluated by ngspice.
///
/// Why ngspice evaluates: a researcher's netlist sets values through `.param` expressions, instance overrides,
/// subcircuit defaults and nested includes. Bruno adds, inside each subcircuit that declares a parameter, a
/// behavioural source whose voltage is that parameter (`Bbrunoprobe0 brunoprobe0 0 V={ps*vps}`), runs one
/// nanosecond of transient with `uic` and reads the node: the value is exactly what ngspice uses for the
/// neuron instance, and no arithmetic is parsed by hand. Where a value is written (the override, the `.param`
/// it refers to, or the subcircuit default) is taken from `NetlistStructure`.
public struct FeLIFNetlistParameters: Sendable {
    /// One surrogate parameter's counterpart: the netlist parameter (and its device-to-device factor, which
    /// multiplies it, as in `models/fecap.lib`).
    public struct Counterpart: Sendable {
        public var surrogate: String
        public var netlist: String
        public var factor: String?
        public var unit: String
    }

    /// The naming convention of `models/felif.lib` and `models/fecap.lib` (docs/calibration.md).
    public static let counterparts: [Counterpart] = [
        .init(surrogate: "area", netlist: "area", factor: "varea", unit: "m^2"),
        .init(surrogate: "tFe", netlist: "tfe", factor: "vtfe", unit: "m"),
        .init(surrogate: "epsFe", netlist: "epsfe", factor: nil, unit: "1"),
        .init(surrogate: "tInt", netlist: "tint", factor: "vtint", unit: "m"),
        .init(surrogate: "epsInt", netlist: "epsint", factor: nil, unit: "1"),
        .init(surrogate: "saturationPolarization", netlist: "ps", factor: "vps", unit: "C/m^2"),
        .init(surrogate: "tau0", netlist: "tau0", factor: nil, unit: "s"),
        .init(surrogate: "activationField", netlist: "ea", factor: "vea", unit: "V/m"),
        .init(surrogate: "alpha", netlist: "alpha", factor: nil, unit: "1"),
        .init(surrogate: "softField", netlist: "esoft", factor: nil, unit: "V/m"),
        .init(surrogate: "leakCurrentDensity", netlist: "j0", factor: "vj0", unit: "A/m^2"),
        .init(surrogate: "leakVoltage", netlist: "vt", factor: nil, unit: "V"),
        .init(surrogate: "dischargeCurrent", netlist: "idsc", factor: "vidsc", unit: "A"),
        .init(surrogate: "parasiticCapacitance", netlist: "cpar", factor: nil, unit: "F"),
        .init(surrogate: "threshold", netlist: "vthr", factor: nil, unit: "V"),
        .init(surrogate: "resetVoltage", netlist: "vreset", factor: nil, unit: "V"),
    ]

    /// A value read from the netlist.
    public struct Reading: Sendable, Equatable {
        public var value: Double
        /// "file:line" where the value is written.
        public var place: String
        /// The netlist's name and the instance path it was read at (`xn.xfe: ps*vps`).
        public var expression: String
    }

    /// Read values by surrogate name.
    public var readings: [String: Reading]
    /// Surrogate parameters the netlist has no counterpart for (they keep Bruno's defaults).
    public var missing: [String]
    /// The neuron instance (`XN`).
    public var instance: String

    /// Finds the neuron (the subcircuit instance on node `mem`) and reads every counterpart it has.
    public static func read(_ netlist: Netlist, spice: SpiceInstance) throws -> FeLIFNetlistParameters {
        let structure = netlist.structure
        guard let neuron = structure.instances.first(where: { $0.nodes.contains { $0.lowercased() == "mem" } }) else {
            throw CalibrationError.netlistShape("\(netlist.name) has no subcircuit instance on node `mem` (expected a "
                + "line like `XN mem spk felif …`, the neuron whose membrane Iin drives)")
        }
        guard structure.subcircuits[neuron.subcircuit.lowercased()] != nil else {
            throw CalibrationError.netlistShape("\(netlist.place(ofLineAt: neuron.lineIndex)): `\(neuron.name)` places "
                + "subcircuit `\(neuron.subcircuit)`, which the netlist and its includes do not define")
        }
        let levels = structure.hierarchy(below: neuron)
        var probes: [(counterpart: Counterpart, level: Int, expression: String)] = []
        var missing: [String] = []
        for c in counterparts {
            // The deepest level that declares it: where the device equations use it.
            guard let level = levels.lastIndex(where: { $0.subcircuit.parameters[c.netlist] != nil }) else {
                missing.append(c.surrogate)
                continue
            }
            let hasFactor = c.factor.map { levels[level].subcircuit.parameters[$0] != nil } ?? false
            probes.append((c, level, hasFactor ? "\(c.netlist)*\(c.factor!)" : c.netlist))
        }
        let values = try ParameterProbe.calibrationValues(netlist, probes.map { .init($0.expression, at: levels[$0.level]) }, spice: spice)
        var readings: [String: Reading] = [:]
        for (k, probe) in probes.enumerated() {
            let path = levels[probe.level].path
            guard let value = values[k] else {
                throw CalibrationError.netlistShape("\(netlist.name): ngspice gave no finite value for "
                    + "`\(probe.expression)` of `\(path)`")
            }
            let line = structure.sourceLine(of: probe.counterpart.netlist, level: probe.level, in: levels)
            readings[probe.counterpart.surrogate] = Reading(
                value: value, place: line.map { netlist.place(ofLineAt: $0) } ?? netlist.name,
                expression: "\(path): \(probe.expression)")
        }
        return FeLIFNetlistParameters(readings: readings, missing: missing, instance: neuron.name)
    }

    /// The surrogate with every read value in place (the others keep their defaults).
    public func applied(to simulation: FeLIFTraceSimulation) -> FeLIFTraceSimulation {
        var s = simulation
        for (name, r) in readings {
            switch name {
            case "area": s.surrogate.area = r.value
            case "tFe": s.surrogate.tFe = r.value
            case "epsFe": s.surrogate.epsFe = r.value
            case "tInt": s.surrogate.tInt = r.value
            case "epsInt": s.surrogate.epsInt = r.value
            case "saturationPolarization": s.surrogate.saturationPolarization = r.value
            case "tau0": s.surrogate.tau0 = r.value
            case "activationField": s.surrogate.activationField = r.value
            case "alpha": s.surrogate.alpha = r.value
            case "softField": s.surrogate.softField = r.value
            case "leakCurrentDensity": s.surrogate.leakCurrentDensity = r.value
            case "leakVoltage": s.surrogate.leakVoltage = r.value
            case "dischargeCurrent": s.surrogate.dischargeCurrent = r.value
            case "parasiticCapacitance": s.surrogate.parasiticCapacitance = r.value
            case "threshold": s.surrogate.threshold = r.value
            case "resetVoltage": s.surrogate.resetVoltage = r.value
            default: break
            }
        }
        return s
    }
}

extension ParameterProbe {
    /// `evaluate`, with ngspice's refusal as a calibration error that names the netlist.
    static func calibrationValues(_ netlist: Netlist, _ requests: [Request], spice: SpiceInstance) throws -> [Double?] {
        do { return try evaluate(netlist, requests, spice: spice) } catch let error as SpiceError {
            throw CalibrationError.netlistShape("ngspice could not evaluate the parameters of \(netlist.name): \(error.description)")
        }
    }
}
