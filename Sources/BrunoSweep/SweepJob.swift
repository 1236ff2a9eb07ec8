import BrunoScaleOut
import BrunoSupport
import BrunoTraining
import Foundation

extension Sweep {
    /// Plans a sweep into `folder`: grid trials (seeds × grid) or an Optuna study of `trials` slots (the study is
    /// created now, so that workers only ask and tell). An existing plan of the same sweep is reused.
    public static func plan(folder: Folder, config: URL, overrides: [String], seeds: [UInt64], grid: [String], space: URL?, trials: Int?,
                            storage: String?, storageClass: String?, study: String?, direction: String, optunaCommand: String?,
                            metric: String, out: URL, shards: Int) throws -> ShardManifest<Plan> {
        // The experiment must load with the base overrides before anything is planned.
        _ = try TrainingConfig.load(config, overrides: overrides)
        var plan = Plan(config: config.standardizedFileURL.path, overrides: overrides, trials: nil, optuna: nil, slots: 0, metric: metric,
                        out: out.standardizedFileURL.path, seed: seeds.first ?? 1)
        if let space {
            guard grid.isEmpty, seeds.count <= 1 else { throw SweepError.badRequest("--optuna-space searches by itself: drop --grid and --seeds") }
            guard let trials, trials > 0 else { throw SweepError.badRequest("an Optuna sweep needs --trials N (N ≥ 1)") }
            guard ["maximize", "minimize"].contains(direction) else { throw SweepError.badRequest("--direction must be maximize or minimize") }
            // A journal file given by a relative path is made absolute: shards may run in another directory.
            let storageURL = storage.map { $0.contains("://") ? $0 : URL(fileURLWithPath: $0).standardizedFileURL.path }
                ?? "sqlite:///\(out.standardizedFileURL.path)/study.db"
            if let storage, !storage.contains("://"), storageClass == nil {
                throw SweepError.badRequest("--storage \(storage): a file path is an Optuna journal: add --storage-class JournalFileBackend "
                    + "(or give a URL: sqlite:///…, postgresql://…)")
            }
            plan.optuna = Optuna(storage: storageURL, storageClass: storageClass, study: study ?? "bruno-sweep", direction: direction,
                                 space: try loadSpace(space), executable: try OptunaCommand.locate(optunaCommand))
            plan.slots = trials
        } else {
            let parsed = try grid.map(parseGrid)
            let t = gridTrials(seeds: seeds, grid: parsed)
            guard !(t.count == 1 && t[0].isEmpty) else { throw SweepError.badRequest("nothing to sweep: give --seeds, --grid or --optuna-space") }
            for (k, trial) in t.enumerated() {
                do { _ = try TrainingConfig.load(config, overrides: overrides + trial) } catch {
                    throw SweepError.badRequest("trial \(k) (\(trial.joined(separator: " "))): \(error)")
                }
            }
            plan.trials = t
            plan.slots = t.count
        }
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let manifest = ShardManifest(kind: kind, layout: try ShardLayout(itemCount: plan.slots, shardCount: min(shards, plan.slots)), seed: plan.seed,
                                     inputs: [config.standardizedFileURL.path: try SHA256.hex(ofFile: config)], plan: plan)
        let kept = try folder.plan(manifest)
        if let o = kept.plan.optuna { try OptunaCommand(settings: o).createStudy() }
        return kept
    }

    /// Runs the slots of shard `index`, one trial after another.
    public static func runShard(_ index: Int, folder: Folder, log: @escaping @Sendable (String) -> Void) async throws -> Folder.ShardRun {
        let manifest = try folder.readManifest()
        try manifest.verifyInputs(consequence: "its trials would train two experiments")
        return try await folder.run(index, of: manifest, ngspice: "not used", instances: Parallel.workers) { range in
            var out: [TrialResult] = []
            for slot in range { out.append(try await trial(slot, plan: manifest.plan, log: log)) }
            return out
        }
    }

    /// One slot: its overrides (grid) or Optuna's parameters, a training run resumed from its checkpoint if it has
    /// one, the metric told to Optuna (a failed training is told as failed and recorded, not thrown).
    static func trial(_ slot: Int, plan: Plan, log: @escaping @Sendable (String) -> Void) async throws -> TrialResult {
        let out = URL(fileURLWithPath: plan.out)
        var overrides: [String]
        var number: Int?
        var optuna: OptunaCommand?
        if let o = plan.optuna {
            let command = OptunaCommand(settings: o)
            optuna = command
            // The asked trial is recorded before training: a restarted shard finishes this trial instead of asking anew.
            let asked = out.appendingPathComponent("trials/slot-\(String(format: "%04d", slot)).asked.json")
            if let data = try? Data(contentsOf: asked), let record = try? JSONDecoder().decode(AskedTrial.self, from: data) {
                number = record.number
                overrides = record.overrides
            } else {
                let seed = SeededRandom(seed: plan.seed).derived(UInt64(slot) &+ 0x5_EE9).seed
                let (n, values) = try command.ask(space: o.space, seed: seed)
                number = n
                overrides = values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                try AtomicFile.write(try JSONEncoder().encode(AskedTrial(number: n, overrides: overrides)), to: asked)
            }
        } else {
            overrides = plan.trials![slot]
        }
        let folder = out.appendingPathComponent("trials/" + (number.map { String(format: "optuna-%04d", $0) } ?? String(format: "trial-%04d", slot)))
        var result = TrialResult(slot: slot, optunaNumber: number, overrides: overrides, value: nil, figures: [:], epochs: 0, failure: nil)
        do {
            var trainer = try Trainer(config: try TrainingConfig.load(URL(fileURLWithPath: plan.config), overrides: plan.overrides + overrides))
            let resume = FileManager.default.fileExists(atPath: folder.appendingPathComponent("checkpoint.json").path)
            // A trial killed before its first checkpoint left nothing to resume: start it again from scratch.
            if !resume, FileManager.default.fileExists(atPath: folder.path) { try FileManager.default.removeItem(at: folder) }
            log("slot \(slot)\(number.map { " (Optuna trial \($0))" } ?? ""): \(overrides.joined(separator: " "))\(resume ? " — resuming" : "")")
            try await trainer.run(out: folder, resume: resume) { _ in }
            let last = try lastMetrics(folder)
            result.figures = last.figures
            result.epochs = last.epoch
            guard let v = last.figures[plan.metric], v.isFinite else {
                throw SweepError.badRequest("metrics.jsonl has no finite `\(plan.metric)` (has: \(last.figures.keys.sorted().joined(separator: ", ")))")
            }
            result.value = v
        } catch {
            result.failure = "\(error)"
            log("slot \(slot) failed: \(error)")
        }
        if let optuna, let number { try optuna.tell(number, value: result.value) }
        return result
    }

    struct AskedTrial: Codable { var number: Int; var overrides: [String] }

    /// The last line of a run's metrics.jsonl: its numeric figures.
    static func lastMetrics(_ run: URL) throws -> (epoch: Int, figures: [String: Double]) {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        guard let line = text.split(separator: "\n").last,
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw SweepError.badRequest("\(run.path)/metrics.jsonl has no epoch") }
        var figures: [String: Double] = [:]
        // Timings and memory vary from run to run; the summary keeps what training determines (bit-repeatable).
        for (k, v) in object where !k.contains("seconds") && !k.contains("memory") {
            if let d = v as? Double { figures[k] = d } else if let i = v as? Int { figures[k] = Double(i) }
        }
        return (object["epoch"] as? Int ?? 0, figures)
    }
}
