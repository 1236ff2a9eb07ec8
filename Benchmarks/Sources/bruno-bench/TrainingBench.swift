import BrunoSupport
import BrunoSurrogates
import BrunoTraining
import Foundation

/// BRUNO against fine-grid BPTT, same network and data in one run. Each (mode, T) runs in its own child process
/// so that its peak RSS is its own; time is the median of a few forward + backward passes.
enum TrainingBench {
    /// `bruno-bench felif-step MODE T BATCH K`: one measurement, printed as one line.
    static func child(_ args: [String]) throws {
        let mode = FeLIFMode(rawValue: args[0])!, steps = Int(args[1])!, batch = Int(args[2])!, k = Int(args[3])!
        var rng = SeededRandom(seed: 1)
        // The reference's scaling network: Linear(32→64) → FeLIF(64), input currents from random inputs.
        let linear = LinearLayer(inputs: 32, outputs: 64, synapses: .float, bias: true, rng: &rng)
        var felif = FeLIFLayer(neurons: 64, surrogate: .reference, variation: 0.02, rng: &rng,
                               stepping: .init(fineSteps: k, mode: mode), inputScale: 1e-9)
        // BRUNO in the training default's precision (Float32; PRECISION=float64 for Double); BPTT is always Double.
        if mode == .bruno || mode == .coarseOnly {
            let name = ProcessInfo.processInfo.environment["PRECISION"] ?? "float32"
            guard let precision = FinePrecision(rawValue: name) else { fatalError("PRECISION=\(name): expected float32 or float64") }
            felif.precision = precision
        }
        let net = Network(inputs: 32, layers: [.linear(linear), .felif(felif, output: .spikes)])
        let x = (0..<(steps * batch * 32)).map { _ in Float(rng.uniform()) }
        var stored = 0
        let reps = steps >= 500 ? 1 : 3
        let t = Harness.measure(warmup: 1, repeats: reps) {
            var r = SeededRandom(seed: 2)
            let pass = net.forward(x, steps: steps, batch: batch, rng: &r)
            stored = pass.storedBytes
            let g = Matrix(rows: pass.output.rows, cols: pass.output.cols, values: pass.output.values.map { $0 - 0.05 })
            _ = net.backward(pass, outputGradient: g, steps: steps, batch: batch)
        }
        print(String(format: "%@ %d %.4f %.1f %.1f", mode.rawValue, steps, t.median, Harness.peakRSSMegabytes(), Double(stored) / 1e6))
    }

    /// `bruno-bench braille-step VARIANT`: one training step (forward, backward, Adamax) of the paper's Braille
    /// network, batch 128, 102 steps — the shape of the JAX peer's table.
    static func brailleChild(_ variant: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var overrides = ["run.batch=128"]
        // FAST_NOISE=1: the ziggurat read/programming noise (`[network] fast_noise`).
        if ProcessInfo.processInfo.environment["FAST_NOISE"] == "1" { overrides.append("network.fast_noise=true") }
        // PRECISION=float32|float64: the fine forward's arithmetic (`[felif] precision`; default: the config's).
        if let p = ProcessInfo.processInfo.environment["PRECISION"], variant != "lif" { overrides.append("felif.precision=\"\(p)\"") }
        switch variant {
        case "lif": overrides.append("network.output=\"lif\"")
        default: overrides.append("felif.fine_steps=\(Int(variant.dropFirst(5))!)")   // "felif1000"
        }
        let c = try TrainingConfig.load(root.appendingPathComponent("experiments/braille-synthetic.toml"), overrides: overrides)
        let data = try ExperimentData.load(c)
        var (net, _) = try Network.build(c, data: data)
        let samples = Array(data.train.samples.prefix(128))
        var x = [Float](repeating: 0, count: 102 * 128 * data.channels)
        for (b, s) in samples.enumerated() { for t in 0..<102 { for ch in 0..<data.channels { x[(t * 128 + b) * data.channels + ch] = s.values[t * data.channels + ch] } } }
        var opt = Optimizer(kind: .adamax, learningRate: 1e-3)
        let t = Harness.measure(warmup: 1, repeats: variant == "felif1000" ? 3 : 7) {
            var r = SeededRandom(seed: 3)
            let pass = net.forward(x, steps: 102, batch: 128, rng: &r)
            let l = Loss.spikeCountCrossEntropy(spikes: pass.output.values, steps: 102, batch: 128, classes: 27, labels: samples.map { $0.label! })
            let g = net.backward(pass, outputGradient: Matrix(rows: pass.output.rows, cols: 27, values: l.gradient), steps: 102, batch: 128)
            var p = net.parameters
            opt.update(&p, gradients: g)
            net.parameters = p
        }
        print(String(format: "%@ %.3f %.0f", variant, t.median, Harness.peakRSSMegabytes()))
    }

    static func spawn(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        p.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func run() throws {
        print("\n## Training: one step of the paper's Braille network (batch 128, 102 steps, 3-bit RRAM, forward + backward + Adamax)\n")
        print("| output neurons, sub-steps K | s per step | peak RSS MB |\n|---|---|---|")
        for v in ["felif1000", "felif100", "felif10", "lif"] {
            let f = try spawn(["braille-step", v]).split(separator: " ")
            let name = v == "lif" ? "LIF" : "FeLIF BRUNO, K = \(v.dropFirst(5))"
            print("| \(name) | \(f[1]) | \(f[2]) |")
        }
        print("\n## Training: BRUNO vs fine-grid BPTT, Linear(32→64) → FeLIF(64), batch 4, K = 1000, one forward + backward\n")
        print("| T | BRUNO s | BPTT (store all) s | BPTT checkpointed s | BRUNO MB (RSS / stored) | BPTT MB (RSS / stored) | checkpointed MB (RSS / stored) | time BRUNO/BPTT | stored BRUNO/BPTT |")
        print("|---|---|---|---|---|---|---|---|---|")
        for steps in [50, 100, 200, 500] {
            var r: [String: [Substring]] = [:]
            for m in ["bruno", "bptt", "bpttCheckpointed"] { r[m] = try spawn(["felif-step", m, "\(steps)", "4", "1000"]).split(separator: " ") }
            let tb = Double(r["bruno"]![2])!, tp = Double(r["bptt"]![2])!, sb = Double(r["bruno"]![4])!, sp = Double(r["bptt"]![4])!
            print("| \(steps) | \(r["bruno"]![2]) | \(r["bptt"]![2]) | \(r["bpttCheckpointed"]![2]) | \(r["bruno"]![3]) / \(r["bruno"]![4]) | \(r["bptt"]![3]) / \(r["bptt"]![4]) | \(r["bpttCheckpointed"]![3]) / \(r["bpttCheckpointed"]![4]) | "
                + String(format: "%.2f | %.4f |", tb / tp, sb / sp))
        }
    }
}
