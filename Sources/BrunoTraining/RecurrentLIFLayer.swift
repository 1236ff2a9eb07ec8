import BrunoSupport
import BrunoSurrogates

/// A hidden LIF layer with recurrent synapses of its own: each neuron also hears the layer's spikes of the
/// previous step through an N × N weight matrix, realised on the same synapse model as every other layer (3-bit
/// RRAM pairs, programming and read noise included):
///
///     syn[t] = α·syn[t−1] + x[t] + c·s[t−1]·W̃      (W̃: the realised recurrent weights, row = sender)
///     mem[t] = β·mem[t−1] + syn[t] − θ·s[t−1]      (reset by subtraction, detached)
///     s[t]   = H(mem[t] − θ)
///
/// Why: a feed-forward LIF layer forgets an input within ~1/(1 − β) steps; recurrence lets a hidden layer hold
/// what it saw earlier in a recording (the order of events), which spike counts at the output otherwise lose.
/// Backpropagation through time runs the recurrence backwards step by step (the spike path s[t−1] → syn[t] is
/// differentiated with the layer's surrogate; the reset stays detached, as in `LIFLayer`).
///
/// c (`scale`) is a fixed gain of the recurrent summing lines, as `inputScale` is for a FeLIF layer: RRAM weights
/// live on a 15-value grid in [−1, 1] whose smallest non-zero step (≈ 1/7) is far above the ±1/√N of a trained
/// recurrent matrix, so without c every weight is 0 or a step that, summed over tens of spiking neighbours, drives
/// the layer into runaway activity (measured: training loss rising from epoch 10 on ArrowHead).
public struct RecurrentLIFLayer: Sendable {
    public var lif: LIFLayer
    /// The recurrent weights (`neurons × neurons`, sender × receiver), trained like any linear layer's.
    public var recurrent: LinearLayer
    /// Gain c of the recurrent current per unit of realised weight.
    public var scale: Float

    public init(neurons: Int, lif: LIFLayer, synapses: SynapseModel, rng: inout SeededRandom, gain: Float = 1, scale: Float = 1) {
        self.lif = lif
        self.scale = scale
        recurrent = LinearLayer(inputs: neurons, outputs: neurons, synapses: synapses, bias: false, rng: &rng, gain: gain)
    }

    public var neurons: Int { recurrent.weights.rows }

    public struct Tape: Sendable {
        public var steps: Int
        public var batch: Int
        public var membrane: [Float]
        public var spikes: [Float]
        public var realised: RealisedWeights
    }

    /// How the forward pass turns a membrane into a spike. Tests replace the Heaviside by the surrogate's
    /// antiderivative and feed the reset from a fixed spike train, which makes the forward pass the smooth function
    /// whose derivative the backward pass computes — so finite differences check every recurrence exactly.
    enum SpikeFunction {
        case heaviside
        case smooth(resets: [Float])
    }

    /// `x` is `[T][B][N]` (the input currents); returns the tape with spikes `[T][B][N]`. `realised` fixes the
    /// recurrent weights (a programmed chip); otherwise they are realised afresh from `rng`.
    public func forward(_ x: [Float], steps: Int, batch: Int, rng: inout SeededRandom, realised given: RealisedWeights? = nil) -> Tape {
        forward(x, steps: steps, batch: batch, rng: &rng, realised: given, spikeFunction: .heaviside)
    }

