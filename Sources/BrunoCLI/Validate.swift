import ArgumentParser
import BrunoCalibration
import BrunoData
import BrunoDevices
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

    func run() async throws {
        let folder = URL(fileURLWithPath: runFolder)
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
}
