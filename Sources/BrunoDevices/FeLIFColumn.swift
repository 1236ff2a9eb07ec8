import BrunoSpice
import BrunoSupport
import BrunoSurrogates
import Foundation

/// One output column of a network as a circuit: N RRAM synapses driven by input spike pulses, summed into one
/// FeLIF neuron. This is the unit SPICE-in-the-loop validation simulates.
///
/// Each synapse is a differential pair of frozen-state RRAM cells (G⁺, G⁻). An input spike is a read pulse of
/// `readVoltage` for `pulseWidth` on the input's line. The cells' currents flow into two summing lines held at
/// 0 V (virtual ground, ammeters `Vsp`/`Vsn`), and current-controlled sources copy `currentGain`·(I⁺ − I⁻)
/// into the membrane: the column's synaptic current is gain · Σ (G⁺ − G⁻) · V_read over active inputs.
public struct FeLIFColumn: Sendable {
    public struct Synapse: Sendable, Equatable {
        /// Read conductances [S] of the two cells.
        public var plus: Double
        public var minus: Double
        public var plusDevice: RRAMDeviceFactors
        public var minusDevice: RRAMDeviceFactors

        public init(plus: Double, minus: Double, plusDevice: RRAMDeviceFactors = .nominal, minusDevice: RRAMDeviceFactors = .nominal) {
            self.plus = plus
            self.minus = minus
            self.plusDevice = plusDevice
            self.minusDevice = minusDevice
        }
    }

    public var synapses: [Synapse]
    /// Spike times [s] of each synapse's input, one list per synapse.
    public var inputSpikes: [[Double]]
    public var duration: Double
    public var pulseWidth = 100e-6
    public var readVoltage = 0.2
    /// Current gain from the summing lines into the membrane (RRAM µA to neuron nA).
    public var currentGain = 1e-5
    public var neuron = FeLIFParameters.reference
    public var neuronVariation = FeLIFVariation.nominal
    public var readModel = RRAMReadModel()
    public var maxStep = 20e-6
    /// Pulses of consecutive spikes on one input join into one (see `readPulses`).
    public var joinsConsecutivePulses = true
    /// How each read cell is written in the deck (the same I–V either way; see `CellForm`).
    public var cellForm = CellForm.junctions
    /// Also save what `FeLIFColumnEnergy` reads: every input line's voltage and current and the neuron's elements;
    /// the steps are then limited to 1 µs with `FeLIFEnergyBench.energyTruncationTolerance`, which resolve the reset.
    public var recordsEnergy = false
    /// The largest step [s] of an energy-recording deck.
    public var energyMaxStep = 1e-6

    /// The membrane's input current per coarse step [A] (`steps` steps of `coarseStep`, each input spike a read
    /// pulse over its step): gain · V_read · Σ (G⁺ − G⁻) over the inputs that spike in it.
    public func stepCurrents(coarseStep: Double, steps: Int) -> [Double] {
        var out = [Double](repeating: 0, count: steps)
        for (syn, spikes) in zip(synapses, inputSpikes) {
            for t in spikes {
                let k = Int((t / coarseStep).rounded())
                if out.indices.contains(k) { out[k] += currentGain * readVoltage * (syn.plus - syn.minus) }
            }
        }
        return out
    }

    /// A frozen-state read cell conducts I = k·sinh(V/v0) with k = i0·vi0·e^(−gap/(g0·vg0)) (`models/rram.lib`).
    public enum CellForm: Sendable, Equatable {
        /// The `rram_read` subcircuit: one behavioural current source per cell.
        case behavioural
        /// Two antiparallel junctions per cell, Is·(e^(V/(N·Vt)) − 1) − Is·(e^(−V/(N·Vt)) − 1) = 2·Is·sinh(V/(N·Vt)),
        /// with 2·Is·area = k and N·Vt = v0: exactly the same I–V (to the simulator's gmin, 10⁻¹² S against cells of
        /// ≥ 10⁻⁶ S), evaluated by ngspice's native diode code instead of a parsed expression — a 161-synapse
        /// Braille column simulates in 1.1 s instead of 6 s with the same spike times (docs/validation.md).
        case junctions
    }

    /// ngspice's thermal voltage at its default 27 °C (its constants: k = 1.38064852e-23 J/K, q = 1.6021766208e-19 C).
    public static let ngspiceThermalVoltage = 1.38064852e-23 * 300.15 / 1.6021766208e-19
    /// Saturation current of the junction model; each cell's `area` scales it to k/2.
    public static let junctionSaturationCurrent = 1e-6

    public init(synapses: [Synapse], inputSpikes: [[Double]], duration: Double) {
        self.synapses = synapses
        self.inputSpikes = inputSpikes
        self.duration = duration
    }

    /// The deck, ready to simulate (includes resolved).
    public func netlist(library: DeviceLibrary) throws -> Netlist {
        try Netlist(string: text(library: library), name: "felif-column.cir", baseDirectory: library.netlists)
    }

