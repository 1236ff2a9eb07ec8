import Foundation

/// Runs shards as worker processes on this machine, at most `parallel` at a time, each with its output in the
/// shard's log. A worker killed by a signal (out of memory, `kill -9`, a lost node) is started again up to
/// `retries` times; one that exits with an error is not (it would fail the same way) and is reported with the end
/// of its log after the others have finished, so that no finished work is lost.
public struct LocalEngine: Sendable {
    public var parallel: Int
    public var retries: Int

    public init(parallel: Int, retries: Int = 1) {
        self.parallel = max(1, parallel)
        self.retries = max(0, retries)
    }

    /// Runs the shards `indices` with `instances` ngspice instances each.
    public func run(_ indices: [Int], instances: Int, command: ShardCommand, log logURL: @escaping @Sendable (Int) -> URL,
                    progress: @escaping @Sendable (String) -> Void) async throws {
        let total = indices.count
        let failures = try await withThrowingTaskGroup(of: ShardError?.self) { group in
            var next = 0
            var done = 0
            var failures: [ShardError] = []
            func start(_ index: Int) {
                group.addTask {
                    var attempt = 0
                    while true {
                        attempt += 1
                        let url = logURL(index)
                        let outcome = try await LocalEngine.runProcess(command.executable, command.shard("\(index)", "\(instances)"), log: url)
                        switch outcome {
                        case .exited(0): return nil
                        case .exited(let status):
                            return .shardFailed(index: index, reason: "the worker exited with status \(status) (log: \(url.path))",
                                                log: tail(of: url))
                        case .signalled(let signal):
                            if attempt <= self.retries {
                                progress("shard \(index): worker killed by signal \(signal); started again (attempt \(attempt + 1) of \(self.retries + 1))")
                                continue
                            }
                            return .shardFailed(index: index, reason: "the worker was killed by signal \(signal), \(attempt) time(s) (log: \(url.path))",
                                                log: tail(of: url))
                        }
                    }
                }
            }
            while next < min(parallel, total) { start(indices[next]); next += 1 }
            for try await failure in group {
                done += 1
                if let failure { failures.append(failure) }
                progress("shards finished: \(done)/\(total)" + (failures.isEmpty ? "" : " (\(failures.count) failed)"))
                if next < total { start(indices[next]); next += 1 }
            }
            return failures
        }
        if let first = failures.first { throw first }
    }

    enum Termination: Equatable { case exited(Int32), signalled(Int32) }

    static func runProcess(_ executable: URL, _ arguments: [String], log: URL) async throws -> Termination {
        try FileManager.default.createDirectory(at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<Termination, Error>) in
            p.terminationHandler = { p in
                try? handle.close()
                c.resume(returning: p.terminationReason == .uncaughtSignal ? .signalled(p.terminationStatus) : .exited(p.terminationStatus))
            }
            do { try p.run() } catch {
                try? handle.close()
                c.resume(throwing: ShardError.shardFailed(index: -1, reason: "cannot start \(executable.path): \(error)", log: ""))
            }
        }
    }
}
