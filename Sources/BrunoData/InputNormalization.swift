import Foundation

/// Per-channel standardisation of recorded inputs, fitted on the training split only.
///
/// Why: real recordings put channels on unrelated scales (±30 next to ±2) and offsets, and the encoders' gains
/// are fixed; after x' = (x − mean) / sd every channel reaches the encoders with the same spread. The statistics
/// are taken over every time step of every training sample (the selection and test splits never contribute), and
/// the same numbers are applied to all three splits — and, because a run's data are rebuilt from its config, to
/// evaluation, SPICE validation and export. A channel that is constant over the training split (sd = 0) carries
/// no information: it is centred to 0 and named in `constantChannels`, never divided by zero.
public struct InputNormalization: Sendable, Equatable, Codable {
    /// Mean of each channel over the training split [unit of the data].
    public var mean: [Double]
    /// Standard deviation of each channel (1 for a constant channel) [unit of the data].
    public var scale: [Double]
    /// Channels with zero variance over the training split.
    public var constantChannels: [Int]

    /// Fits mean and standard deviation per channel on `set` (two-pass, in Double).
    public init(fittedOn set: SequenceDataset) {
        let c = set.channels
        var sum = [Double](repeating: 0, count: c), n = 0.0
        for s in set.samples {
            for t in 0..<s.steps { for ch in 0..<c { sum[ch] += Double(s.values[t * c + ch]) } }
            n += Double(s.steps)
        }
        let mean = sum.map { $0 / max(n, 1) }
        var square = [Double](repeating: 0, count: c)
        for s in set.samples {
            for t in 0..<s.steps {
                for ch in 0..<c {
                    let d = Double(s.values[t * c + ch]) - mean[ch]
                    square[ch] += d * d
                }
            }
        }
        let sd = square.map { (max($0, 0) / max(n, 1)).squareRoot() }
        // Constant within float resolution of the channel's own magnitude.
        let constant = (0..<c).filter { sd[$0] <= 1e-6 * abs(mean[$0]) || sd[$0] == 0 }
        self.mean = mean
        self.scale = (0..<c).map { constant.contains($0) ? 1 : sd[$0] }
        self.constantChannels = constant
    }

    /// `set` with every value standardised.
    public func apply(to set: SequenceDataset) -> SequenceDataset {
        precondition(set.channels == mean.count, "normalisation fitted on \(mean.count) channels, data have \(set.channels)")
        var out = set
        let c = set.channels
        for i in out.samples.indices {
            var v = out.samples[i].values
            for k in v.indices {
                let ch = k % c
                v[k] = Float((Double(v[k]) - mean[ch]) / scale[ch])
            }
            out.samples[i].values = v
        }
        return out
    }
}
