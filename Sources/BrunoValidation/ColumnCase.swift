import BrunoDevices
import BrunoSpice
import BrunoSupport
import BrunoSurrogates
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

    /// The deck's synaptic current per coarse step [A]: gain · V_read · Σ (G⁺ − G⁻) over the inputs that spike.
    public var stepCurrents: [Double] { circuit.stepCurrents(coarseStep: coarseStep, steps: surrogateMembrane.count) }
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

    /// The layers before `l` that validation does not simulate as circuits, each described in one line: their
    /// spikes (computed by the trained model) drive the simulated columns as ideal pulse sources. Said in the
    /// report, so nobody reads the circuit's figures as covering layers that have no circuit yet.
    public func layersRunWithoutCircuit(before l: Int) -> [String] {
        layers.prefix(l).enumerated().compactMap { i, layer in
            switch layer {
            case .encoding(let e): return "layer \(i): \(e.neurons) LIF encoders (no circuit model yet: surrogate only)"
            case .lif: return "layer \(i): LIF hidden layer (no circuit model yet: surrogate only)"
            case .recurrentLIF(let r):
                return "layer \(i): recurrent LIF hidden layer, \(r.neurons) neurons with \(r.neurons * r.neurons) recurrent synapses "
                    + "(no circuit model yet: surrogate only; its recurrent synapses are in the programming table)"
            case .felif: return "layer \(i): FeLIF layer (not the validated layer: surrogate only)"
            case .linear, .appendInput: return nil
            }
        }
    }
}

/// A trained FeLIF layer on one sample, mapped to circuit quantities: the presynaptic spike times, every cell's
/// programmed conductance, the summing gain, the neurons' circuit parameters — and what the surrogate did.
/// Column decks (validation) and the whole-layer netlist (export) are both made from this.
public struct TrainedLayerSample: Sendable {
    public var layer: Int
    public var steps: Int
    public var coarseStep: Double
    /// Spike times [s] of each presynaptic line (the start of each coarse step in which it spiked).
    public var inputSpikes: [[Double]]
    /// Programmed read conductances [S], `[input][column]`.
    public var plus: [[Double]], minus: [[Double]]
    public var readVoltage: Double
    /// Summing-line to membrane gain: `inputScale / (V_read · (G₇ − G₀))`, so that Σ(G⁺ − G⁻)·V_read·gain is the
    /// surrogate's `inputScale · w̃`.
    public var currentGain: Double
    /// The shipped neuron circuit with the reset timer matched to the coarse grid (see `ColumnCase`).
    public var neuron: FeLIFParameters
    public var variations: [FeLIFVariation]
    /// Surrogate spike steps and end-of-step membrane [V] per column.
    public var surrogateSpikes: [[Int]]
    public var surrogateMembrane: [[Double]]

    public init(network: Network, layer l: Int, chip: [Int: RealisedWeights], x: [Float], steps: Int, seed: UInt64) throws {
        guard case .felif(let felif, _) = network.layers[l], case .linear(let lin) = network.layers[l - 1], case .rram(let rram) = lin.synapses else {
            throw ValidationSetupError("layer \(l) is not an RRAM-fed FeLIF layer")
        }
        guard let realised = chip[l - 1], let plus = realised.plus, let minus = realised.minus else {
            throw ValidationSetupError("the chip has no programmed conductances for layer \(l - 1)")
        }
        var rng = SeededRandom(seed: seed)
        var single = network
        single.layers = Array(network.layers.prefix(l + 1))
        let pass = single.forward(x, steps: steps, batch: 1, rng: &rng, realised: chip)
        guard case .linear(let linTape) = pass.tapes[l - 1], case .felif(let tape) = pass.tapes[l] else {
            throw ValidationSetupError("internal: no tapes for layers \(l - 1), \(l)")
        }
        let inputs = linTape.input, n = felif.neurons, fanIn = inputs.cols, dt = felif.stepping.coarseStep
        layer = l
        self.steps = steps
        coarseStep = dt
        inputSpikes = (0..<fanIn).map { i in (0..<steps).filter { inputs.values[$0 * fanIn + i] != 0 }.map { Double($0) * dt } }
        self.plus = (0..<fanIn).map { i in (0..<n).map { plus[i * n + $0] } }
        self.minus = (0..<fanIn).map { i in (0..<n).map { minus[i * n + $0] } }
        readVoltage = rram.synapse.readVoltage
        currentGain = felif.inputScale / (rram.synapse.readVoltage * rram.swing)
        var neuron = FeLIFParameters.reference
        // The surrogate holds a neuron from its threshold crossing to the end of the next coarse step (1–2
        // steps, 1.5 on average); the circuit's hold is ≈ 0.8 × its reset timer (card: 15.9 µs at 20 µs).
        neuron.resetTime = 1.5 * dt / 0.795
        self.neuron = neuron
        variations = felif.variations
        surrogateSpikes = (0..<n).map { j in (0..<steps).filter { tape.spikes[$0 * n + j] > 0 } }
        surrogateMembrane = (0..<n).map { j in (0..<steps).map { tape.v[($0 + 1) * n + j] } }
    }

