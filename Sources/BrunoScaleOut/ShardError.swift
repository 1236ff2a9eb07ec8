import Foundation

/// What can go wrong with sharded work; every case names the file or the command and says what to do.
public enum ShardError: Error, CustomStringConvertible, Equatable {
    case badLayout(String)
    /// The manifest cannot be read, or is not what its checksum says it is (edited after planning).
    case manifest(file: String, reason: String)
    /// A shard file that cannot be used: another job's, another manifest's, wrong items, unreadable.
    case badShard(file: String, reason: String)
    /// The merge found shards missing; `indices` are the ones to (re)submit.
    case missing(folder: String, indices: [Int], of: Int)
    /// The folder already holds a different job.
    case otherJob(folder: String, difference: String)
    /// A shard worker failed (exit status, signal) with the tail of its log.
    case shardFailed(index: Int, reason: String, log: String)
    /// Shards ran on different ngspice versions or with other inputs.
    case mismatch(String)

    public var description: String {
        switch self {
        case .badLayout(let s): return s
        case .manifest(let file, let reason): return "\(file): \(reason)"
        case .badShard(let file, let reason): return "\(file): \(reason); nothing was merged"
        case .missing(let folder, let indices, let total):
            let list = ShardError.compactList(indices)
            return "\(folder): \(indices.count) of \(total) shard(s) not finished: \(list); nothing was merged. "
                + "Run them again (`bruno shard run \(folder) --index I`, or the same command with --engine, which runs only "
                + "the missing ones; with Slurm: `sbatch --array=\(list) \(folder)/slurm/shard.sbatch`), then merge"
        case .otherJob(let folder, let difference):
            return "\(folder) already holds shards of another job (\(difference)); use another --out or remove \(folder)"
        case .shardFailed(let index, let reason, let log):
            return "shard \(index) failed: \(reason)" + (log.isEmpty ? "" : "\n--- last lines of its log ---\n\(log)")
        case .mismatch(let s): return s
        }
    }

    /// `[0, 1, 2, 5, 7, 8]` → `0-2,5,7-8` (the form `sbatch --array` takes).
    public static func compactList(_ indices: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        let s = indices.sorted()
        while i < s.count {
            var j = i
            while j + 1 < s.count && s[j + 1] == s[j] + 1 { j += 1 }
            parts.append(i == j ? "\(s[i])" : "\(s[i])-\(s[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}
