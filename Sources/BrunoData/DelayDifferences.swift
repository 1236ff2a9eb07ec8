import Foundation

/// A fixed front end for recorded series: beside each channel x, its differences over delays d,
/// x(t) − x(t − d) (x(t − d) = x(0) before the start).
///
/// Why: the networks read out spike counts over a whole recording, and an encoder fed x(t) alone turns the series
/// into a histogram of its values — the order in time, which is what distinguishes a draw from a point, is lost.
/// Differences over a few delays are local slopes at several scales; counting their encoders' spikes keeps the
/// shape (the same reason ROCKET's convolutions beat value histograms). In a circuit it is a delay line and a
/// subtractor per tap, ahead of the encoders; it has no trained parameter.
public struct DelayDifferences: Sendable, Equatable, Codable {
    /// Delays [coarse steps], each ≥ 1.
    public var delays: [Int]

    public init(delays: [Int]) {
        precondition(delays.allSatisfy { $0 >= 1 }, "delays are at least one step")
        self.delays = delays
    }

    /// Channels after the front end: each original channel, then channel c's difference over delay k at
    /// index C + k·C + c.
    public func channels(from c: Int) -> Int { c * (1 + delays.count) }

    public func apply(to set: SequenceDataset) -> SequenceDataset {
        let c = set.channels
        return set.appendingChannels(delays.count * c) { s, t, v, base in
            for (k, d) in delays.enumerated() {
                for ch in 0..<c { v[base + k * c + ch] = s.values[t * c + ch] - s.values[max(0, t - d) * c + ch] }
            }
        }
    }
}
