import BrunoSupport
import Foundation

/// Where and how the Slurm engine submits: what a user sets per cluster.
public struct SlurmOptions: Sendable, Equatable {
    /// `--partition` (the cluster's default when nil).
    public var partition: String?
    /// `--time` per shard, in Slurm's form (`30`, `2:00:00`, `1-00:00:00`); the partition's default when nil.
    public var timeLimit: String?
    /// `--cpus-per-task`: ngspice instances per shard.
    public var cpusPerTask: Int
    /// At most this many shards at once (`--array=…%K`); no limit when nil.
    public var maxParallel: Int?
    /// Extra `#SBATCH` lines (e.g. `--account=lab`, `--mem=4G`), written as given.
    public var extra: [String]
    /// Wait for the shards and the merge, resubmitting shards that did not finish (`retries` times).
    public var wait: Bool
    public var retries: Int
    public var pollSeconds: Double

    public init(partition: String? = nil, timeLimit: String? = nil, cpusPerTask: Int = 1, maxParallel: Int? = nil,
                extra: [String] = [], wait: Bool = false, retries: Int = 1, pollSeconds: Double = 1) {
        self.partition = partition
        self.timeLimit = timeLimit
        self.cpusPerTask = max(1, cpusPerTask)
        self.maxParallel = maxParallel
        self.extra = extra
        self.wait = wait
        self.retries = max(0, retries)
        self.pollSeconds = pollSeconds
    }
}

/// Failures of the Slurm engine, each naming the command and what Slurm said.
public enum SlurmError: Error, CustomStringConvertible, Equatable {
    case notInstalled(command: String, path: String)
    case rejected(command: String, status: Int32, message: String)
    case unexpectedOutput(command: String, output: String)
    case mergeFailed(job: String, state: String, log: String)

    public var description: String {
        switch self {
        case .notInstalled(let command, let path):
            return "--engine slurm needs Slurm's `\(command)` on PATH, and it is not there (PATH=\(path)). On a cluster, "
                + "load it (e.g. `module load slurm`) or run on a login node; on this machine use --engine local"
        case .rejected(let command, let status, let message):
            return "Slurm refused `\(command)` (exit status \(status)): \(message.isEmpty ? "no message" : message)"
        case .unexpectedOutput(let command, let output): return "`\(command)` printed \"\(output)\", not a job id"
        case .mergeFailed(let job, let state, let log):
            return "the merge job \(job) ended \(state)" + (log.isEmpty ? "" : "\n--- last lines of its log ---\n\(log)")
        }
    }
}

/// Submits shards as a Slurm job array (`sbatch --array`) and the merge as a job that depends on it
/// (`--dependency=afterok`). The scripts are written into the shard folder's `slurm/` before submitting, so a user
/// can read them, edit them and submit them by hand. Bruno only shells out to `sbatch`, `squeue`, `scontrol` and
/// `scancel`; it links no Slurm library.
public struct SlurmEngine: Sendable {
    public var options: SlurmOptions
    public var jobName: String

    public init(options: SlurmOptions, jobName: String) {
        self.options = options
        self.jobName = jobName
    }

    public struct Submission: Sendable, Equatable {
        public var arrayJob: String
        public var mergeJob: String
        public var shards: [Int]
    }

    /// Checks that Slurm's client commands are there before anything is planned or written.
    public static func checkInstalled() throws {
        for command in ["sbatch", "squeue"] where SlurmEngine.which(command) == nil {
            throw SlurmError.notInstalled(command: command, path: ProcessInfo.processInfo.environment["PATH"] ?? "")
        }
    }

    /// Writes `shard.sbatch` and `merge.sbatch` into `slurm` (the shard worker's and the merge's command lines).
    public func writeScripts(into slurm: URL, logs: URL, command: ShardCommand) throws -> (shard: URL, merge: URL) {
        func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        var head: [String] = []
        if let p = options.partition { head.append("#SBATCH --partition=\(p)") }
        if let t = options.timeLimit { head.append("#SBATCH --time=\(t)") }
        head += options.extra.map { "#SBATCH \($0)" }
        let index = "\u{1}index", instances = "\u{1}instances"
        let shardArguments = command.shard(index, instances).map {
            $0 == index ? "\"$SLURM_ARRAY_TASK_ID\"" : $0 == instances ? "\"${SLURM_CPUS_PER_TASK:-\(options.cpusPerTask)}\"" : q($0)
        }
        let shard = """
        #!/bin/bash
        # Bruno shard worker (\(jobName)). Submitted as a job array: each task runs the shard of its index, e.g.
        #   sbatch --array=0-3%2 \(slurm.appendingPathComponent("shard.sbatch").path)
        # A shard that is already finished exits at once, so resubmitting the whole array is safe. Edit freely.
        #SBATCH --job-name=\(jobName)
        #SBATCH --output=\(logs.path)/shard-%4a.log
        #SBATCH --open-mode=append
        #SBATCH --cpus-per-task=\(options.cpusPerTask)
        #SBATCH --requeue
        \(head.joined(separator: "\n"))
        set -eu
        exec \(q(command.executable.path)) \(shardArguments.joined(separator: " "))

        """
        let merge = """
        #!/bin/bash
        # Bruno merge (\(jobName)): refuses to run while shards are missing, and names them.
        #SBATCH --job-name=\(jobName)-merge
        #SBATCH --output=\(logs.path)/merge.log
        #SBATCH --open-mode=append
        #SBATCH --cpus-per-task=1
        \(head.joined(separator: "\n"))
        set -eu
        exec \(q(command.executable.path)) \(command.merge.map(q).joined(separator: " "))

        """
        let urls = (slurm.appendingPathComponent("shard.sbatch"), slurm.appendingPathComponent("merge.sbatch"))
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try AtomicFile.write(Data(shard.replacingOccurrences(of: "\n\n", with: "\n").utf8), to: urls.0)
        try AtomicFile.write(Data(merge.replacingOccurrences(of: "\n\n", with: "\n").utf8), to: urls.1)
        return urls
    }

