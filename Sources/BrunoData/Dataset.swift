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
