import BrunoSupport
import BrunoSurrogates
import BrunoTraining
import Foundation

/// `bruno-bench fine-loop K [reps]`: the Braille network's FeLIF output layer alone (batch 128 × 27 neurons, 102 ms),
/// on the currents it receives from the untrained network, in Double and Float32 (each SIMD build): seconds per
/// forward, ns per neuron-sub-step per core, and how far Float32's spike trains are from Double's.
enum FineLoopBench {
    static func run(_ k: Int, reps: Int) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let c = try TrainingConfig.load(root.appendingPathComponent("experiments/braille-synthetic.toml"),
                                        overrides: ["run.batch=128", "felif.fine_steps=\(k)"])
        let data = try ExperimentData.load(c)
        let (net, _) = try Network.build(c, data: data)
        let steps = 102, batch = 128
        let samples = Array(data.train.samples.prefix(batch))
        var x = [Float](repeating: 0, count: steps * batch * data.channels)
        for (b, s) in samples.enumerated() {
            for t in 0..<steps { for ch in 0..<data.channels { x[(t * batch + b) * data.channels + ch] = s.values[t * data.channels + ch] } }
        }
        var rng = SeededRandom(seed: 3)
        let pass = net.forward(x, steps: steps, batch: batch, rng: &rng)
        // The FeLIF layer's input: the activation entering the last layer.
        guard case .felif(var layer, _) = net.layers.last! else { fatalError("the Braille network ends in FeLIF") }
        guard case .felif(let seen) = pass.tapes.last! else { fatalError("no FeLIF tape") }
        let input = seen.currents.map { Float($0 / layer.inputScale) }
        let lanes = batch * layer.neurons
        layer.precision = .float64
        let reference = layer.forward(input, steps: steps, batch: batch)
        let t64 = Harness.measure(warmup: 1, repeats: reps) { _ = layer.forward(input, steps: steps, batch: batch) }
        let work = Double(lanes * steps * k)
        print(String(format: "K=%d float64: %.4f s per forward, %.2f ns per neuron-sub-step per core (%d threads)",
                     k, t64.median, t64.median * Double(Parallel.workers) / work * 1e9, Parallel.workers))
        layer.precision = .float32
        let t32 = Harness.measure(warmup: 1, repeats: reps) { _ = layer.forward(input, steps: steps, batch: batch) }
        let f = layer.forward(input, steps: steps, batch: batch)
        var sameTrain = 0, sameCount = 0, spikes64 = 0, spikes32 = 0
        for lane in 0..<lanes {
            var same = true, n64 = 0, n32 = 0
            for t in 0..<steps {
                let a = reference.spikes[t * lanes + lane], b = f.spikes[t * lanes + lane]
                if a != b { same = false }
                n64 += Int(a); n32 += Int(b)
            }
            sameTrain += same ? 1 : 0; sameCount += n64 == n32 ? 1 : 0; spikes64 += n64; spikes32 += n32
        }
        print(String(format: "K=%d float32 (%@): %.4f s per forward, %.2f ns per neuron-sub-step per core; spikes %d vs %d, "
                     + "identical trains %d/%d, same counts %d/%d", k, FineLoopKernel.selected.rawValue, t32.median,
                     t32.median * Double(Parallel.workers) / work * 1e9, spikes32, spikes64, sameTrain, lanes, sameCount, lanes))
    }
}
