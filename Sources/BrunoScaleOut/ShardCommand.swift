import Foundation

/// How a shard and the merge are run as separate processes: the executable (the running `bruno`, by absolute
/// path, so cluster nodes run the same binary) and the arguments of one shard and of the merge.
public struct ShardCommand: Sendable {
    public var executable: URL
    /// The arguments of shard `index` run with `instances` ngspice instances (strings, so that a script can pass
    /// shell variables such as `$SLURM_ARRAY_TASK_ID`).
    public var shard: @Sendable (_ index: String, _ instances: String) -> [String]
    public var merge: [String]

    public init(executable: URL, shard: @escaping @Sendable (String, String) -> [String], merge: [String]) {
        self.executable = executable
        self.shard = shard
        self.merge = merge
    }

    /// The `bruno shard run|merge FOLDER` pair for the executable that is running now.
    public static func bruno(folder: URL, executable: URL = ShardCommand.currentExecutable()) -> ShardCommand {
        let path = folder.standardizedFileURL.path
        return ShardCommand(executable: executable,
                            shard: { ["shard", "run", path, "--index", $0, "--instances", $1] },
                            merge: ["shard", "merge", path])
    }

    /// This process's executable, resolved through `/proc/self/exe` (argv[0] may be relative or a PATH name).
    public static func currentExecutable() -> URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    }
}

/// The last `lines` lines of a log file ("" if there is none).
func tail(of url: URL, lines: Int = 12) -> String {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { return "" }
    return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
        .trimmingCharacters(in: .whitespacesAndNewlines)
}