    public var columns: Int { variations.count }
    public var counts: [Int] { surrogateSpikes.map(\.count) }

    /// Column j as its own deck (inputs that never spike carry no current and are left out).
    public func column(_ j: Int) -> FeLIFColumn {
        var synapses: [FeLIFColumn.Synapse] = []
        var spikes: [[Double]] = []
        for i in inputSpikes.indices where !inputSpikes[i].isEmpty {
            synapses.append(.init(plus: plus[i][j], minus: minus[i][j]))
            spikes.append(inputSpikes[i])
        }
        var c = FeLIFColumn(synapses: synapses, inputSpikes: spikes, duration: Double(steps) * coarseStep)
        c.pulseWidth = pulseWidth
        c.readVoltage = readVoltage
        c.currentGain = currentGain
        c.neuron = neuron
        c.neuronVariation = variations[j]
        c.maxStep = min(c.maxStep, coarseStep / 20)
        return c
    }

    /// The whole layer as one deck.
    public var circuit: FeLIFLayerCircuit {
        FeLIFLayerCircuit(plus: plus, minus: minus, inputSpikes: inputSpikes, duration: Double(steps) * coarseStep, pulseWidth: pulseWidth,
                          readVoltage: readVoltage, currentGain: currentGain, neuron: neuron, variations: variations, maxStep: min(20e-6, coarseStep / 20))
    }

    /// An input spike is a read pulse over its whole coarse step (less the edges).
    public var pulseWidth: Double { coarseStep - 2 * min(1e-6, coarseStep / 100) }
}

/// What the surrogate did in every column of a layer on one sample: what a class decision is computed from.
struct SurrogateColumns {
    var counts: [Int]
    /// End-of-step membrane [V], `[column][t]`.
    var membrane: [[Double]]
    /// Each column's threshold [V].
    var thresholds: [Double]
}

enum ColumnBuilder {
    /// The cases for `sample` (a single-sample forward on `chip`), for `columns` (nil: all), and what the
    /// surrogate did in every column.
    static func cases(network: Network, layer l: Int, chip: [Int: RealisedWeights], x: [Float], steps: Int, sample: Int, label: Int?,
                      columns: Int?, seed: UInt64) throws -> ([ColumnCase], SurrogateColumns) {
        let t = try TrainedLayerSample(network: network, layer: l, chip: chip, x: x, steps: steps, seed: SeededRandom(seed: seed).derived(UInt64(sample)).seed)
        let counts = t.counts
        var order = Array(0..<t.columns)
        order.sort { (counts[$0], -$0) > (counts[$1], -$1) }
        if let label, label < t.columns { order.removeAll { $0 == label }; order.insert(label, at: 0) }
        let chosen = columns.map { Array(order.prefix(max(1, $0))) } ?? Array(0..<t.columns)
        let out = chosen.sorted().map { j in
            let c = t.column(j)
            return ColumnCase(sample: sample, label: label, column: j, circuit: c, surrogateSpikes: t.surrogateSpikes[j],
                              surrogateMembrane: t.surrogateMembrane[j], coarseStep: t.coarseStep, synapsesInDeck: c.synapses.count)
        }
        guard case .felif(let felif, _) = network.layers[l] else { throw ValidationSetupError("layer \(l) is not a FeLIF layer") }
        return (out, SurrogateColumns(counts: counts, membrane: t.surrogateMembrane, thresholds: felif.devices.map(\.threshold)))
    }
}
