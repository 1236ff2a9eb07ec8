import ArgumentParser
import BrunoScaleOut
import Foundation

/// How a heavy job is split and where its shards run (`--shards`, `--engine` and the Slurm settings); shared by
/// every command that can shard its work.
struct ScaleOutOptions: ParsableArguments {
    enum Engine: String, ExpressibleByArgument, CaseIterable { case local, slurm }

    @Option(help: "Split the work into this many shards (each its own process or Slurm array task) and merge them.")
    var shards: Int?
    @Option(help: "Where shards run: local (worker processes on this machine) or slurm (a job array and a dependent merge job).")
    var engine: Engine?
    @Option(help: "Slurm: --partition for the shards and the merge.") var partition: String?
    @Option(help: "Slurm: --time limit per shard (e.g. 30, 2:00:00).") var time: String?
    @Option(help: "Slurm: --cpus-per-task (ngspice instances per shard).") var cpusPerTask = 1
    @Option(help: "At most this many shards at once (Slurm: --array=…%K; local: default one per core).") var maxParallel: Int?
    @Option(help: "Slurm: an extra #SBATCH line, e.g. --sbatch=--account=lab (repeatable).") var sbatch: [String] = []
    @Flag(help: "Slurm: wait for the shards and the merge, resubmitting unfinished shards (local always waits).") var wait = false
    @Option(help: "Times a killed or unfinished shard is started again.") var retries = 1

    /// Sharded at all (either option given).
    var sharded: Bool { shards != nil || engine != nil }

    func validate() throws {
        if let s = shards, s < 1 { throw ValidationError("--shards must be at least 1 (got \(s))") }
        if let k = maxParallel, k < 1 { throw ValidationError("--max-parallel must be at least 1 (got \(k))") }
        if cpusPerTask < 1 { throw ValidationError("--cpus-per-task must be at least 1 (got \(cpusPerTask))") }
        if retries < 0 { throw ValidationError("--retries must not be negative (got \(retries))") }
        if engine != .slurm && (partition != nil || time != nil || !sbatch.isEmpty || wait) {
            throw ValidationError("--partition, --time, --sbatch and --wait are Slurm settings: add --engine slurm")
        }
    }

    var slurm: SlurmOptions {
        SlurmOptions(partition: partition, timeLimit: time, cpusPerTask: cpusPerTask, maxParallel: maxParallel, extra: sbatch,
                     wait: wait, retries: retries)
    }

    /// Runs the missing shards of a planned job and, on the local engine, merges; on Slurm submits the array and the
    /// merge (and waits if asked). Returns true when the merged result is there.
    func execute<Plan, Result>(_ folder: ShardFolder<Plan, Result>, manifest: ShardManifest<Plan>, jobName: String,
                               merge: () throws -> Void) async throws -> Bool {
        let missing = try folder.missing(of: manifest)
        let total = manifest.layout.shardCount
        let command = ShardCommand.bruno(folder: folder.root)
        if missing.count < total { say("\(total - missing.count) of \(total) shard(s) already finished; running \(missing.count)") }
        switch engine ?? .local {
        case .local:
            if !missing.isEmpty {
                let cores = ProcessInfo.processInfo.activeProcessorCount
                let parallel = min(maxParallel ?? cores, missing.count)
                let instances = max(1, cores / parallel)
                say("running \(missing.count) shard(s) as worker processes, \(parallel) at a time, \(instances) core(s) each (ngspice instances or training threads); "
                    + "logs in \(folder.logs.path)")
                try await LocalEngine(parallel: parallel, retries: retries)
                    .run(missing, instances: instances, command: command, log: { folder.logURL($0) }, progress: say)
            }
            try merge()
            return true
        case .slurm:
            let engine = SlurmEngine(options: slurm, jobName: jobName)
            let scripts = try engine.writeScripts(into: folder.slurm, logs: folder.logs, command: command)
            say("Slurm scripts: \(scripts.shard.path), \(scripts.merge.path)")
            if missing.isEmpty {
                try merge()
                return true
            }
            let submission = try engine.submit(missing, scripts: scripts)
            say("submitted shard array \(submission.arrayJob) (shards \(ShardError.compactList(missing))) and merge job \(submission.mergeJob) "
                + "(after all shards succeed); logs in \(folder.logs.path)")
            guard wait else {
                say("not waiting (add --wait to): `bruno shard status \(folder.root.path)` shows progress; if a shard fails, run the same "
                    + "command again to resubmit only the missing ones")
                return false
            }
            try await engine.wait(for: submission, shardCount: total, scripts: scripts, mergeLog: folder.logs.appendingPathComponent("merge.log"),
                                  missing: { try folder.missing(of: manifest) }, progress: say)
            // What the merge job printed (the card's figures).
            if let text = try? String(contentsOf: folder.logs.appendingPathComponent("merge.log"), encoding: .utf8) {
                say(text.split(separator: "\n").suffix(12).joined(separator: "\n"))
            }
            return true
        }
    }
}
