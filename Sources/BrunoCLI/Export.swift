import ArgumentParser
import BrunoCalibration
import BrunoData
import BrunoDevices
import BrunoExport
import BrunoSupport
import BrunoTraining
import BrunoValidation
import Foundation

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a trained run's device cards, SPICE parameter blocks, synapse table and trained layer netlist.",
        discussion: "Files and units are explained in OUT/README.md (and docs/export.md)."
    )

    @Option(name: .customLong("run"), help: "Run folder (holds config.toml, run.json and checkpoint.json).") var runFolder: String
    @Option(help: "Output folder.") var out: String
    @Option(help: "Test sample for network.cir (default: the first that drives the FeLIF layer).") var sample: Int?

    func run() throws {
        do {
            let summary = try RunExport(run: URL(fileURLWithPath: runFolder), library: try DeviceLibrary.locate())
                .write(to: URL(fileURLWithPath: out), sample: sample)
            say("wrote \(summary.files.count) files to \(out): \(summary.files.joined(separator: ", "))")
            say("network.cir: test sample \(summary.sample); surrogate spike counts \(summary.expectedCounts)"
                + (summary.expectedClass.map { ", predicted class \($0)" } ?? "") + "; \(summary.synapses) synapses in synapses.csv")
            for n in summary.notes { say("note: \(n)") }
        } catch {
            throw userFacing(error)
        }
    }
}
