import ArgumentParser
import BrunoDevices
import BrunoSpice
import BrunoSupport
import Foundation

struct Column: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a FeLIF column netlist: N RRAM synapses with Poisson input spikes into one FeLIF neuron.",
        discussion: "Synapse levels and input spikes are drawn from --seed; the netlist runs with `bruno sim` or plain ngspice."
    )

    @Option(help: "Number of synapses.") var synapses = 8
    @Option(help: "Mean input spike rate per synapse [Hz].") var rate = 200.0
    @Option(help: "Simulated time [s] (SPICE numbers allowed, e.g. 50m).") var duration = "50m"
    @Option(help: "Seed of the random synapse levels and input spikes.") var seed: UInt64 = 1
    @Option(help: "Summing-line to membrane current gain.") var gain = 1e-5
    @Option(help: "Output netlist.") var out: String

    func run() throws {
        guard let d = SpiceNumber.parse(duration), d > 0 else { throw CLIError("--duration must be a positive time, e.g. 50m (got \(duration)).") }
        guard synapses >= 1 else { throw CLIError("--synapses must be at least 1.") }
        let library = try DeviceLibrary.locate()
        var column = FeLIFColumn.example(count: synapses, duration: d, rate: rate, seed: seed)
        column.currentGain = gain
        let outURL = URL(fileURLWithPath: out).standardizedFileURL
        // Relative includes when the file lands next to the shipped netlists, absolute otherwise.
        let folder = { (u: URL) in u.standardizedFileURL.resolvingSymlinksInPath().path.trimmingCharacters(in: CharacterSet(charactersIn: "/")) }
        let modelsPath = folder(outURL.deletingLastPathComponent()) == folder(library.netlists) ? "../models" : nil
        let text = try column.text(library: library, modelsPath: modelsPath,
                                   comment: "bruno column --synapses \(synapses) --rate \(rate) --duration \(duration) --seed \(seed) --gain \(gain)")
        try AtomicFile.write(text, to: outURL)
        print("wrote \(out): \(synapses) synapses, \(column.inputSpikes.map(\.count).reduce(0, +)) input spikes over \(duration)s (seed \(seed))")
    }
}
