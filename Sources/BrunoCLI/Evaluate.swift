import ArgumentParser
import BrunoCalibration
import BrunoData
import BrunoTraining
import Foundation

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a trained run's last checkpoint on its test set, optionally under other settings.",
        discussion: """
        Example: a network trained coarse-only, run on the device dynamics (the fine forward):
          bruno evaluate --run runs/braille-coarse --set felif.mode=bruno
        """
    )

    @Option(name: .customLong("run"), help: "Run folder (holds config.toml and checkpoint.json).") var runFolder: String
    @Option(name: .customLong("set"), help: "Override a setting of the run's config: table.key=value (repeatable).") var overrides: [String] = []

    func run() throws {
        let folder = URL(fileURLWithPath: runFolder)
        do {
            let c = try TrainingConfig.load(folder.appendingPathComponent("config.toml"), overrides: overrides)
            var t = try Trainer(config: c)
            let epoch = try t.loadCheckpoint(from: folder)
            let e = t.evaluate(t.data.test, chip: t.chip(), stream: 0x7E57 &+ UInt64(epoch))
            var line = "\(runFolder) (epoch \(epoch)\(overrides.isEmpty ? "" : ", " + overrides.joined(separator: " "))): test loss \(String(format: "%.4f", e.loss))"
            if let a = e.accuracy { line += String(format: ", accuracy %.3f", a) }
            if let n = e.nll { line += String(format: ", NLL %.3f nats/step", n) }
            print(line)
        } catch {
            throw userFacing(error)
        }
    }
}
