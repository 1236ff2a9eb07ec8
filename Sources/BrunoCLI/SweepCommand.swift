import ArgumentParser
import BrunoDevices
import BrunoScaleOut
import BrunoSupport
import BrunoSweep
import BrunoTraining
import Foundation

/// `bruno sweep`: seeds, grids over any `--set` key, or an Optuna TPE study, as sharded training runs.
struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train one experiment many times: over seeds, a grid of --set values, or an Optuna TPE study.",
        discussion: """
        Every trial is an ordinary training run in OUT/trials/ (resumed from its checkpoint when the sweep is run \
        again). The trials are split into --shards run by --engine local (worker processes) or slurm (a job array \
        and a dependent merge job); the merge writes OUT/sweep.md, sweep.csv, sweep.json and sweep.svg.
        Grid: bruno sweep --config experiments/uea-gunpoint.toml --seeds 1,2,3 --grid optimizer.learning_rate=0.01,0.003
        Optuna (the `optuna` command, pip install optuna; storage SQLite in OUT by default, or a journal file or \
        PostgreSQL URL on a cluster): bruno sweep --optuna-space space.json --trials 20 --engine slurm --shards 4, \
        where space.json is {"optimizer.learning_rate": {"low": 1e-4, "high": 0.1, "log": true}, \
        "loss.kind": {"choices": ["\\"spike_count\\"", "\\"count_membrane\\""]}}. A failed trial is told as failed.
        """
    )

    @Option(help: "Experiment file (default: experiments/braille-synthetic.toml).") var config: String?
    @Option(name: .customLong("set"), help: "A setting every trial gets: table.key=value (repeatable).") var overrides: [String] = []
    @Option(help: "Seeds (run.seed), comma-separated: each grid point is trained once per seed.") var seeds: String?
    @Option(help: "A grid axis: table.key=v1,v2,… (repeatable; the trials are the product of the axes).") var grid: [String] = []
    @Option(help: "Optuna: the search space (JSON file, see above).") var optunaSpace: String?
    @Option(help: "Optuna: number of trials.") var trials: Int?
    @Option(help: "Optuna: storage URL or journal file (default sqlite:///OUT/study.db).") var storage: String?
    @Option(help: "Optuna: --storage-class, e.g. JournalFileBackend for a journal file on NFS.") var storageClass: String?
    @Option(help: "Optuna: study name.") var study: String?
    @Option(help: "Optuna: maximize or minimize (default: maximize for accuracies, else minimize).") var direction: String?
    @Option(help: "Optuna: the optuna executable (default: found on PATH).") var optunaCommand: String?
    @Option(help: "The metrics.jsonl figure judged (last epoch): valid_accuracy, test_accuracy, valid_nll, …") var metric = "valid_accuracy"
    @Option(help: "Sweep folder (default: runs/sweep-<config name>).") var out: String?
    @OptionGroup(title: "Scale-out") var scaleOut: ScaleOutOptions

    func run() async throws {
        let library = try DeviceLibrary.locate()
        let configURL = config.map { URL(fileURLWithPath: $0) } ?? library.root.appendingPathComponent("experiments/braille-synthetic.toml")
        let outURL = URL(fileURLWithPath: out ?? "runs/sweep-\(configURL.deletingPathExtension().lastPathComponent)")
        do {
            if scaleOut.engine == .slurm { try SlurmEngine.checkInstalled() }
            let seedList = try seeds.map(Self.parseSeeds) ?? []
            let folder = Sweep.Folder(root: outURL.appendingPathComponent("shards"), kind: Sweep.kind)
            let cores = ProcessInfo.processInfo.activeProcessorCount
            let manifest: ShardManifest<Sweep.Plan>
            do {
                try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
                let lock = try RunFolderLock(outURL)
                defer { lock.release() }
                manifest = try Sweep.plan(
                    folder: folder, config: configURL, overrides: overrides, seeds: seedList, grid: grid,
                    space: optunaSpace.map { URL(fileURLWithPath: $0) }, trials: trials, storage: storage, storageClass: storageClass,
                    study: study, direction: direction ?? (metric.contains("accuracy") ? "maximize" : "minimize"),
                    optunaCommand: optunaCommand, metric: metric, out: outURL,
                    shards: scaleOut.shards ?? (scaleOut.engine == .slurm ? 4 : cores))
            }
            let plan = manifest.plan
            say("sweep of \(plan.slots) trial(s) in \(manifest.layout.shardCount) shard(s)"
                + (plan.optuna.map { " (Optuna study `\($0.study)` in \($0.storage))" } ?? "") + " → \(outURL.path)")
            let merged = try await scaleOut.execute(folder, manifest: manifest, jobName: "bruno-sweep") { try Shard.merge(folder.root) }
            if merged { print("wrote \(outURL.path)/sweep.md, sweep.csv, sweep.json, sweep.svg") }
        } catch let e as ExitCode { throw e } catch { throw userFacing(error) }
    }

    static func parseSeeds(_ text: String) throws -> [UInt64] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
            guard let s = UInt64(part.trimmingCharacters(in: .whitespaces)) else {
                throw CLIError("--seeds \(text): `\(part)` is not a non-negative integer (expected e.g. --seeds 1,2,3)")
            }
            return s
        }
    }
}
