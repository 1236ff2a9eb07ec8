import BrunoSupport
import BrunoSurrogates

/// What a FeLIF layer passes on: its spikes, or its membrane voltage [V] (a readout for prediction tasks).
public enum FeLIFOutput: String, Sendable, Codable { case spikes, membrane }

/// One layer of a network.
public enum NetworkLayer: Sendable {
    case encoding(EncodingLayer)
    case linear(LinearLayer)
    case lif(LIFLayer)
    case recurrentLIF(RecurrentLIFLayer)
    case felif(FeLIFLayer, output: FeLIFOutput)
    /// The network's own input appended beside the `features` activations arriving here: a readout placed after
    /// it sees the neurons and the input of the same step (an echo-state readout). Nothing in it is trained; its
    /// backward pass passes on the gradient of the `features` columns only.
    case appendInput(features: Int)

    /// The trained synapses a layer holds (a linear layer's, or a recurrent layer's own): what is programmed,
    /// exported as a programming table and updated by the optimizer.
    public var synapticWeights: LinearLayer? {
        switch self {
        case .linear(let l): return l
        case .recurrentLIF(let r): return r.recurrent
        default: return nil
        }
    }

    /// The same layer with its synapses replaced (`synapticWeights` must be non-nil).
    func replacingSynapticWeights(_ l: LinearLayer) -> NetworkLayer {
        switch self {
        case .linear: return .linear(l)
        case .recurrentLIF(var r):
            r.recurrent = l
            return .recurrentLIF(r)
        default: preconditionFailure("layer holds no synapses")
        }
    }
}

/// A feed-forward stack of layers run over whole sequences: activations are `(T·B) × features`, time-major.
public struct Network: Sendable {
    public var layers: [NetworkLayer]
    public var inputs: Int

    public init(inputs: Int, layers: [NetworkLayer]) {
        self.inputs = inputs
        self.layers = layers
    }

    /// What a layer kept for its backward pass (also what validation reads: a layer's inputs and states).
    public enum Tape: Sendable {
        case none
        case linear(LinearLayer.Tape)
        case lif(LIFLayer.Tape)
        case recurrentLIF(RecurrentLIFLayer.Tape)
        case felif(FeLIFLayer.Tape)
    }

    public struct Pass: Sendable {
        public var output: Matrix
        public var tapes: [Tape]
        /// Spikes per layer with spiking output (layer index → total spike count), for the metrics.
        public var spikeCounts: [Int: Double]
        /// Bytes kept for the backward pass.
        public var storedBytes: Int
        /// The weights each linear layer used (layer index → realised weights).
        public var realised: [Int: RealisedWeights]
    }

    /// Runs `x` (`[T][B][inputs]`). `realised` fixes the weights (evaluation on a programmed chip); otherwise
    /// every linear layer realises its weights afresh from `rng`.
    public func forward(_ x: [Float], steps: Int, batch: Int, rng: inout SeededRandom, realised: [Int: RealisedWeights]? = nil) -> Pass {
        precondition(x.count == steps * batch * inputs, "network: input has \(x.count) values, expected T·B·inputs = \(steps)·\(batch)·\(inputs)")
        var a = Matrix(rows: steps * batch, cols: inputs, values: x)
        var tapes: [Tape] = []
        var counts: [Int: Double] = [:]
        var bytes = 0
        var used: [Int: RealisedWeights] = [:]
        for (i, layer) in layers.enumerated() {
            switch layer {
            case .encoding(let e):
                a = Matrix(rows: a.rows, cols: e.neurons, values: e.forward(a.values, steps: steps, batch: batch))
                tapes.append(.none)
                counts[i] = Double(a.values.reduce(0, +))
            case .linear(let l):
                let (y, tape) = l.forward(a, rng: &rng, realised: realised?[i])
                used[i] = tape.realised
                bytes += tape.input.values.count * 4
                a = y
                tapes.append(.linear(tape))
            case .lif(let l):
                let tape = l.forward(a.values, steps: steps)
                bytes += (tape.membrane.count + tape.spikes.count) * 4
                a = Matrix(rows: a.rows, cols: a.cols, values: tape.spikes)
                tapes.append(.lif(tape))
                counts[i] = Double(tape.spikes.reduce(0, +))
            case .recurrentLIF(let r):
                precondition(a.cols == r.neurons, "recurrent LIF layer \(i) has \(r.neurons) neurons but receives \(a.cols) inputs")
                let tape = r.forward(a.values, steps: steps, batch: batch, rng: &rng, realised: realised?[i])
                used[i] = tape.realised
                bytes += (tape.membrane.count + tape.spikes.count) * 4
                a = Matrix(rows: a.rows, cols: a.cols, values: tape.spikes)
                tapes.append(.recurrentLIF(tape))
                counts[i] = Double(tape.spikes.reduce(0, +))
            case .felif(let f, let output):
                precondition(a.cols == f.neurons, "FeLIF layer \(i) has \(f.neurons) neurons but receives \(a.cols) inputs")
                let tape = f.forward(a.values, steps: steps, batch: batch)
                bytes += tape.storedBytes
                a = Matrix(rows: a.rows, cols: a.cols, values: output == .spikes ? tape.spikes : tape.membrane)
                tapes.append(.felif(tape))
                counts[i] = Double(tape.spikes.reduce(0, +))
            case .appendInput(let features):
                precondition(a.cols == features, "layer \(i) appends the input to \(features) features but receives \(a.cols)")
                a = Network.appendingColumns(a, Matrix(rows: a.rows, cols: inputs, values: x))
                tapes.append(.none)
            }
        }
        return Pass(output: a, tapes: tapes, spikeCounts: counts, storedBytes: bytes, realised: used)
    }

