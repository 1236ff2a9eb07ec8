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
        var syn = [Float](repeating: 0, count: lanes), m = syn
        let alpha = alpha, beta = beta, threshold = threshold
        // Unchecked pointers over the lanes: the loop body vectorises (the checked version cost 5 ns per lane-step).
        // Lanes are independent: each core runs the whole time loop on its own range of them.
        x.withUnsafeBufferPointer { xp in
            mem.withUnsafeMutableBufferPointer { memp in
                spikes.withUnsafeMutableBufferPointer { sp in
                    syn.withUnsafeMutableBufferPointer { synp in
                        m.withUnsafeMutableBufferPointer { mp in
                            let io = UncheckedBox((xp, memp, sp, synp, mp))
                            Self.forEachLaneRange(lanes: lanes, steps: steps) { range in
                                let (xp, memp, sp, synp, mp) = io.value
                                for t in 0..<steps {
                                    let base = t * lanes, previous = base - lanes
                                    for l in range {
                                        let sPrevious: Float = t > 0 ? sp[previous + l] : 0
                                        synp[l] = alpha * synp[l] + xp[base + l]
                                        mp[l] = beta * mp[l] + synp[l] - threshold * sPrevious
                                        memp[base + l] = mp[l]
                                        sp[base + l] = mp[l] >= threshold ? 1 : 0
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tape(steps: steps, membrane: mem, spikes: spikes)
    }

    /// Splits `0..<lanes` over the cores in ranges of whole 16-lane groups (so each range's loop vectorises
    /// without a tail in the middle), one range per worker, when there is enough work to pay for waking a core
    /// (≥ 2¹⁶ lane-steps). Lanes are independent, so the result is the same on any number of threads.
    static func forEachLaneRange(lanes: Int, steps: Int, _ body: (Range<Int>) -> Void) {
        let groups = (lanes + 15) / 16
        guard lanes * steps >= 1 << 16, groups > 1 else { return body(0..<lanes) }
        Parallel.forEachRange(groups) { g in body((g.lowerBound * 16)..<min(lanes, g.upperBound * 16)) }
    }

    /// dL/dx from dL/ds (and optionally dL/dmem) of every step.
    public func backward(_ tape: Tape, spikeGradients gs: [Float], membraneGradients gmIn: [Float]? = nil) -> [Float] {
        let steps = tape.steps, lanes = gs.count / max(steps, 1)
        var gx = [Float](repeating: 0, count: gs.count)
        var gm = [Float](repeating: 0, count: lanes), gsyn = gm
        let alpha = alpha, beta = beta, threshold = threshold
        // The surrogate derivative of every lane-step first (a separate pass, so the recurrence below vectorises).
        var d = [Float](repeating: 0, count: gs.count)
        switch spikeGradient {
        case .fastSigmoid(let k):
            tape.membrane.withUnsafeBufferPointer { v in
                d.withUnsafeMutableBufferPointer { dp in
                    let io = UncheckedBox((v, dp))
                    Self.forEachLaneRange(lanes: dp.count, steps: 1) { range in
                        let (v, dp) = io.value
                        for i in range { dp[i] = Float(1 / (1 + k * abs(Double(v[i] - threshold)))) }
                    }
                }
            }
        default:
            for i in d.indices { d[i] = Float(spikeGradient.derivative(Double(tape.membrane[i] - threshold))) }
        }
        let extra = gmIn ?? []
        gs.withUnsafeBufferPointer { gsp in
            d.withUnsafeBufferPointer { dp in
                extra.withUnsafeBufferPointer { ep in
                    gx.withUnsafeMutableBufferPointer { gxp in
                        gm.withUnsafeMutableBufferPointer { gmp in
                            gsyn.withUnsafeMutableBufferPointer { gsynp in
                                let io = UncheckedBox((gsp, dp, ep, gxp, gmp, gsynp))
                                Self.forEachLaneRange(lanes: lanes, steps: steps) { range in
                                    let (gsp, dp, ep, gxp, gmp, gsynp) = io.value
                                    for t in stride(from: steps - 1, through: 0, by: -1) {
                                        let base = t * lanes
                                        if ep.isEmpty {
                                            for l in range {
                                                gmp[l] = beta * gmp[l] + gsp[base + l] * dp[base + l] + 0
                                                gsynp[l] = alpha * gsynp[l] + gmp[l]
                                                gxp[base + l] = gsynp[l]
                                            }
                                        } else {
                                            for l in range {
                                                gmp[l] = beta * gmp[l] + gsp[base + l] * dp[base + l] + ep[base + l]
                                                gsynp[l] = alpha * gsynp[l] + gmp[l]
                                                gxp[base + l] = gsynp[l]
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
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
        let neurons = neurons, channels = channels
        x.withUnsafeBufferPointer { xp in
            gains.withUnsafeBufferPointer { gp in
                drive.withUnsafeMutableBufferPointer { dp in
                    let io = UncheckedBox((xp, gp, dp))
                    Parallel.forEachRange(steps * batch, minimumPerWorker: 256) { rows in
                        let (xp, gp, dp) = io.value
                        for r in rows {
                            for j in 0..<neurons { dp[r * neurons + j] = gp[j] * xp[r * channels + j % channels] }
                        }
                    }
                }
            }
        }
        return lif.forward(drive, steps: steps).spikes
    }
}
