import BrunoCards
import BrunoScaleOut
import BrunoSpice
import BrunoSupport
import Foundation

/// The FeLIF calibration as a job of independent items: an item is one stimulus simulated in SPICE (its resampled
/// membrane trace and spike times); the merge fits the surrogate to all of them and writes the card and report.
/// `FeLIFCalibrationRun.run` does the same in one process, through the same `finish`, so the card is the same for
/// any shard count. A stimulus draws no random numbers of its own beyond its protocol seed (random stimuli are
/// generated from `seed` in the protocol), so nothing depends on which shard simulates it.
public enum FeLIFCalibrationJob {
    public static let kind = "felif-calibration"

    public struct Plan: Codable, Sendable, Equatable {
        /// The neuron netlist and the protocol file, absolute.
        public var netlist: String
        public var protocolFile: String
        /// The output folder (card and report), absolute.
        public var out: String
        /// The stimuli's names, in the protocol's order (an item is one of them).
        public var stimuli: [String]
    }

    public typealias Folder = ShardFolder<Plan, FeLIFReference>

    /// The job's manifest in `folder`: planned now (reading the netlist's parameters and checking every stimulus
    /// against it on `spice()`), or the existing one if it is the same job with unchanged input files.
    public static func planOrReuse(folder: Folder, protocolFile: FeLIFProtocol, netlistOverride: URL?, out: URL, shards: Int?,
                                   spice: () throws -> SpiceInstance, log: @escaping @Sendable (String) -> Void) throws -> ShardManifest<Plan> {
        let netlist = (netlistOverride ?? protocolFile.netlist).standardizedFileURL.path
        let plan = Plan(netlist: netlist, protocolFile: protocolFile.file.standardizedFileURL.path, out: out.standardizedFileURL.path,
                        stimuli: protocolFile.stimuli.map(\.name))
        if FileManager.default.fileExists(atPath: folder.manifestURL.path) {
            let m = try folder.readManifest()
            var differences: [String] = []
            if m.plan != plan { differences.append("netlist, protocol, output or stimuli differ (\(m.plan.netlist), \(m.plan.protocolFile))") }
            if let shards, shards != m.layout.shardCount { differences.append("--shards \(shards) vs \(m.layout.shardCount)") }
            do { try m.verifyInputs(consequence: "its shards would mix two circuits") } catch { differences.append("\(error)") }
            guard differences.isEmpty else { throw ShardError.otherJob(folder: folder.root.path, difference: differences.joined(separator: "; ")) }
            log("reusing the plan in \(folder.manifestURL.path) (planned \(m.planned))")
            return m
        }
        // Every check the unsharded run makes before simulating: the netlist's parameters, every stimulus's deck.
        _ = try FeLIFCalibrationRun(protocolFile: protocolFile, netlistOverride: netlistOverride).prepare(spice: try spice(), log: log)
        let layout = try ShardLayout(itemCount: protocolFile.stimuli.count, shardCount: min(shards ?? 1, protocolFile.stimuli.count))
        return try folder.plan(ShardManifest(kind: kind, layout: layout, seed: protocolFile.seed,
                                             inputs: try calibrationInputs(netlist: netlist, protocolFile: plan.protocolFile), plan: plan))
    }

    /// Simulates the stimuli of shard `index` on `pool` (skipped when the shard is finished).
    public static func runShard(_ index: Int, folder: Folder, pool: SpicePool, log: @escaping @Sendable (String) -> Void) async throws
        -> Folder.ShardRun
    {
        let manifest = try folder.readManifest()
        try manifest.verifyInputs(consequence: "its shards would mix two circuits")
        let p = try FeLIFProtocol.load(URL(fileURLWithPath: manifest.plan.protocolFile))
        let netlist = try Netlist(contentsOf: URL(fileURLWithPath: manifest.plan.netlist))
        let version = (try? pool.instances[0].version()) ?? "ngspice (version unknown)"
        return try await folder.run(index, of: manifest, ngspice: version, instances: pool.count) { range in
            // Only the decks matter here (netlist, stimulus, sampling, ngspice step); the fit's start is the merge's.
            var calibration = FeLIFCalibration(netlist: netlist, stimuli: Array(p.stimuli[range]), quantities: p.quantities)
            calibration.sampleInterval = p.sampleInterval
            calibration.maxStep = p.maxStep
            return try await calibration.references(on: pool) { done, total in log("  shard \(index): SPICE run \(done)/\(total)") }
        }
    }

    /// Fits the card from the finished shards' traces (refused while any shard is missing) and writes it with the
    /// report into the plan's output folder.
    public static func mergeShards(folder: Folder, spice: SpiceInstance, log: @escaping @Sendable (String) -> Void) throws
        -> (DeviceCard, ShardMergeSummary)
    {
        let manifest = try folder.readManifest()
        try manifest.verifyInputs(consequence: "the fit would mix two circuits")
        let out = URL(fileURLWithPath: manifest.plan.out)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let lock = try RunFolderLock(out)
        defer { lock.release() }
        let (references, summary) = try folder.collect(manifest)
        let run = FeLIFCalibrationRun(protocolFile: try FeLIFProtocol.load(URL(fileURLWithPath: manifest.plan.protocolFile)),
                                      netlistOverride: URL(fileURLWithPath: manifest.plan.netlist))
        let prepared = try run.prepare(spice: spice, log: log)
        return (try run.finish(prepared, references: references, spice: spice, out: out, log: log), summary)
    }
}

/// The input files of a calibration and their SHA-256: the netlist, everything it includes, the protocol.
func calibrationInputs(netlist: String, protocolFile: String) throws -> [String: String] {
    var inputs = [netlist: try SHA256.hex(ofFile: URL(fileURLWithPath: netlist)),
                  protocolFile: try SHA256.hex(ofFile: URL(fileURLWithPath: protocolFile))]
    for file in try Netlist(contentsOf: URL(fileURLWithPath: netlist)).includedFiles() {
        inputs[file.standardizedFileURL.path] = try SHA256.hex(ofFile: file)
    }
    return inputs
}