    /// Submits the shards `indices` as one array and the merge after it.
    public func submit(_ indices: [Int], scripts: (shard: URL, merge: URL)) throws -> Submission {
        var array = ShardError.compactList(indices)
        if let k = options.maxParallel { array += "%\(k)" }
        let arrayJob = try SlurmEngine.jobID(try SlurmEngine.run("sbatch", ["--parsable", "--array=\(array)", scripts.shard.path]),
                                             command: "sbatch --array=\(array) \(scripts.shard.path)")
        let mergeJob = try SlurmEngine.jobID(try SlurmEngine.run("sbatch", ["--parsable", "--dependency=afterok:\(arrayJob)", scripts.merge.path]),
                                             command: "sbatch --dependency=afterok:\(arrayJob) \(scripts.merge.path)")
        return Submission(arrayJob: arrayJob, mergeJob: mergeJob, shards: indices)
    }

    /// Waits for `submission`; shards that did not finish (`missing()` after the array ended) are resubmitted up to
    /// `options.retries` times with a new merge (the old one can never start: its dependency failed). Returns when
    /// the merge job has ended; throws if it did not complete.
    public func wait(for first: Submission, shardCount: Int, scripts: (shard: URL, merge: URL), mergeLog: URL, missing: () throws -> [Int],
                     progress: @Sendable (String) -> Void) async throws {
        var submission = first
        var attempt = 0
        while true {
            try await waitUntilGone(submission.arrayJob)
            let left = try missing()
            if left.isEmpty { break }
            _ = try? SlurmEngine.run("scancel", [submission.mergeJob])
            guard attempt < options.retries else {
                throw ShardError.missing(folder: scripts.shard.deletingLastPathComponent().deletingLastPathComponent().path, indices: left,
                                         of: shardCount)
            }
            attempt += 1
            progress("Slurm array \(submission.arrayJob) ended with shard(s) \(ShardError.compactList(left)) unfinished; resubmitting them (retry \(attempt) of \(options.retries))")
            submission = try submit(left, scripts: scripts)
            progress("submitted array \(submission.arrayJob), merge \(submission.mergeJob)")
        }
        try await waitUntilGone(submission.mergeJob)
        let state = SlurmEngine.state(of: submission.mergeJob) ?? "UNKNOWN"
        guard state == "COMPLETED" else { throw SlurmError.mergeFailed(job: submission.mergeJob, state: state, log: tail(of: mergeLog)) }
    }

    /// Polls `squeue` until the job (or every task of the array) has left the queue.
    func waitUntilGone(_ job: String) async throws {
        while true {
            try Task.checkCancellation()
            let out = (try? SlurmEngine.run("squeue", ["-h", "-j", job, "-o", "%T"])) ?? ""
            if out.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return }
            try await Task.sleep(nanoseconds: UInt64(options.pollSeconds * 1e9))
        }
    }

    /// `JobState` of a job from `scontrol show job` (kept by slurmctld for MinJobAge after it ends).
    static func state(of job: String) -> String? {
        guard let out = try? SlurmEngine.run("scontrol", ["show", "job", job]) else { return nil }
        guard let range = out.range(of: "JobState=") else { return nil }
        return String(out[range.upperBound...].prefix { !$0.isWhitespace })
    }

    static func jobID(_ output: String, command: String) throws -> String {
        let id = output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";").first.map(String.init) ?? ""
        guard !id.isEmpty, id.allSatisfy(\.isNumber) else { throw SlurmError.unexpectedOutput(command: command, output: output) }
        return id
    }

    static func which(_ command: String) -> URL? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent(command)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    /// Runs a Slurm command, returning its standard output; a non-zero exit is `rejected` with its message.
    @discardableResult
    static func run(_ command: String, _ arguments: [String]) throws -> String {
        guard let url = which(command) else {
            throw SlurmError.notInstalled(command: command, path: ProcessInfo.processInfo.environment["PATH"] ?? "")
        }
        let r = try ExternalCommand.run(url, arguments)
        guard r.status == 0 else {
            throw SlurmError.rejected(command: ([command] + arguments).joined(separator: " "), status: r.status,
                                      message: r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return r.stdout
    }
}