    func forward(_ x: [Float], steps: Int, batch: Int, rng: inout SeededRandom, realised given: RealisedWeights?,
                 spikeFunction: SpikeFunction) -> Tape {
        let n = neurons, lanes = batch * n
        precondition(x.count == steps * lanes, "recurrent LIF layer: input has \(x.count) values, expected T·B·N = \(steps)·\(batch)·\(n)")
        let realised = given ?? recurrent.synapses.realise(recurrent.weights, rng: &rng)
        let sigma = Float(recurrent.synapses.readNoise)
        let w = realised.weights.values.map { $0 * scale }
        let w2 = sigma > 0 ? w.map { $0 * $0 } : []
        var mem = [Float](repeating: 0, count: x.count), spikes = mem
        var syn = [Float](repeating: 0, count: lanes), m = syn, s = syn
        var drive = [Float](repeating: 0, count: n), variance = drive, xi = drive
        for t in 0..<steps {
            let base = t * lanes
            for b in 0..<batch {
                // s[t−1]·W̃ for this sample: the rows of the senders that spiked (binary spikes: a sparse sum).
                for j in 0..<n { drive[j] = 0; variance[j] = 0 }
                w.withUnsafeBufferPointer { wp in
                    for i in 0..<n {
                        let si = s[b * n + i]
                        guard si != 0 else { continue }
                        let row = wp.baseAddress! + i * n
                        for j in 0..<n { drive[j] += si * row[j] }
                        if sigma > 0 { for j in 0..<n { variance[j] += si * si * w2[i * n + j] } }
                    }
                }
                if sigma > 0 {
                    // Read noise of the recurrent reads, in distribution (see `LinearLayer.forward`).
                    rng.fillStandardNormal(&xi)
                    for j in 0..<n { drive[j] += sigma * variance[j].squareRoot() * xi[j] }
                }
                for j in 0..<n {
                    let l = b * n + j
                    let reset: Float
                    switch spikeFunction {
                    case .heaviside: reset = s[l]
                    case .smooth(let resets): reset = t > 0 ? resets[base - lanes + l] : 0
                    }
                    syn[l] = lif.alpha * syn[l] + x[base + l] + drive[j]
                    m[l] = lif.beta * m[l] + syn[l] - lif.threshold * reset
                    mem[base + l] = m[l]
                }
            }
            for l in 0..<lanes {
                switch spikeFunction {
                case .heaviside: s[l] = m[l] >= lif.threshold ? 1 : 0
                case .smooth: s[l] = Float(lif.spikeGradient.antiderivative(Double(m[l] - lif.threshold)))
                }
                spikes[base + l] = s[l]
            }
        }
        return Tape(steps: steps, batch: batch, membrane: mem, spikes: spikes, realised: realised)
    }

    /// dL/dx and the shadow recurrent weights' gradient, from dL/ds of every step.
    public func backward(_ tape: Tape, spikeGradients gs: [Float]) -> (input: [Float], weights: Matrix) {
        let n = neurons, batch = tape.batch, steps = tape.steps, lanes = batch * n
        precondition(gs.count == steps * lanes, "recurrent LIF layer: gradient has \(gs.count) values, expected \(steps * lanes)")
        let w = tape.realised.weights.values.map { $0 * scale }
        var gx = [Float](repeating: 0, count: gs.count)
        var gm = [Float](repeating: 0, count: lanes), gsyn = gm
        var total = [Float](repeating: 0, count: lanes)
        for t in stride(from: steps - 1, through: 0, by: -1) {
            let base = t * lanes
            // dL/ds[t] = the layer's own gradient + what s[t] caused through W̃ at t + 1 (gsyn holds dL/dsyn[t+1]).
            for l in 0..<lanes { total[l] = gs[base + l] }
            if t + 1 < steps {
                w.withUnsafeBufferPointer { wp in
                    for b in 0..<batch {
                        for i in 0..<n {
                            let row = wp.baseAddress! + i * n
                            var acc: Float = 0
                            for j in 0..<n { acc += row[j] * gsyn[b * n + j] }
                            total[b * n + i] += acc
                        }
                    }
                }
            }
            for l in 0..<lanes {
                let d = Float(lif.spikeGradient.derivative(Double(tape.membrane[base + l] - lif.threshold)))
                gm[l] = lif.beta * gm[l] + total[l] * d
                gsyn[l] = lif.alpha * gsyn[l] + gm[l]
                gx[base + l] = gsyn[l]
            }
        }
        // dL/dW̃ = c·Σ_t s[t−1]ᵀ · dL/dsyn[t]: one product over all steps, the spikes shifted by one step.
        var previous = Matrix(rows: steps * batch, cols: n)
        if steps > 1 { previous.values.replaceSubrange(lanes..<(steps * lanes), with: tape.spikes[0..<((steps - 1) * lanes)]) }
        var gw = MatrixProduct.multiplyTransposingLeft(previous, Matrix(rows: steps * batch, cols: n, values: gx))
        for i in gw.values.indices { gw.values[i] *= scale * tape.realised.straightThrough[i] }
        return (gx, gw)
    }
}