    /// Gradients of every trainable tensor (each linear layer's weights, then its bias), given dL/d(output).
    /// `membraneGradients` adds dL/dV (layer index → `[T][B][N]`) to a FeLIF layer that outputs spikes: a loss
    /// term on the membrane of silent neurons, which the spike path cannot reach.
    public func backward(_ pass: Pass, outputGradient: Matrix, steps: Int, batch: Int, membraneGradients: [Int: [Float]] = [:]) -> [[Float]] {
        var g = outputGradient
        var grads: [[Float]] = []
        for (i, layer) in layers.enumerated().reversed() {
            switch (layer, pass.tapes[i]) {
            case (.encoding, _):
                // Fixed encoding: nothing before it is trained.
                return grads.reversed()
            case (.linear(let l), .linear(let tape)):
                // Before an encoding layer (or the input) nothing is trained: dL/dx is not needed.
                let needInput: Bool
                if i == 0 { needInput = false } else if case .encoding = layers[i - 1] { needInput = false } else { needInput = true }
                let (gw, gb, gx) = l.backward(tape, g, needInput: needInput)
                grads.append(gb)
                grads.append(gw.values)
                g = gx
            case (.lif(let l), .lif(let tape)):
                g = Matrix(rows: g.rows, cols: g.cols, values: l.backward(tape, spikeGradients: g.values))
            case (.recurrentLIF(let r), .recurrentLIF(let tape)):
                let (gx, gw) = r.backward(tape, spikeGradients: g.values)
                grads.append([Float](repeating: 0, count: r.recurrent.bias.count))
                grads.append(gw.values)
                g = Matrix(rows: g.rows, cols: g.cols, values: gx)
            case (.felif(let f, let output), .felif(let tape)):
                let values = output == .spikes
                    ? f.backward(tape, spikeGradients: g.values, voltageGradients: membraneGradients[i])
                    : f.backward(tape, spikeGradients: [Float](repeating: 0, count: g.values.count), voltageGradients: g.values)
                g = Matrix(rows: g.rows, cols: g.cols, values: values)
            case (.appendInput(let features), _):
                g = Network.leadingColumns(g, features)
            default:
                preconditionFailure("tape does not match layer \(i)")
            }
        }
        return grads.reversed()
    }

    /// `[a | b]`: the rows of `a` followed by those of `b`, side by side.
    static func appendingColumns(_ a: Matrix, _ b: Matrix) -> Matrix {
        precondition(a.rows == b.rows, "appending columns: \(a.rows) rows beside \(b.rows)")
        var out = Matrix(rows: a.rows, cols: a.cols + b.cols)
        for r in 0..<a.rows {
            for c in 0..<a.cols { out.values[r * out.cols + c] = a.values[r * a.cols + c] }
            for c in 0..<b.cols { out.values[r * out.cols + a.cols + c] = b.values[r * b.cols + c] }
        }
        return out
    }

    /// The first `n` columns of `m`.
    static func leadingColumns(_ m: Matrix, _ n: Int) -> Matrix {
        var out = Matrix(rows: m.rows, cols: n)
        for r in 0..<m.rows { for c in 0..<n { out.values[r * n + c] = m.values[r * m.cols + c] } }
        return out
    }

    /// The first NaN or infinite parameter, named by layer ("weights of layer 2") with its element index.
    public func firstNonFiniteParameter() -> (String, Int)? {
        for (i, layer) in layers.enumerated() {
            guard let l = layer.synapticWeights else { continue }
            if let k = l.weights.values.firstIndex(where: { !$0.isFinite }) { return ("weights of layer \(i)", k) }
            if let k = l.bias.firstIndex(where: { !$0.isFinite }) { return ("bias of layer \(i)", k) }
        }
        return nil
    }

    /// Every trainable tensor, in the order `backward` returns gradients: weights, bias per layer with synapses
    /// (a recurrent layer's bias is unused and stays 0).
    public var parameters: [[Float]] {
        get {
            layers.flatMap { layer -> [[Float]] in
                if let l = layer.synapticWeights { return [l.weights.values, l.bias] }
                return []
            }
        }
        set {
            var k = 0
            for i in layers.indices {
                if var l = layers[i].synapticWeights {
                    l.weights.values = newValue[k]
                    l.bias = l.useBias ? newValue[k + 1] : l.bias
                    if let limit = l.synapses.shadowLimit {
                        // A NaN stays NaN (Swift's max(-limit, .nan) is -limit): clipping must not hide a diverged
                        // update as a valid weight; `firstNonFiniteParameter` reports it instead.
                        for j in l.weights.values.indices where !l.weights.values[j].isNaN {
                            l.weights.values[j] = min(limit, max(-limit, l.weights.values[j]))
                        }
                    }
                    layers[i] = layers[i].replacingSynapticWeights(l)
                    k += 2
                }
            }
        }
    }

    /// Realises every linear layer's weights once (programming a chip), from `rng`.
    public func program(rng: inout SeededRandom) -> [Int: RealisedWeights] {
        var out: [Int: RealisedWeights] = [:]
        for (i, layer) in layers.enumerated() {
            if let l = layer.synapticWeights { out[i] = l.synapses.realise(l.weights, rng: &rng) }
        }
        return out
    }
}
