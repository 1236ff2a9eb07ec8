import BrunoCalibration
import BrunoCards
import BrunoDevices
import BrunoSpice
import BrunoSurrogates
import BrunoTraining
import Foundation

/// Cards as SPICE text: `.param` blocks named after the subcircuits' parameters, and example instances.
public enum DeviceCards {
    /// `devices.lib`: the FeLIF card's device physics as `.param felif_*` (the `felif` subcircuit's parameter
    /// names), the circuit parameters the training assumed, one `XN<j>` instance per neuron of `layer` with its
    /// device-to-device factors; the RRAM card's levels, spreads and read law as `.param rram_*`, and one
    /// `rram_read` instance per level.
    public static func spiceLibrary(felif: DeviceCard, rram: DeviceCard, layer: FeLIFLayer, coarseStep: Double) throws -> String {
        let n = Netlist.spiceNumber
        let simulation = try FeLIFTraceSimulation(card: felif)
        let s = simulation.surrogate
        // The device physics the `felif` subcircuit takes, from the card's parameter table (the threshold and reset
        // voltage are the circuit's, below).
        let physics = FeLIFCardParameter.withSpiceCounterpart.filter { !$0.isCircuitSetting }
        let synapse = try RRAMSynapse(card: rram)
        var circuit = FeLIFParameters.reference
        circuit.resetTime = 1.5 * coarseStep / 0.795
        var lines = [
            "* Device parameter cards exported by Bruno (SI units). Include after models/felif.lib and models/rram.lib.",
            "* FeLIF card: \(felif.provenance.netlist) (SHA-256 \(felif.provenance.netlistSHA256.prefix(16))…), \(felif.provenance.date)",
            "* RRAM card:  \(rram.provenance.netlist) (SHA-256 \(rram.provenance.netlistSHA256.prefix(16))…), \(rram.provenance.date)",
            "*",
            "* FeLIF device physics (fitted values from the card; the rest as calibrated on).",
        ]
        lines += physics.map {
            let unit = $0.unit == "1" ? "-" : $0.unit
            return ".param felif_\($0.spiceName!)=\(n(simulation[keyPath: $0.keyPath]))  ; \($0.meaning) [\(unit)]"
        }
        lines += [
            "* Circuit parameters the training assumed: the comparator threshold of the circuit as built (the card's",
            "* fitted threshold \(String(format: "%.4f", s.threshold)) V is where that circuit effectively fires), and a reset timer matched to",
            "* the \(n(coarseStep)) s coarse grid (hold ≈ 1.5 steps).",
            ".param felif_vthr=\(n(circuit.threshold)) felif_vreset=\(n(circuit.resetVoltage)) felif_vpol=\(n(circuit.polarizingVoltage)) felif_treset=\(n(circuit.resetTime))",
            "*",
            "* Neurons of the trained layer, each with its device-to-device factors (uncomment and connect mem<j>):",
        ]
        let base = (physics.map(\.spiceName!) + ["vthr", "vreset", "vpol", "treset"]).map { "\($0)={felif_\($0)}" }
            .joined(separator: " ")
        for (j, v) in layer.variations.enumerated() {
            lines.append("* XN\(j) mem\(j) spk\(j) felif \(base) varea=\(n(v.area)) vea=\(n(v.activationField)) vps=\(n(v.saturationPolarization)) vj0=\(n(v.leak)) vtfe=\(n(v.tFe)) vtint=\(n(v.tInt)) vidsc=\(n(v.discharge))")
        }
        lines += ["*", "* RRAM: programmed read conductance per level at the read voltage, and its spreads (relative σ).",
                  ".param rram_vread=\(n(synapse.readVoltage))  ; read voltage [V]",
                  ".param rram_v0=\(n(synapse.nonlinearity))   ; read nonlinearity I(V) ∝ sinh(V/V0) [V]"]
        for (l, level) in synapse.levels.enumerated() {
            lines.append(".param rram_g\(l)=\(n(level.conductance)) rram_sd\(l)=\(n(level.deviceSpread)) rram_sc\(l)=\(n(level.cycleSpread))  ; level \(l): G [S], device and cycle spreads [-]")
        }
        lines.append("* One read cell per level (a = word line side, b = summing line), nominal device:")
        let model = RRAMReadModel()
        for (l, level) in synapse.levels.enumerated() {
            let gap = model.gap(forConductance: level.conductance, at: synapse.readVoltage)
            lines.append("* XR\(l) a b rram_read gap=\(n(gap)) i0=\(n(model.i0)) g0=\(n(model.g0)) v0=\(n(model.v0))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `synapses.csv`: one row per synapse of every RRAM layer (linear layers and recurrent hidden layers).
enum SynapseTable {
    static func csv(network: Network, chip: [Int: RealisedWeights], rram: DeviceCard) throws -> (String, Int) {
        let synapse = try RRAMSynapse(card: rram)
        // The recipe the card's levels were measured with; a card from single RESET + SET programming has none.
        let recipe = try RRAMIncrementalProgramming(recipeOf: rram)
        let ispp = recipe ?? RRAMIncrementalProgramming()
        let method = recipe == nil ? "single,,," : "ispp,\(ispp.tolerance),\(ispp.startFraction),\(ispp.stepPulse)"
        var out = "layer,row,column,weight,level,target_g_plus_S,target_g_minus_S,programmed_g_plus_S,programmed_g_minus_S,"
            + "compliance_plus_A,compliance_minus_A,method,tolerance,start_fraction,step_pulse_s\n"
        var count = 0
        for (i, layer) in network.layers.enumerated() {
            guard let lin = layer.synapticWeights, case .rram = lin.synapses, let r = chip[i], let levels = r.levels, let plus = r.plus, let minus = r.minus else { continue }
            for row in 0..<lin.weights.rows {
                for col in 0..<lin.weights.cols {
                    let k = row * lin.weights.cols + col, l = levels[k]
                    let lp = l > 0 ? l : 0, lm = l < 0 ? -l : 0
                    out += "\(i),\(row),\(col),\(r.weights.values[k]),\(l),\(synapse.levels[lp].conductance),\(synapse.levels[lm].conductance),"
                    out += "\(plus[k]),\(minus[k]),\(ispp.compliances[lp]),\(ispp.compliances[lm]),\(method)\n"
                    count += 1
                }
            }
        }
        return (out, count)
    }
}
