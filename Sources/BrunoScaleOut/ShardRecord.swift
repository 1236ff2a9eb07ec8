import Foundation

/// What one finished shard wrote: which job and manifest it ran under, its items' results in item order, and
/// what it ran with (ngspice version, host, wall time) so the merge can check and report it.
public struct ShardRecord<Result: Codable & Sendable>: Codable, Sendable {
    public var kind: String
    public var manifestChecksum: String
    public var index: Int
    public var firstItem: Int
    public var results: [Result]
    /// The simulator that computed the results (`ngspice -v`'s first line as the library reports it).
    public var ngspice: String
    public var host: String
    public var wallSeconds: Double
    /// Parallel ngspice instances the shard used (its core-seconds are wall × instances at most).
    public var instances: Int
    public var finished: String

    public init(kind: String, manifestChecksum: String, index: Int, firstItem: Int, results: [Result], ngspice: String,
                wallSeconds: Double, instances: Int) {
        self.kind = kind
        self.manifestChecksum = manifestChecksum
        self.index = index
        self.firstItem = firstItem
        self.results = results
        self.ngspice = ngspice
        self.host = ProcessInfo.processInfo.hostName
        self.wallSeconds = wallSeconds
        self.instances = instances
        self.finished = ISO8601DateFormatter().string(from: Date())
    }
}

/// What the merge records beside the merged result: every shard's file checksum and what it ran with.
public struct ShardMergeSummary: Codable, Sendable, Equatable {
    public struct Shard: Codable, Sendable, Equatable {
        public var index: Int
        public var items: Int
        public var sha256: String
        public var host: String
        public var wallSeconds: Double
        public var instances: Int
    }

    public var kind: String
    public var manifestChecksum: String
    public var ngspice: String
    public var shards: [Shard]
    /// Σ wall × instances over the shards: what the job cost in core-seconds (an upper bound).
    public var coreSeconds: Double
}
