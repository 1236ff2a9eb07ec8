import BrunoDevices
import BrunoSpice
import BrunoSupport
import BrunoTraining
import Foundation

/// One output column of a trained network on one sample, as a circuit and as the surrogate saw it.
///
/// The deck: every synapse of the column whose input spiked in the sample is a differential pair of frozen-state
/// RRAM read cells at the conductances the evaluation chip programmed (its device-to-device and programming draws
/// included); an input spike in coarse step t is a read pulse over that whole step, so the summed current is
/// piecewise constant per step exactly as the surrogate's; the summing-line gain turns Σ(G⁺ − G⁻)·V_read into the
/// surrogate's `inputScale · w̃`; the neuron is the shipped `felif` subcircuit with this neuron's
/// device-to-device factors. Its reset timer is set so the circuit's dead time after a spike equals the coarse
/// grid's mean (1.5 steps: the surrogate holds a neuron from its crossing to the end of the next step).
public struct ColumnCase: Sendable {
    public var sample: Int
    public var label: Int?
    public var column: Int
    /// The column as a circuit.
    public var circuit: FeLIFColumn
    /// Surrogate spike steps and membrane voltage at the end of every step [V].
    public var surrogateSpikes: [Int]
    public var surrogateMembrane: [Double]
    public var coarseStep: Double
    public var synapsesInDeck: Int
}

/// Why a validation cannot be set up.
public struct ValidationSetupError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Network {
    /// The index of the FeLIF layer to validate: `requested` (must be a FeLIF layer preceded by an RRAM linear
    /// layer) or, when nil, the last FeLIF layer.
    public func validationLayer(_ requested: Int?) throws -> Int {
        let felifs = layers.indices.filter { if case .felif = layers[$0] { return true } else { return false } }
        guard let last = felifs.last else { throw ValidationSetupError("the network has no FeLIF layer to validate against SPICE") }
        let l = requested ?? last
        guard layers.indices.contains(l) else {
            throw ValidationSetupError("layer \(l) is out of range: the network has layers 0…\(layers.count - 1); FeLIF layers: \(felifs.map(String.init).joined(separator: ", "))")
        }
        guard felifs.contains(l) else {
            throw ValidationSetupError("layer \(l) is not a FeLIF layer; FeLIF layers: \(felifs.map(String.init).joined(separator: ", "))")
        }
        guard l > 0, case .linear(let lin) = layers[l - 1], case .rram = lin.synapses else {
            throw ValidationSetupError("layer \(l) is not fed by RRAM synapses (network.synapses = \"rram\"), so there is no circuit to build")
        }
        return l
    }
}

enum ColumnBuilder {
    /// The cases for `sample` (a single-sample forward on `chip`), for `columns` (nil: all).
    static func cases(network: Network, layer l: Int, chip: [Int: RealisedWeights], x: [Float], steps: Int, sample: Int, label: Int?,
                      columns: Int?, seed: UInt64) throws -> ([ColumnCase], [Int]) {
        guard case .felif(let felif, _) = network.layers[l], case .linear(let lin) = network.layers[l - 1], case .rram(let rram) = lin.synapses else {
            throw ValidationSetupError("layer \(l) is not an RRAM-fed FeLIF layer")
        }
        guard let realised = chip[l - 1], let plus = realised.plus, let minus = realised.minus else {
            throw ValidationSetupError("the chip has no programmed conductances for layer \(l - 1)")
        }
        var rng = SeededRandom(seed: seed).derived(UInt64(sample))
        var single = network
        single.layers = Array(network.layers.prefix(l + 1))
        let pass = single.forward(x, steps: steps, batch: 1, rng: &rng, realised: chip)
        guard case .linear(let linTape) = pass.tapes[l - 1], case .felif(let tape) = pass.tapes[l] else {
            throw ValidationSetupError("internal: no tapes for layers \(l - 1), \(l)")
        }
        let inputs = linTape.input           // steps × fan-in (batch 1)
        let n = felif.neurons, fanIn = inputs.cols, dt = felif.stepping.coarseStep
        // Which columns: all, or the label's and the surrogate's most active others.
        var order = Array(0..<n)
        let counts = (0..<n).map { j in (0..<steps).reduce(Float(0)) { $0 + tape.spikes[$1 * n + j] } }
        order.sort { (counts[$0], -$0) > (counts[$1], -$1) }
        if let label, label < n { order.removeAll { $0 == label }; order.insert(label, at: 0) }
        let chosen = columns.map { Array(order.prefix(max(1, $0))) } ?? Array(0..<n)
        let edge = min(1e-6, dt / 100)
        var out: [ColumnCase] = []
        for j in chosen.sorted() {
            var synapses: [FeLIFColumn.Synapse] = []
            var spikes: [[Double]] = []
            for i in 0..<fanIn {
                let times = (0..<steps).filter { inputs.values[$0 * fanIn + i] != 0 }.map { Double($0) * dt }
                guard !times.isEmpty else { continue }   // a silent input carries no current
                synapses.append(.init(plus: plus[i * n + j], minus: minus[i * n + j]))
                spikes.append(times)
            }
            var column = FeLIFColumn(synapses: synapses, inputSpikes: spikes, duration: Double(steps) * dt)
            column.pulseWidth = dt - 2 * edge
            column.readVoltage = rram.synapse.readVoltage
            column.currentGain = felif.inputScale / (rram.synapse.readVoltage * rram.swing)
            column.neuronVariation = felif.variations[j]
            // The surrogate holds a neuron from its threshold crossing to the end of the next coarse step (1–2
            // steps, 1.5 on average); the circuit's hold is ≈ 0.8 × its reset timer (card: 15.9 µs at 20 µs).
            column.neuron.resetTime = 1.5 * dt / 0.795
            column.maxStep = min(column.maxStep, dt / 20)
            out.append(ColumnCase(sample: sample, label: label, column: j, circuit: column,
                                  surrogateSpikes: (0..<steps).filter { tape.spikes[$0 * n + j] > 0 },
                                  surrogateMembrane: (0..<steps).map { tape.v[($0 + 1) * n + j] }, coarseStep: dt, synapsesInDeck: synapses.count))
        }
        return (out, counts.map { Int($0) })
    }
}

