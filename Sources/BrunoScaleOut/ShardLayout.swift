/// How `itemCount` items split into `shardCount` shards: contiguous, balanced ranges (sizes differ by at most one).
///
/// A shard is only a unit of scheduling: which items it holds never changes what an item computes, because every
/// item's randomness derives from (base seed, job kind, item index). That is what makes the merged result the same
/// for any number of shards.
public struct ShardLayout: Sendable, Equatable, Codable {
    public var itemCount: Int
    public var shardCount: Int

    public init(itemCount: Int, shardCount: Int) throws {
        guard itemCount > 0 else { throw ShardError.badLayout("a sharded job needs at least one item, got \(itemCount)") }
        guard shardCount > 0 else { throw ShardError.badLayout("--shards must be at least 1, got \(shardCount)") }
        guard shardCount <= itemCount else {
            throw ShardError.badLayout("--shards \(shardCount) is more than the job's \(itemCount) items; use at most \(itemCount)")
        }
        self.itemCount = itemCount
        self.shardCount = shardCount
    }

    /// The items of shard `index` (0-based).
    public func items(ofShard index: Int) -> Range<Int> {
        precondition(index >= 0 && index < shardCount, "shard \(index) of \(shardCount)")
        return (index * itemCount / shardCount)..<((index + 1) * itemCount / shardCount)
    }
}
