import BrunoCalibration
import BrunoCards
import BrunoDevices
import BrunoEnergy
import BrunoSpice
import BrunoSupport
import BrunoTraining
import BrunoValidation
import Foundation

/// `bruno pipeline`: calibrate (reusing the committed cards while their netlists are unchanged), train with
/// SPICE-in-the-loop checks, measure the chip's energy in SPICE, export, and write `report.md` with the plots.
public struct Pipeline: Sendable {
    public var config: URL
    public var overrides: [String]
    public var out: URL
    public var library: DeviceLibrary

    public init(config: URL, overrides: [String], out: URL, library: DeviceLibrary) {
        self.config = config
        self.overrides = overrides
        self.out = out
        self.library = library
    }

    /// A committed card is reused when the netlist it was calibrated on, and every file that netlist includes,
    /// still have the recorded SHA-256.
    static func reusable(_ card: URL, library: DeviceLibrary) -> (Bool, String) {
        guard let c = try? DeviceCard.load(card) else { return (false, "\(card.path) is missing or unreadable") }
        let changed = c.provenance.changedSources(root: library.root)
        guard changed.isEmpty else { return (false, changed.joined(separator: "; ")) }
        let n = c.provenance.includes?.count ?? 0
        return (true, "netlist \(c.provenance.netlist) and its \(n) included file\(n == 1 ? "" : "s") unchanged")
    }

    public func run(log: @escaping @Sendable (String) -> Void) async throws {
        let t0 = Date()
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        var settings = overrides
        let base = try TrainingConfig.load(config, overrides: overrides)
        let pool = try SpicePool(count: max(1, base.validation.instances))
        // 1. Calibration.
        var calibrationNotes: [String] = []
        for device in ["felif", "rram"] {
            let committed = device == "felif" ? base.felifCard : base.rramCard
            let (ok, why) = Pipeline.reusable(committed, library: library)
            if ok {
                log("calibration: reusing \(committed.path) (\(why))")
                calibrationNotes.append("- `\(device)`: committed card `\(committed.path)` reused (\(why)).")
                continue
            }
            log("calibration: \(why) — calibrating \(device) into \(out.path)/calibration …")
            let folder = out.appendingPathComponent("calibration")
            if device == "felif" {
                let p = try FeLIFProtocol.load(library.root.appendingPathComponent("calibration/felif.toml"))
                _ = try await FeLIFCalibrationRun(protocolFile: p).run(pool: pool, out: folder, log: log)
            } else {
                let p = try RRAMProtocol.load(library.root.appendingPathComponent("calibration/rram.toml"))
                _ = try await RRAMCalibrationRun(protocolFile: p).run(pool: pool, library: library, out: folder, log: log)
            }
            let card = folder.appendingPathComponent("\(device).card.json")
            settings.append("devices.\(device)_card=\"\(card.path)\"")
            calibrationNotes.append("- `\(device)`: \(why); calibrated afresh into `calibration/\(device).card.json`.")
        }
        // 2. Training with SPICE checks.
        let c = try TrainingConfig.load(config, overrides: settings)
        var trainer = try Trainer(config: c)
        let runFolder = out.appendingPathComponent("train")
        let resume = FileManager.default.fileExists(atPath: runFolder.appendingPathComponent("checkpoint.json").path)
        log("training: \(trainer.data.train.count) samples, \(c.epochs) epochs, FeLIF \(c.stepping.mode.rawValue) K=\(c.stepping.fineSteps), synapses \(c.synapses.rawValue)"
            + (resume ? " (resuming)" : ""))
        let hook = c.validation.every > 0 ? SpiceValidation(settings: c.validation, library: library).hook(pool: pool, log: log) : nil
        let tTrain = Date()
        let history = try await Interruption.cooperating {
            try await trainer.run(out: runFolder, resume: resume, afterEpoch: hook, log: log)
        }
        let trainSeconds = Date().timeIntervalSince(tTrain)
        // 3. Energy from SPICE, kept while the checkpoint is the one it was measured on.
        let energyFolder = runFolder.appendingPathComponent("energy")
        let tEnergy = Date()
        let energy: EnergyReport
        if (try? EnergyReportStanding(run: runFolder)) == .current,
           let kept = try? JSONDecoder().decode(EnergyReport.self, from: Data(contentsOf: energyFolder.appendingPathComponent("energy.json"))) {
            log("energy: reusing \(energyFolder.path) (measured on this checkpoint)")
            energy = kept
        } else {
            log("energy: neuron, synapse and per-inference energy from ngspice …")
            var job = EnergyRun(run: runFolder, felifProtocol: library.root.appendingPathComponent("calibration/felif.toml"),
                                rramProtocol: library.root.appendingPathComponent("calibration/rram.toml"))
            // A whole-column energy deck takes 1 µs steps over 102 ms (≈ 15–25 core-s): two columns of each of two
            // samples keep the step near a minute; `bruno energy --run` checks 4 × 2 by default.
            job.programmingsPerLevel = 4
            job.checkColumns = 2
            energy = try await job.measure(on: pool, library: library, log: log)
            try energy.write(to: energyFolder)
        }
        let energySeconds = Date().timeIntervalSince(tEnergy)
        // 4. Export.
        log("export …")
        let summary = try RunExport(run: runFolder, library: library).write(to: out.appendingPathComponent("export"))
        // 5. Report.
        try PipelineReport.write(out: out, config: c, history: history, notes: calibrationNotes, export: summary, energy: energy,
                                 energyFolder: energyFolder, trainSeconds: trainSeconds, energySeconds: energySeconds,
                                 totalSeconds: Date().timeIntervalSince(t0), library: library)
        log(String(format: "pipeline done in %.0f s: %@/report.md", Date().timeIntervalSince(t0), out.path))
    }
}
