import ArgumentParser
import BrunoCalibration
import BrunoData
import BrunoDevices
import BrunoSpice
import BrunoSupport
import BrunoTraining
import BrunoValidation
import Foundation

struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a spiking network on the calibrated device surrogates (BRUNO, BPTT or coarse-only).",
        discussion: """
        Writes OUT/config.toml, run.json, metrics.jsonl (one line per epoch), checkpoint.json (every epoch) and \
        learning-curves.svg. --resume continues an interrupted run bit-for-bit from its last checkpoint.
        Example: bruno train --config experiments/braille-synthetic.toml --set felif.mode=bptt --set run.epochs=5
        """
    )

    @Option(help: "Experiment file (default: experiments/braille-synthetic.toml).") var config: String?
    @Option(name: .customLong("set"), help: "Override a setting: table.key=value (repeatable).") var overrides: [String] = []
    @Option(help: "Run folder (default: runs/<config name>).") var out: String?
    @Flag(help: "Continue the run in --out from its last checkpoint.") var resume = false

    func run() async throws {
        let library = try DeviceLibrary.locate()
        let configURL = config.map { URL(fileURLWithPath: $0) } ?? library.root.appendingPathComponent("experiments/braille-synthetic.toml")
        let outURL = URL(fileURLWithPath: out ?? "runs/\(configURL.deletingPathExtension().lastPathComponent)")
        do {
            let c = try TrainingConfig.load(configURL, overrides: overrides)
            var trainer = try Trainer(config: c)
            print("training \(trainer.data.train.count) samples (selection \(trainer.data.valid.count), test \(trainer.data.test.count)), "
                + "\(c.epochs) epochs, batch \(c.batch), FeLIF mode \(c.stepping.mode.rawValue) K=\(c.stepping.fineSteps), synapses \(c.synapses.rawValue), "
                + "\(Parallel.workers) worker(s) → \(outURL.path)")
            var hook: Trainer.EpochHook?
            if c.validation.every > 0 {
                let pool = try SpicePool(count: c.validation.instances)
                hook = SpiceValidation(settings: c.validation, library: library).hook(pool: pool) { say($0) }
            }
            // Training stops cleanly between batches on SIGINT/SIGTERM (see Interruption).
            try await Interruption.cooperating {
                try await trainer.run(out: outURL, resume: resume, afterEpoch: hook) { say($0) }
            }
            print("wrote \(outURL.path)/metrics.jsonl, checkpoint.json, learning-curves.svg")
        } catch {
            throw userFacing(error)
        }
    }
}
