import BrunoSupport
import Foundation

/// A fixed bank of random dilated kernels ahead of the encoders (ROCKET's front end, made causal):
/// for each of the recording's channels x and each kernel k, a channel
/// y_k(t) = Σ_j w_kj · x(t − j·d_k)   (x(t') = x(0) before the start).
///
/// Why: the network reads out spike counts over a whole recording, so each encoder reports how long its input stayed
/// above the encoder's threshold — ROCKET's "proportion of positive values" pooling — but of the raw value or of a
/// few slopes only (`DelayDifferences`). A bank of random kernels at many dilations gives those counts many shapes
/// at many time scales to measure, which is what lets a linear classifier on them match far larger models
/// (Dempster et al. 2020). The thresholds come from the encoders' gain ladder on the standardised output, so the
/// kernels need no bias. In a circuit each kernel is a tapped delay line with fixed weights; nothing is trained.
///
/// The draws come from `SeededRandom(seed:).derived(Self.stream)`, kernel by kernel in index order; the same seed and
/// training length give the same bank on any machine.
public struct DilatedKernels: Sendable, Equatable, Codable {
    public struct Kernel: Sendable, Equatable, Codable {
        /// Tap weights, mean zero (a kernel responds to shape, not to level).
        public var weights: [Float]
        /// Spacing of the taps [coarse steps], ≥ 1.
        public var dilation: Int
    }

    public var kernels: [Kernel]
    /// Channels of the recording the kernels read (the first `sourceChannels` of the series they are applied to).
    public var sourceChannels: Int
    public var seed: UInt64

    /// Sub-stream of `seed` the kernels are drawn from.
    public static let stream: UInt64 = 0x4B45_524E

    /// `count` kernels of 7, 9 or 11 taps with N(0, 1) weights (then centred), and dilations
    /// ⌊2^u⌋, u uniform in [0, log₂((length − 1)/(taps − 1))], so the widest spans the typical series `length`.
    public init(count: Int, sourceChannels: Int, length: Int, seed: UInt64) {
        precondition(count >= 1 && sourceChannels >= 1, "at least one kernel and one channel")
        var rng = SeededRandom(seed: seed).derived(Self.stream)
        kernels = (0..<count).map { _ in
            let taps = [7, 9, 11][Int(rng.next() % 3)]
            var w = (0..<taps).map { _ in Float(rng.gaussian()) }
            let mean = w.reduce(0, +) / Float(taps)
            for j in w.indices { w[j] -= mean }
            let top = Foundation.log2(max(1, Double(length - 1) / Double(taps - 1)))
            let dilation = max(1, Int(Foundation.pow(2, rng.uniform() * top)))
            return Kernel(weights: w, dilation: dilation)
        }
        self.sourceChannels = sourceChannels
        self.seed = seed
    }

    /// Channels after the bank: the series' own `c` channels, then kernel k on source channel s at index
    /// c + k·sourceChannels + s.
    public func channels(from c: Int) -> Int { c + kernels.count * sourceChannels }

    /// `stream` as written in run.json's description of the draws.
    public var streamDescription: String {
        "SeededRandom(seed: \(seed)).derived(0x" + String(Self.stream, radix: 16, uppercase: true) + ")"
    }

    public func apply(to set: SequenceDataset) -> SequenceDataset {
        let c = set.channels, src = sourceChannels
        precondition(c >= src, "the bank reads \(src) channel(s); the series has \(c)")
        return set.appendingChannels(kernels.count * src) { s, t, v, base in
            for (k, kernel) in kernels.enumerated() {
                for ch in 0..<src {
                    var y: Float = 0
                    for (j, w) in kernel.weights.enumerated() {
                        y += w * s.values[max(0, t - j * kernel.dilation) * c + ch]
                    }
                    v[base + k * src + ch] = y
                }
            }
        }
    }
}
