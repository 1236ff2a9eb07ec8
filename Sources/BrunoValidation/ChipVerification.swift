import BrunoDevices
import BrunoScaleOut
import BrunoSpice
import BrunoSupport
import BrunoTraining
import Foundation

/// Whole-chip verification of a trained run: every output column of the checked FeLIF layer on every test sample,
/// simulated in ngspice, and the circuit's own class decisions — its test accuracy, confusion matrix and
/// spike-count errors beside the surrogate's.
///
/// An item is one (sample, column) deck, index `sample · columns + column`. What an item simulates depends only on
/// the run (config, checkpoint, cards), the verification seed and the sample index — the surrogate pass of a sample
/// draws its read noise from (seed, sample) — so the result is the same for any number of shards.
public enum ChipVerification {
    public static let kind = "chip-verification"

    /// A `ClassReadout` in a form that can be written down.
    public struct Readout: Codable, Sendable, Equatable {
        public var name: String
        public var parameter: Double?

        public init(_ r: ClassReadout) {
            name = r.name
            switch r {
            case .spikeCount: parameter = nil
            case .countMembrane(let w): parameter = w
            case .membraneMean(let s), .membraneMax(let s), .membraneLast(let s): parameter = s
            }
        }

        public var readout: ClassReadout {
            switch name {
            case "count_membrane": return .countMembrane(weight: parameter ?? 0)
            case "membrane_mean": return .membraneMean(scale: parameter ?? 1)
            case "membrane_max": return .membraneMax(scale: parameter ?? 1)
            case "membrane_last": return .membraneLast(scale: parameter ?? 1)
            default: return .spikeCount
            }
        }
    }

    public struct Plan: Codable, Sendable, Equatable {
        /// The run folder (absolute) and the `--set` overrides it is opened with.
        public var run: String
        public var overrides: [String]
        public var epoch: Int
        public var layer: Int
        public var samples: Int
        public var columns: Int
        public var labels: [Int?]
        public var thresholds: [Double]
        public var readout: Readout
        public var seed: UInt64
        /// Where the report goes (absolute).
        public var out: String
        /// Layers before the checked one that run as the surrogate (their spikes drive the decks as ideal sources).
        public var layersWithoutCircuit: [String]
        public var itemCount: Int { samples * columns }

        public init(run: String, overrides: [String], epoch: Int, layer: Int, samples: Int, columns: Int, labels: [Int?],
                    thresholds: [Double], readout: Readout, seed: UInt64, out: String, layersWithoutCircuit: [String]) {
            self.run = run
            self.overrides = overrides
            self.epoch = epoch
            self.layer = layer
            self.samples = samples
            self.columns = columns
            self.labels = labels
            self.thresholds = thresholds
            self.readout = readout
            self.seed = seed
            self.out = out
            self.layersWithoutCircuit = layersWithoutCircuit
        }
    }

    /// One column on one sample: the surrogate's spikes and the circuit's, and (membrane readouts) both membranes.
    public struct ColumnOutcome: Codable, Sendable, Equatable {
        public var synapses: Int
        public var surrogateCount: Int
        public var spiceCount: Int?
        public var surrogateFirstSpike: Double?
        public var spiceFirstSpike: Double?
        /// End-of-step membrane [V] (only for readouts that read it).
        public var surrogateMembrane: [Double]?
        public var spiceMembrane: [Double]?
        public var failure: String?
        /// What the deck took in ngspice [s] on one core (informative: not part of what is compared).
        public var seconds: Double?

        public init(synapses: Int, surrogateCount: Int, spiceCount: Int? = nil, surrogateFirstSpike: Double? = nil,
                    spiceFirstSpike: Double? = nil, surrogateMembrane: [Double]? = nil, spiceMembrane: [Double]? = nil,
                    failure: String? = nil, seconds: Double? = nil) {
            self.synapses = synapses
            self.surrogateCount = surrogateCount
            self.spiceCount = spiceCount
            self.surrogateFirstSpike = surrogateFirstSpike
            self.spiceFirstSpike = spiceFirstSpike
            self.surrogateMembrane = surrogateMembrane
            self.spiceMembrane = spiceMembrane
            self.failure = failure
            self.seconds = seconds
        }
    }

    public typealias Folder = ShardFolder<Plan, ColumnOutcome>

    /// A trained run opened for verification: its trainer with the checkpoint loaded, the evaluation chip.
    public struct OpenRun {
        public var trainer: Trainer
        public var epoch: Int
        public var readout: ClassReadout
        public var settings: ValidationSettings
    }