    /// The deck's text. `modelsPath` is how `.include` names the models folder: absolute by default, or relative
    /// (e.g. `../models`) for a netlist written next to the shipped ones.
    public func text(library: DeviceLibrary, modelsPath: String? = nil, comment: String? = nil) throws -> String {
        guard synapses.count == inputSpikes.count else {
            throw SpiceError.invalidRequest("A column needs one input spike list per synapse (\(synapses.count) synapses, \(inputSpikes.count) inputs).")
        }
        guard duration > 0, pulseWidth > 0 else { throw SpiceError.invalidRequest("Duration and pulse width must be positive.") }
        let models = modelsPath ?? library.models.path
        let n = Netlist.spiceNumber
        var lines = [
            "FeLIF column: \(synapses.count) RRAM synapses into one FeLIF neuron (generated by Bruno)",
            comment.map { "* \($0)" } ?? "*",
            "* Synaptic current into mem = gain * sum_i (G+_i - G-_i) * vread while input i pulses.",
            ".include \"\(models)/rram.lib\"",
            ".include \"\(models)/felif.lib\"",
            ".param vread=\(n(readVoltage))   ; read-pulse amplitude [V]",
            ".param gain=\(n(currentGain))    ; summing-line to membrane current gain [-]",
            "Vsp sp 0 DC 0",
            "Vsn sn 0 DC 0",
            "Fp 0 mem Vsp {gain}",
            "Fn mem 0 Vsn {gain}",
        ]
        let edge = min(1e-6, pulseWidth / 10)
        for (i, (s, spikes)) in zip(synapses, inputSpikes).enumerated() {
            for (which, g) in [("plus", s.plus), ("minus", s.minus)] where !(g > 0 && g.isFinite) && g != 0 {
                throw SpiceError.invalidRequest("Synapse \(i) has a non-physical \(which) conductance \(g) S.")
            }
            lines += FeLIFColumn.readPulses(name: "Vin\(i)", node: "in\(i)", spikes: spikes, pulseWidth: pulseWidth, edge: edge, duration: duration,
                                            joinWithin: joinsConsecutivePulses ? 2.001 * edge : 0)
            for (suffix, g, dev, line) in [("p", s.plus, s.plusDevice, "sp"), ("n", s.minus, s.minusDevice, "sn")] where g > 0 {
                switch cellForm {
                case .behavioural:
                    lines.append(FeLIFColumn.readCell(name: "XS\(suffix)\(i)", input: "in\(i)", line: line, conductance: g, device: dev,
                                                      model: readModel, readVoltage: readVoltage))
                case .junctions:
                    lines += FeLIFColumn.junctionCell(name: "S\(suffix)\(i)", input: "in\(i)", line: line, conductance: g, device: dev,
                                                      model: readModel, readVoltage: readVoltage)
                }
            }
        }
        lines.append("XN mem spk felif \(instanceArguments(neuron.subcircuitArguments + neuronVariation.subcircuitArguments))")
        if cellForm == .junctions {
            // The temperature is pinned: N·Vt must be v0, and Vt follows the simulation temperature.
            lines.append("* Read cells as antiparallel junction pairs: I = 2*IS*area*sinh(V/(N*Vt)) = k*sinh(V/v0) (see FeLIFColumn.CellForm).")
            lines.append(".model rram_junction D(IS=\(n(FeLIFColumn.junctionSaturationCurrent)) N=\(n(readModel.v0 / FeLIFColumn.ngspiceThermalVoltage)) "
                         + "RS=0 CJO=0 TT=0 BV=1e30)")
            lines.append(".options temp=27 tnom=27")
        }
        // Device bypass: a cell whose terminal voltages moved by less than the tolerances since the last
        // iteration keeps its last current and conductances instead of being evaluated again. Most cells sit at
        // 0 V between their read pulses: 19 % less time per Braille deck over a whole-chip slice, same findings
        // (docs/validation.md). Energy decks keep every evaluation: they integrate each cell's current.
        lines.append(".options method=gear reltol=1e-4 abstol=1e-15 chgtol=1e-16"
                     + (recordsEnergy ? " trtol=\(n(FeLIFEnergyBench.energyTruncationTolerance))" : " bypass=1"))
        let maxStep = recordsEnergy ? min(self.maxStep, energyMaxStep) : self.maxStep
        var saves = ["v(mem)", "v(spk)", "v(xn.xfe.p)", "i(vsp)", "i(vsn)"]
        if recordsEnergy {
            saves += FeLIFColumnEnergy.inputProbes(synapses: synapses.count).flatMap { ["v(\($0.plus))", $0.current] }
            saves += FeLIFEnergyProbes.saves(FeLIFEnergyProbes.supplies() + FeLIFEnergyProbes.sinks()).filter { !saves.contains($0) }
        }
        lines.append(".save " + saves.joined(separator: " "))
        lines.append(".tran \(n(min(maxStep, duration / 100))) \(n(duration)) 0 \(n(maxStep)) uic")
        lines.append(".end")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A PWL source `name` on `node`: one read pulse of `{vread}` and `pulseWidth` per spike time (times rounded to
    /// 1 ns; overlapping pulses merged), one pulse per continuation line. A spike whose pulse would start within
    /// `joinWithin` of the end of the previous pulse's flat top extends that pulse instead: an input that spikes in
    /// consecutive coarse steps then holds its line at V_read through all of them — the surrogate's current, which
    /// is constant over those steps — rather than dipping to 0 V for two edges between steps (and the deck has
    /// fewer breakpoints: a third as many pulses on a trained Braille column).
    public static func readPulses(name: String, node: String, spikes: [Double], pulseWidth: Double, edge: Double, duration: Double,
                                  joinWithin: Double = 0) -> [String] {
        let ns = { (t: Double) in String(format: "%.9g", (t * 1e9).rounded() / 1e9) }
        // Flat tops [start of rise, end of flat top].
        var tops: [(start: Double, end: Double)] = []
        for t in spikes.sorted() where t >= 0 && t < duration {
            if let last = tops.last, t - last.end <= joinWithin {
                tops[tops.count - 1].end = max(last.end, t + pulseWidth)
                continue
            }
            let start = max(t, (tops.last?.end ?? -edge) + 2 * edge)  // after the previous fall (and t = 0), one edge apart
            tops.append((start, start + pulseWidth))
        }
        let pulses = tops.map { "\(ns($0.start)) 0 \(ns($0.start + edge)) {vread} \(ns($0.end)) {vread} \(ns($0.end + edge)) 0" }
        var lines = ["\(name) \(node) 0 PWL(0 0" + (pulses.isEmpty ? ")" : "")]
        for (k, p) in pulses.enumerated() { lines.append("+ \(p)" + (k == pulses.count - 1 ? ")" : "")) }
        return lines
    }

    /// A frozen-state RRAM read cell from `input` to the summing `line` with read conductance `conductance` at
    /// `readVoltage` (the gap that gives it, for this device's factors).
    public static func readCell(name: String, input: String, line: String, conductance g: Double, device: RRAMDeviceFactors,
                                model: RRAMReadModel, readVoltage: Double) -> String {
        let n = Netlist.spiceNumber
        let gap = model.gap(forConductance: g, at: readVoltage, device: device)
        return "\(name) \(input) \(line) rram_read gap=\(n(gap)) i0=\(n(model.i0)) g0=\(n(model.g0)) v0=\(n(model.v0)) vi0=\(n(device.i0)) vg0=\(n(device.g0))"
    }

    /// The same cell as `readCell`, as two antiparallel `rram_junction` diodes (`CellForm.junctions`).
    public static func junctionCell(name: String, input: String, line: String, conductance g: Double, device: RRAMDeviceFactors,
                                    model: RRAMReadModel, readVoltage: Double) -> [String] {
        let n = Netlist.spiceNumber
        let gap = model.gap(forConductance: g, at: readVoltage, device: device)
        let k = model.i0 * device.i0 * exp(-gap / (model.g0 * device.g0))
        let area = n(k / 2 / junctionSaturationCurrent)
        return ["D\(name)f \(input) \(line) rram_junction area=\(area)", "D\(name)r \(line) \(input) rram_junction area=\(area)"]
    }

    /// A random example: `count` synapses at conductance levels of the shipped 8-level table, Poisson inputs.
    public static func example(count: Int, duration: Double, rate: Double, seed: UInt64) -> FeLIFColumn {
        var rng = SeededRandom(seed: seed)
        let levels = RRAMLevels.shipped.conductances
        let synapses = (0..<count).map { _ -> Synapse in
            let level = Int(rng.next() % 8), negative = rng.uniform() < 0.3
            return Synapse(plus: negative ? levels[0] : levels[level], minus: negative ? levels[level] : levels[0])
        }
        let inputs = (0..<count).map { _ -> [Double] in
            var t = 0.0, out: [Double] = []
            while true {
                t += -log(max(rng.uniform(), 1e-300)) / rate
                if t >= duration { break }
                out.append(t)
            }
            return out
        }
        return FeLIFColumn(synapses: synapses, inputSpikes: inputs, duration: duration)
    }
}

/// The nominal read conductances of the 8 programmed levels of the shipped netlist (at 0.2 V), as measured by
/// `RRAMProgrammer` on `netlists/rram_program.cir`; calibration replaces them with fitted values.
public struct RRAMLevels: Sendable, Equatable, Codable {
    public var readVoltage: Double
    public var conductances: [Double]

    public static let shipped = RRAMLevels(readVoltage: 0.2, conductances: [0.779e-6, 8.274e-6, 15.818e-6, 23.321e-6, 30.821e-6, 38.323e-6, 45.826e-6, 53.322e-6].map { $0 / 0.2 })
}
