import ArgumentParser
import BrunoCalibration
import BrunoData
import BrunoDevices
import BrunoScaleOut
import BrunoSpice
import BrunoSupport
import BrunoTraining
import BrunoValidation
import Foundation

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate a trained run's FeLIF columns in ngspice and compare them with the surrogate.",
        discussion: "Appends the report to RUN/validation.jsonl and writes RUN/validation-epochN.svg (SPICE vs surrogate membrane)."
    )

    @Option(name: .customLong("run"), help: "Run folder (holds config.toml and checkpoint.json).") var runFolder: String
    @Option(help: "Test samples to simulate (default: the run's [validation] samples).") var samples: Int?
    @Option(help: "Index of the FeLIF layer (default: the last one).") var layer: Int?
    @Option(help: "Columns per sample: the class's, then the most active others; 0 = all.") var columns: Int?
    @Option(help: "Parallel ngspice instances.") var instances: Int?
    @Option(name: .customLong("set"), help: "Override a setting of the run's config: table.key=value (repeatable).") var overrides: [String] = []
    @Flag(help: "Whole-chip verification: every column × every test sample (or the first --samples) in ngspice; the circuit's accuracy.")
    var wholeChip = false
    @Option(help: "Whole chip: output folder (default RUN/chip-verification).") var out: String?
    @OptionGroup(title: "Scale-out (--whole-chip)") var scaleOut: ScaleOutOptions

    func validate() throws {
        if scaleOut.sharded && !wholeChip { throw ValidationError("--shards/--engine shard whole-chip verification: add --whole-chip") }
        if wholeChip && columns != nil { throw ValidationError("--whole-chip simulates every column; drop --columns") }
    }

    func run() async throws {
        let folder = URL(fileURLWithPath: runFolder)
        if wholeChip {
            do { try await verifyWholeChip(folder) } catch let e as ExitCode { throw e } catch { throw userFacing(error) }
            return
        }
        do {
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.toml").path) else {
                throw CLIError("\(runFolder): not a run folder (no config.toml); train one with `bruno train --out \(runFolder)`")
            }
            // validation.jsonl and the plot go into the run folder: not while a training writes there.
            let lock = try RunFolderLock(folder)
            defer { lock.release() }
            _ = AtomicFile.removeStaleTemporaries(in: folder)
            let c = try TrainingConfig.load(folder.appendingPathComponent("config.toml"), overrides: overrides)
            var t = try Trainer(config: c)
            let epoch = try t.loadCheckpoint(from: folder)
            var settings = c.validation
            if let samples { settings.samples = samples }
            if let layer { settings.layer = layer }
            if let columns { settings.columns = columns > 0 ? columns : nil }
            if let instances { settings.instances = instances }
            let pool = try SpicePool(count: settings.instances)
            let v = SpiceValidation(settings: settings, library: try DeviceLibrary.locate())
            let report = try await v.run(network: t.network, chip: t.chip(), set: t.data.test, epoch: epoch, pool: pool,
                                         readout: c.classReadout ?? .spikeCount, plot: folder.appendingPathComponent("validation-epoch\(epoch).svg")) { say($0) }
            try ValidationLog.append(report, to: folder.appendingPathComponent("validation.jsonl"))
            print(ValidationLog.describe(report))
            for a in report.columns {
                print("  sample \(a.sample) neuron \(a.column): \(a.synapses) synapses, spikes surrogate \(a.surrogateCount) / SPICE \(a.spiceCount.map(String.init) ?? "—")"
                    + (a.traceNRMSE.map { String(format: ", NRMSE %.3f", $0) } ?? "") + (a.failure.map { " — FAILED: \($0)" } ?? ""))
            }
            for w in report.warnings { print("WARNING: \(w)") }
            print("wrote \(runFolder)/validation.jsonl and validation-epoch\(epoch).svg")
        } catch {
            throw userFacing(error)
        }
    }

    /// `--whole-chip`: plan into OUT/shards, then simulate shard by shard here (resumable: one shard per sample) or
    /// on an engine, and merge.
    func verifyWholeChip(_ run: URL) async throws {
        if scaleOut.engine == .slurm { try SlurmEngine.checkInstalled() }
        let outURL = out.map { URL(fileURLWithPath: $0) } ?? run.appendingPathComponent("chip-verification")
        try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        let folder = ChipVerification.Folder(root: outURL.appendingPathComponent("shards"), kind: ChipVerification.kind)
        let manifest: ShardManifest<ChipVerification.Plan>
        do {
            let lock = try RunFolderLock(outURL)
            defer { lock.release() }
            let planned = try ChipVerification.plan(run: run, overrides: overrides, out: outURL, layer: layer, samples: samples)
            let shards = scaleOut.shards ?? (scaleOut.sharded ? (scaleOut.engine == .slurm ? 8 : ProcessInfo.processInfo.activeProcessorCount)
                                                              : planned.0.samples)
            manifest = try ChipVerification.planOrReuse(folder: folder, run: run, overrides: overrides, out: outURL, layer: layer,
                                                        samples: samples, shards: shards, log: say)
        }
        let plan = manifest.plan
        say("whole-chip verification: \(plan.columns) columns × \(plan.samples) test samples = \(plan.itemCount) decks in "
            + "\(manifest.layout.shardCount) shard(s) (\(folder.root.path))")
        if scaleOut.sharded {
            let merged = try await scaleOut.execute(folder, manifest: manifest, jobName: "bruno-chip") { try Shard.merge(folder.root) }
            if !merged { return }
            return
        }
        // In this process, shard by shard: an interruption loses at most the shard being simulated.
        let missing = try folder.missing(of: manifest)
        if missing.count < manifest.layout.shardCount {
            say("\(manifest.layout.shardCount - missing.count) of \(manifest.layout.shardCount) shard(s) already finished")
        }
        if !missing.isEmpty {
            let pool = try SpicePool(count: instances ?? ProcessInfo.processInfo.activeProcessorCount)
            let opened = try ChipVerification.open(run: run, overrides: overrides)
            let t0 = Date()
            // SIGINT/SIGTERM stop between shards (the shard being simulated is finished first, so nothing is lost).
            try await Interruption.cooperating {
                for (k, i) in missing.enumerated() {
                    if let signal = Interruption.requested {
                        say("interrupted: \(k) of \(missing.count) shard(s) done; run the same command to continue")
                        Interruption.exitNow(signal)
                    }
                    _ = try await ChipVerification.runShard(i, folder: folder, pool: pool, opened: opened, quiet: true, log: say)
                    let elapsed = Date().timeIntervalSince(t0)
                    let left = elapsed / Double(k + 1) * Double(missing.count - k - 1)
                    say(String(format: "  shard %d/%d done (%.0f s, about %.0f s left)", k + 1, missing.count, elapsed, left))
                }
            }
        }
        try Shard.merge(folder.root)
    }
}