    public static func open(run: URL, overrides: [String]) throws -> OpenRun {
        guard FileManager.default.fileExists(atPath: run.appendingPathComponent("config.toml").path) else {
            throw ValidationSetupError("\(run.path): not a run folder (no config.toml); train one with `bruno train --out \(run.path)`")
        }
        let c = try TrainingConfig.load(run.appendingPathComponent("config.toml"), overrides: overrides)
        var t = try Trainer(config: c)
        let epoch = try t.loadCheckpoint(from: run)
        return OpenRun(trainer: t, epoch: epoch, readout: c.classReadout ?? .spikeCount, settings: c.validation)
    }

    /// The plan for `run` (test set, checked layer, thresholds, labels) and the files it depends on.
    public static func plan(run: URL, overrides: [String], out: URL, layer: Int?, samples: Int?) throws
        -> (Plan, inputs: [String: String])
    {
        let opened = try open(run: run, overrides: overrides)
        let network = opened.trainer.network
        let l = try network.validationLayer(layer ?? opened.settings.layer)
        guard case .felif(let felif, _) = network.layers[l] else { throw ValidationSetupError("layer \(l) is not a FeLIF layer") }
        let test = opened.trainer.data.test
        let count = min(samples ?? test.count, test.count)
        guard count > 0 else { throw ValidationSetupError("the run's test set is empty: nothing to verify") }
        let plan = Plan(run: run.standardizedFileURL.path, overrides: overrides, epoch: opened.epoch, layer: l, samples: count,
                        columns: felif.neurons, labels: test.samples.prefix(count).map(\.label),
                        thresholds: felif.devices.map(\.threshold), readout: Readout(opened.readout), seed: opened.settings.seed,
                        out: out.standardizedFileURL.path, layersWithoutCircuit: network.layersRunWithoutCircuit(before: l))
        var inputs: [String: String] = [:]
        let files = ["config.toml", "checkpoint.json"].map { run.appendingPathComponent($0) } + [opened.trainer.cards.felif, opened.trainer.cards.rram].compactMap { $0 }.map { URL(fileURLWithPath: $0) }
            + ["felif.lib", "rram.lib"].map { (try? DeviceLibrary.locate())?.model($0) }.compactMap { $0 }
        for f in files where FileManager.default.fileExists(atPath: f.path) { inputs[f.standardizedFileURL.path] = try SHA256.hex(ofFile: f) }
        return (plan, inputs)
    }

