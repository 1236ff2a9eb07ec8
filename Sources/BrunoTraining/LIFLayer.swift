import BrunoSurrogates
import Foundation

/// Leaky integrate-and-fire neurons with a synaptic current (snnTorch's `Synaptic`, α/β form), on the coarse grid:
///
///     syn[t] = α·syn[t−1] + x[t]
///     mem[t] = β·mem[t−1] + syn[t] − θ·s[t−1]      (reset by subtraction, detached)
///     s[t]   = H(mem[t] − θ)
///
/// α = 0 gives the plain LIF (`Leaky`). Backpropagation through time with a named surrogate derivative.
public struct LIFLayer: Sendable {
    public var alpha: Float
    public var beta: Float
    public var threshold: Float
    public var spikeGradient: SpikeGradient

    public init(alpha: Float = 0, beta: Float = 0.9, threshold: Float = 1, spikeGradient: SpikeGradient = .braille) {
        self.alpha = alpha
        self.beta = beta
        self.threshold = threshold
        self.spikeGradient = spikeGradient
    }

    public struct Tape: Sendable {
        public var steps: Int
        public var membrane: [Float]
        public var spikes: [Float]
    }

    /// `x` is `[T][lanes]` (lanes = B·N).
    public func forward(_ x: [Float], steps: Int) -> Tape {
        let lanes = x.count / max(steps, 1)
        var mem = [Float](repeating: 0, count: x.count), spikes = mem
        var syn = [Float](repeating: 0, count: lanes), m = syn, s = syn
        for t in 0..<steps {
            let base = t * lanes
            for l in 0..<lanes {
                syn[l] = alpha * syn[l] + x[base + l]
                m[l] = beta * m[l] + syn[l] - threshold * s[l]
                s[l] = m[l] >= threshold ? 1 : 0
                mem[base + l] = m[l]
                spikes[base + l] = s[l]
            }
        }
        return Tape(steps: steps, membrane: mem, spikes: spikes)
    }

    /// dL/dx from dL/ds (and optionally dL/dmem) of every step.
    public func backward(_ tape: Tape, spikeGradients gs: [Float], membraneGradients gmIn: [Float]? = nil) -> [Float] {
        let steps = tape.steps, lanes = gs.count / max(steps, 1)
        var gx = [Float](repeating: 0, count: gs.count)
        var gm = [Float](repeating: 0, count: lanes), gsyn = gm
        for t in stride(from: steps - 1, through: 0, by: -1) {
            let base = t * lanes
            for l in 0..<lanes {
                let d = Float(spikeGradient.derivative(Double(tape.membrane[base + l] - threshold)))
                gm[l] = beta * gm[l] + gs[base + l] * d + (gmIn?[base + l] ?? 0)
                gsyn[l] = alpha * gsyn[l] + gm[l]
                gx[base + l] = gsyn[l]
            }
        }
        return gx
    }
}

/// A fixed (untrained) encoding of analogue inputs into spikes: `neurons` LIF encoders, neuron j listening to
/// input channel j mod C with its own gain, log-spaced between `gains` so that weak and strong signals are both
/// resolved (the reference's fixed-gain encoding of the taxels into 128 channels).
///
/// An LIF encoder only fires on positive drive. With `onOff`, the encoders come in pairs of opposite sign (an
/// "on" cell sees +g·x, its "off" partner −g·x, as retinal on/off cells), so a channel that is negative most of
/// the time — any standardised recording — is seen in both directions; each sign gets half of the gains.
public struct EncodingLayer: Sendable {
    public var neurons: Int
    public var channels: Int
    /// Signed gain of each encoder (negative: an "off" cell).
    public var gains: [Float]
    public var lif: LIFLayer

    public init(channels: Int, neurons: Int, gainRange: ClosedRange<Float>, beta: Float = 0.9, onOff: Bool = false) {
        self.channels = channels
        self.neurons = neurons
        let blocks = max(1, neurons / channels)
        let perSign = onOff ? max(1, blocks / 2) : blocks
        gains = (0..<neurons).map { j in
            let k = j / channels
            let level = onOff ? (k / 2) % perSign : k % perSign
            let f = perSign > 1 ? Float(level) / Float(perSign - 1) : 0
            let g = gainRange.lowerBound * Foundation.pow(gainRange.upperBound / gainRange.lowerBound, f)
            return onOff && k % 2 == 1 ? -g : g
        }
        lif = LIFLayer(alpha: 0, beta: beta, threshold: 1)
    }

    /// `x` is `[T][B][C]`; returns spikes `[T][B][neurons]`.
    public func forward(_ x: [Float], steps: Int, batch: Int) -> [Float] {
        precondition(x.count == steps * batch * channels, "encoding: input has \(x.count) values, expected T·B·C = \(steps)·\(batch)·\(channels)")
        var drive = [Float](repeating: 0, count: steps * batch * neurons)
        for r in 0..<(steps * batch) {
            for j in 0..<neurons { drive[r * neurons + j] = gains[j] * x[r * channels + j % channels] }
        }
        return lif.forward(drive, steps: steps).spikes
    }
}
