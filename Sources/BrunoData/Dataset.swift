import Foundation

/// Sequences on the training engine's 1 ms grid: each sample is `steps × channels` values (row-major, one row
/// per time step) with a class label (classification) or a target sequence (next-step prediction).
public struct SequenceDataset: Sendable, Equatable {
    public struct Sample: Sendable, Equatable {
        /// `steps × channels` values, time-major.
        public var values: [Float]
        public var steps: Int
        /// Class index, for classification data.
        public var label: Int?
        /// `steps × targetChannels` targets, for sequence prediction.
        public var targets: [Float]?

        public init(values: [Float], steps: Int, label: Int? = nil, targets: [Float]? = nil) {
            self.values = values
            self.steps = steps
            self.label = label
            self.targets = targets
        }

        public func value(step: Int, channel: Int, channels: Int) -> Float { values[step * channels + channel] }
    }

    public var name: String
    public var channels: Int
    /// Class names, in label order (empty for prediction tasks).
    public var classes: [String]
    public var samples: [Sample]

    public init(name: String, channels: Int, classes: [String], samples: [Sample]) {
        self.name = name
        self.channels = channels
        self.classes = classes
        self.samples = samples
    }

    public var count: Int { samples.count }

    /// The median sample length [steps] (0 for an empty set).
    public var medianSteps: Int {
        let lengths = samples.map(\.steps).sorted()
        return lengths.isEmpty ? 0 : lengths[lengths.count / 2]
    }

    /// The same samples with `derived` channels after their own: `fill(sample, t, &values, base)` writes step t's
    /// derived values at `values[base..<base + derived]` (the sample's own channels are already copied before
    /// `base`). The shared loop of the fixed front ends (`DelayDifferences`, `DilatedKernels`).
    public func appendingChannels(_ derived: Int, _ fill: (Sample, Int, inout [Float], Int) -> Void) -> SequenceDataset {
        let c = channels, out = c + derived
        var result = self
        result.channels = out
        for i in result.samples.indices {
            let s = samples[i]
            var v = [Float](repeating: 0, count: s.steps * out)
            for t in 0..<s.steps {
                for ch in 0..<c { v[t * out + ch] = s.values[t * c + ch] }
                fill(s, t, &v, t * out + c)
            }
            result.samples[i].values = v
        }
        return result
    }
}

/// A data file that cannot be used, with where and why.
public struct DataError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// A line number (text formats) or a JSON path such as `train[3][17]`.
    public var location: String?
    public var message: String

    public init(file: String, location: String? = nil, _ message: String) {
        self.file = file
        self.location = location
        self.message = message
    }

    public var description: String { "\(file)\(location.map { " (\($0))" } ?? ""): \(message)" }
}