    /// Simulates the items `range`: each sample's surrogate pass once, then its columns' decks on `pool`.
    /// `opened`: the run already opened (in-process runs open it once for all shards).
    public static func simulate(_ range: Range<Int>, of plan: Plan, on pool: SpicePool, library: DeviceLibrary, opened: OpenRun? = nil,
                                progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> [ColumnOutcome] {
        guard !range.isEmpty else { return [] }
        let opened = try opened ?? open(run: URL(fileURLWithPath: plan.run), overrides: plan.overrides)
        let network = opened.trainer.network, chip = opened.trainer.chip(), test = opened.trainer.data.test
        let membrane = plan.readout.readout.readsMembrane
        var cases: [ColumnCase] = []
        var sample = -1
        var columnsOfSample: [ColumnCase] = []
        for item in range {
            let s = item / plan.columns, j = item % plan.columns
            if s != sample {
                sample = s
                let x = test.samples[s]
                columnsOfSample = try ColumnBuilder.cases(network: network, layer: plan.layer, chip: chip, x: x.values, steps: x.steps, sample: s,
                                                          label: x.label, columns: nil, seed: plan.seed).0
            }
            cases.append(columnsOfSample[j])
        }
        var jobs: [(Netlist, Analysis)] = []
        var buildFailures: [Int: String] = [:]
        for (k, c) in cases.enumerated() {
            do { jobs.append((try c.circuit.netlist(library: library), .netlist)) } catch {
                buildFailures[k] = "\(error)"
                jobs.append((try Netlist(string: "failed deck\n.end\n", name: "failed.cir"), .netlist))
            }
        }
        let results = await pool.simulateAll(jobs, progress: progress)
        return zip(cases, results).enumerated().map { k, pair in
            let (c, r) = pair
            var o = ColumnOutcome(synapses: c.synapsesInDeck, surrogateCount: c.surrogateSpikes.count,
                                  surrogateFirstSpike: c.surrogateSpikes.first.map { (Double($0) + 0.5) * c.coarseStep },
                                  surrogateMembrane: membrane ? c.surrogateMembrane : nil)
            if let f = buildFailures[k] { o.failure = f; return o }
            switch r {
            case .failure(let e): o.failure = e.description
            case .success(let result):
                o.seconds = result.seconds
                do {
                    let trace = try NeuronTrace(result)
                    let spikes = trace.spikeTimes
                    o.spiceCount = spikes.count
                    o.spiceFirstSpike = spikes.first
                    if membrane { o.spiceMembrane = (0..<c.surrogateMembrane.count).map { trace.membrane(at: Double($0 + 1) * c.coarseStep) } }
                } catch { o.failure = "\(error)" }
            }
            return o
        }
    }

    /// Runs shard `index` of the job in `folder` (checking the run's files are the planned ones).
    public static func runShard(_ index: Int, folder: Folder, pool: SpicePool, opened: OpenRun? = nil, quiet: Bool = false,
                                log: @escaping @Sendable (String) -> Void) async throws -> Folder.ShardRun
    {
        let manifest = try folder.readManifest()
        try manifest.verifyInputs(consequence: "its shards would verify two chips")
        let library = try DeviceLibrary.locate()
        let version = (try? pool.instances[0].version()) ?? "ngspice (version unknown)"
        return try await folder.run(index, of: manifest, ngspice: version, instances: pool.count) { range in
            let step = max(1, range.count / 10)
            return try await simulate(range, of: manifest.plan, on: pool, library: library, opened: opened) { done, all in
                if !quiet, done % step == 0 || done == all { log("  shard \(index): simulated \(done)/\(all) column decks") }
            }
        }
    }

    /// The job's manifest in `folder`: planned now, or the existing one if it is the same job with unchanged files.
    public static func planOrReuse(folder: Folder, run: URL, overrides: [String], out: URL, layer: Int?, samples: Int?, shards: Int,
                                   log: (String) -> Void) throws -> ShardManifest<Plan> {
        let (plan, inputs) = try self.plan(run: run, overrides: overrides, out: out, layer: layer, samples: samples)
        let layout = try ShardLayout(itemCount: plan.itemCount, shardCount: min(shards, plan.itemCount))
        let manifest = ShardManifest(kind: kind, layout: layout, seed: plan.seed, inputs: inputs, plan: plan)
        let kept = try folder.plan(manifest)
        if kept.planned != manifest.planned { log("reusing the plan in \(folder.manifestURL.path) (planned \(kept.planned))") }
        return kept
    }

    /// Merges the finished shards into the report (refused while any shard is missing).
    public static func mergeShards(folder: Folder) throws -> (ChipVerificationReport, ChipVerificationCost) {
        let manifest = try folder.readManifest()
        let out = URL(fileURLWithPath: manifest.plan.out)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let (results, summary) = try folder.collect(manifest)
        let lock = try RunFolderLock(out)
        defer { lock.release() }
        let report = ChipVerificationReport(plan: manifest.plan, outcomes: results, ngspice: summary.ngspice)
        let cost = ChipVerificationCost(outcomes: results, shardCoreSeconds: summary.coreSeconds, shards: summary.shards.count)
        try report.write(to: out, cost: cost)
        return (report, cost)
    }
}

extension ChipVerification {
    /// The figures over the samples whose every column is finished so far, for watching a long verification: it
    /// writes nothing and is no result (the merge is, over every sample). Nil while no sample is complete.
    public static func preview(folder: Folder) throws -> (report: ChipVerificationReport, cost: ChipVerificationCost)? {
        let manifest = try folder.readManifest()
        let plan = manifest.plan
        var byItem = [ColumnOutcome?](repeating: nil, count: plan.itemCount)
        var ngspice = ""
        for i in 0..<manifest.layout.shardCount {
            guard let r = try folder.finishedRecord(i, of: manifest) else { continue }
            for (k, o) in r.results.enumerated() { byItem[r.firstItem + k] = o }
            ngspice = r.ngspice
        }
        let complete = (0..<plan.samples).filter { s in (0..<plan.columns).allSatisfy { byItem[s * plan.columns + $0] != nil } }
        guard !complete.isEmpty else { return nil }
        var sub = plan
        sub.samples = complete.count
        sub.labels = complete.map { plan.labels[$0] }
        let outcomes = complete.flatMap { s in (0..<plan.columns).map { byItem[s * plan.columns + $0]! } }
        return (ChipVerificationReport(plan: sub, outcomes: outcomes, ngspice: ngspice),
                ChipVerificationCost(outcomes: outcomes, shardCoreSeconds: 0, shards: 0))
    }
}
