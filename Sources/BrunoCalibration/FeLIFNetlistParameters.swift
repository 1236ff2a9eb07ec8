import BrunoCards
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

    /// The naming convention of `models/felif.lib` and `models/fecap.lib` (docs/calibration.md), from the card's
    /// parameter table.
    public static var counterparts: [Counterpart] {
        FeLIFCardParameter.withSpiceCounterpart.map {
            Counterpart(surrogate: $0.name, netlist: $0.spiceName!, factor: $0.deviceFactor, unit: $0.unit)
        }
    }

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
            if let p = FeLIFCardParameter.named(name) { s[keyPath: p.keyPath] = r.value }
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
