import ArgumentParser
import BrunoCalibration
import BrunoCards
import BrunoDevices
import BrunoScaleOut
import BrunoSpice
import BrunoSupport
import Foundation

struct Calibrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit a device's fast surrogate to SPICE transients and write its calibration card and report.",
        discussion: "Writes DIR/<device>.card.json and DIR/<device>-report.md with SVG plots. The committed default cards were made with --out calibration."
    )

    enum Device: String, ExpressibleByArgument, CaseIterable { case felif, rram }

    @Argument(help: "The device to calibrate: felif or rram.") var device: Device
    @Option(help: "The device netlist (default: the protocol's).") var netlist: String?
    @Option(help: "The protocol file (default: calibration/<device>.toml).") var `protocol`: String?
    @Option(help: "Output folder.") var out = "runs/calibration"
    @Option(help: "Parallel ngspice instances (default: one per core).") var instances: Int?
    @OptionGroup(title: "Scale-out") var scaleOut: ScaleOutOptions

    /// The card's figures, printed after a run or a merge.
    static func printSummary(_ outcome: RRAMCalibrationRun.Outcome) {
        for (l, level) in outcome.surrogate.levels.enumerated() {
            say(String(format: "  level %d: G = %.2f µS, device spread %.2f %%, cycle spread %.2f %%", l, level.conductance * 1e6,
                       level.deviceSpread * 100, level.cycleSpread * 100))
        }
        say(String(format: "  held out: worst mean error %.2f %%, worst spread error %.1f %%",
                   (outcome.card.statistics["held_out_mean_error_max"] ?? .nan) * 100,
                   (outcome.card.statistics["held_out_spread_error_max"] ?? .nan) * 100))
    }

    /// The fitted parameters of a FeLIF card, with their standard errors.
    static func printFitted(_ card: DeviceCard) {
        for param in card.parameters where param.fitted {
            say("  \(param.name) = \(String(format: "%.5g", param.value)) \(param.unit) ± \(param.stderr.map { String(format: "%.2g", $0) } ?? "—")"
                + (param.atBound == true ? " (at bound)" : ""))
        }
    }

    /// `--shards`/`--engine`: plan into OUT/shards-<device>, run the missing shards on the engine, merge. RRAM
    /// items are Monte-Carlo programmings; FeLIF items are stimuli (the fit runs in the merge).
    func runSharded(library: DeviceLibrary, protocolURL: URL) async throws {
        if scaleOut.engine == .slurm { try SlurmEngine.checkInstalled() }
        let outURL = URL(fileURLWithPath: out)
        let netlistURL = netlist.map { URL(fileURLWithPath: $0) }
        let root = outURL.appendingPathComponent("shards-\(device.rawValue)")
        try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if device == .felif {
            let p = try FeLIFProtocol.load(protocolURL)
            let folder = FeLIFCalibrationJob.Folder(root: root, kind: FeLIFCalibrationJob.kind)
            let manifest: ShardManifest<FeLIFCalibrationJob.Plan>
            do {
                let lock = try RunFolderLock(outURL)
                defer { lock.release() }
                manifest = try FeLIFCalibrationJob.planOrReuse(folder: folder, protocolFile: p, netlistOverride: netlistURL, out: outURL,
                                                               shards: scaleOut.shards ?? min(p.stimuli.count, scaleOut.engine == .slurm ? 4 : cores),
                                                               spice: { try SpiceInstance() }, log: say)
            }
            say("\(manifest.layout.itemCount) stimuli in \(manifest.layout.shardCount) shard(s) (\(folder.root.path))")
            // The merge says what it wrote.
            _ = try await scaleOut.execute(folder, manifest: manifest, jobName: "bruno-felif") { try Shard.merge(folder.root) }
            return
        }
        let p = try RRAMProtocol.load(protocolURL)
        let folder = RRAMCalibrationJob.Folder(root: root, kind: RRAMCalibrationJob.kind)
        let manifest: ShardManifest<RRAMCalibrationJob.Plan>
        do {
            let lock = try RunFolderLock(outURL)
            defer { lock.release() }
            manifest = try RRAMCalibrationJob.planOrReuse(folder: folder, protocolFile: p, netlistOverride: netlistURL,
                                                          library: library, out: outURL, shards: scaleOut.shards ?? (scaleOut.engine == .slurm ? 8 : cores),
                                                          spice: { try SpiceInstance() }, log: say)
        }
        say("\(manifest.layout.itemCount) programmings in \(manifest.layout.shardCount) shard(s) (\(folder.root.path))")
        _ = try await scaleOut.execute(folder, manifest: manifest, jobName: "bruno-rram") { try Shard.merge(folder.root) }
    }

    func run() async throws {
        let library = try DeviceLibrary.locate()
        let protocolURL = `protocol`.map { URL(fileURLWithPath: $0) } ?? library.root.appendingPathComponent("calibration/\(device.rawValue).toml")
        do {
            if scaleOut.sharded { return try await runSharded(library: library, protocolURL: protocolURL) }
            let pool = try SpicePool(count: instances ?? ProcessInfo.processInfo.activeProcessorCount)
            if device == .rram {
                let p = try RRAMProtocol.load(protocolURL)
                let outcome = try await RRAMCalibrationRun(protocolFile: p, netlistOverride: netlist.map { URL(fileURLWithPath: $0) })
                    .run(pool: pool, library: library, out: URL(fileURLWithPath: out)) { print($0) }
                Calibrate.printSummary(outcome)
                print("wrote \(out)/rram.card.json and \(out)/rram-report.md")
                return
            }
            let p = try FeLIFProtocol.load(protocolURL)
            let run = FeLIFCalibrationRun(protocolFile: p, netlistOverride: netlist.map { URL(fileURLWithPath: $0) })
            let card = try await run.run(pool: pool, out: URL(fileURLWithPath: out)) { print($0) }
            Calibrate.printFitted(card)
            print("wrote \(out)/felif.card.json and \(out)/felif-report.md")
        } catch {
            throw userFacing(error)
        }
    }
}
