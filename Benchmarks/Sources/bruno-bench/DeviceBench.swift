import BrunoDevices
import BrunoSpice
import BrunoSupport
import Foundation

/// Issue 3: first-spike times against the reference table, and wall time per simulated ms of each netlist.
enum DeviceBench {
    static func run() throws {
        let library = try DeviceLibrary.locate()
        let spice = try SpiceInstance()

        print("\n### FeLIF neuron netlist vs the reference equations (constant input, reference defaults)\n")
        print("| input | first spike (netlist) | reference | mean ISI (netlist) | reference |")
        print("|---|---|---|---|---|")
        let reference: [(Double, String, String)] = [(50e-12, "none in 300 ms", "—"), (100e-12, "≈ 138 ms", "≈ 148 ms"), (200e-12, "≈ 65 ms", "≈ 71 ms"),
                                                     (500e-12, "≈ 25 ms", "≈ 29 ms"), (1e-9, "≈ 12 ms", "≈ 15 ms")]
        for (i, refFirst, refISI) in reference {
            let trace = try FeLIFNeuronBench(input: .constant(i), duration: 300e-3).run(on: spice, library: library)
            let first = trace.firstSpike.map { String(format: "%.2f ms", $0 * 1e3) } ?? "none in 300 ms"
            let isi = trace.meanInterval.map { String(format: "%.2f ms", $0 * 1e3) } ?? "—"
            print("| \(SVGPlot.si(i))A | \(first) | \(refFirst) | \(isi) | \(refISI) |")
        }

        print("\n### Wall time of each netlist (median of 5 runs after 1 warm-up, one core, in-process ngspice)\n")
        print("| netlist | simulated | wall ms | wall s per simulated ms |")
        print("|---|---|---|---|")
        var rng = SeededRandom(seed: 3)
        let randomInput = (0..<100).map { _ in 1e-9 * rng.uniform() }
        let cases: [(String, Double, Netlist)] = [
            ("felif_neuron.cir (500 pA, as shipped)", 100e-3, try Netlist(contentsOf: library.netlist("felif_neuron.cir"))),
            ("FeLIF bench, random 1 ms windows 0–1 nA", 100e-3, try FeLIFNeuronBench(input: .piecewise(window: 1e-3, currents: randomInput), duration: 100e-3).netlist(library: library)),
            ("FeCap P–E loop, 1 kHz, 2 periods", 2e-3, try FeCapLoop().netlist(library: library)),
            ("rram_program.cir (RESET, SET, read)", 29e-6, try Netlist(contentsOf: library.netlist("rram_program.cir"))),
            ("rram_iv.cir (one 2 ms loop)", 2e-3, try Netlist(contentsOf: library.netlist("rram_iv.cir"))),
            ("felif_column.cir (8 synapses, 416 input spikes)", 50e-3, try Netlist(contentsOf: library.netlist("felif_column.cir"))),
            ("column, 100 synapses at 100 Hz", 100e-3, try FeLIFColumn.example(count: 100, duration: 100e-3, rate: 100, seed: 4).netlist(library: library)),
        ]
        for (name, simulated, deck) in cases {
            let t = try Harness.measure(warmup: 1, repeats: 5) { _ = try spice.simulate(deck) }
            print("| \(name) | \(SVGPlot.si(simulated))s | \(Harness.ms(t.median)) | \(String(format: "%.2g", t.median / (simulated * 1e3))) |")
        }
    }
}
