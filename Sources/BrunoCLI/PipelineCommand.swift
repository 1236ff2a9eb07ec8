import ArgumentParser
import BrunoCalibration
import BrunoData
import BrunoDevices
import BrunoExport
import BrunoSpice
import BrunoSupport
import BrunoTraining
import BrunoValidation
import Foundation

struct PipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Calibrate (reusing committed cards), train with SPICE checks, export, and write report.md.",
        discussion: """
        With no arguments: the default synthetic-Braille experiment (experiments/braille-synthetic.toml) into runs/pipeline, \
        about 4 minutes on a 2-core machine. Re-running continues an interrupted training from its checkpoint.
        """
    )

    @Option(help: "Experiment file (default: experiments/braille-synthetic.toml).") var config: String?
    @Option(name: .customLong("set"), help: "Override a setting: table.key=value (repeatable).") var overrides: [String] = []
    @Option(help: "Output folder.") var out = "runs/pipeline"

    func run() async throws {
        let library = try DeviceLibrary.locate()
        let configURL = config.map { URL(fileURLWithPath: $0) } ?? library.root.appendingPathComponent("experiments/braille-synthetic.toml")
        do {
            try await Pipeline(config: configURL, overrides: overrides, out: URL(fileURLWithPath: out), library: library).run(log: say)
        } catch {
            throw userFacing(error)
        }
    }
}
