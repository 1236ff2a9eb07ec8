import BrunoSupport
import BrunoSurrogates
import BrunoTraining
import Foundation

/// `bruno-bench braille-profile VARIANT`: where one Braille training step's time goes, layer by layer (forward,
/// backward, loss, optimizer), median of 7 steps after 1 warm-up — the sections `Network.forward/backward` run,
/// called one by one with the same arguments.
enum StepProfile {
    static func run(_ variant: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var overrides = ["run.batch=128"]
        // FAST_NOISE=1: the ziggurat read/programming noise (`[network] fast_noise`).
        if ProcessInfo.processInfo.environment["FAST_NOISE"] == "1" { overrides.append("network.fast_noise=true") }
        if let p = ProcessInfo.processInfo.environment["PRECISION"], variant != "lif" { overrides.append("felif.precision=\"\(p)\"") }
        if variant == "lif" { overrides.append("network.output=\"lif\"") } else { overrides.append("felif.fine_steps=\(Int(variant.dropFirst(5))!)") }
        let c = try TrainingConfig.load(root.appendingPathComponent("experiments/braille-synthetic.toml"), overrides: overrides)
        let data = try ExperimentData.load(c)
        var (net, _) = try Network.build(c, data: data)
        let steps = 102, batch = 128
        let samples = Array(data.train.samples.prefix(batch))
        var x = [Float](repeating: 0, count: steps * batch * data.channels)
        for (b, s) in samples.enumerated() { for t in 0..<steps { for ch in 0..<data.channels { x[(t * batch + b) * data.channels + ch] = s.values[t * data.channels + ch] } } }
        var opt = Optimizer(kind: .adamax, learningRate: 1e-3)
        var sections: [String: [Double]] = [:]
        var order: [String] = []
        func timed<T>(_ name: String, _ body: () -> T) -> T {
            let t0 = Harness.now()
            let r = body()
            if !order.contains(name) { order.append(name) }
            sections[name, default: []].append(Harness.now() - t0)
            return r
        }
        for rep in 0..<8 {
            if rep == 1 { sections = [:] }
            var rng = SeededRandom(seed: 3)
            var a = Matrix(rows: steps * batch, cols: data.channels, values: x)
            var tapes: [Network.Tape] = []
            for (i, layer) in net.layers.enumerated() {
                switch layer {
                case .encoding(let e):
                    a = timed("fwd \(i) encoding") { Matrix(rows: a.rows, cols: e.neurons, values: e.forward(a.values, steps: steps, batch: batch)) }
                    tapes.append(.none)
                case .linear(let l):
                    if i == 1 {
                        // The first linear layer's parts, timed separately (not used further).
                        let w = timed("  part: realise RRAM weights") { l.synapses.realise(l.weights, rng: &rng) }
                        _ = timed("  part: x·W̃ product") { MatrixProduct.multiply(a, w.weights) }
                        _ = timed("  part: x²·W̃² product (read-noise variance)") {
                            var x2 = a, w2 = w.weights
                            for k in x2.values.indices { x2.values[k] *= x2.values[k] }
                            for k in w2.values.indices { w2.values[k] *= w2.values[k] }
                            return MatrixProduct.multiply(x2, w2)
                        }
                        _ = timed("  part: normal draws, one thread") {
                            var xi = [Float](repeating: 0, count: a.rows * l.weights.cols)
                            rng.fillStandardNormal(&xi)
                            return xi
                        }
                    }
                    let (y, tape) = timed("fwd \(i) linear \(l.weights.rows)→\(l.weights.cols)") { l.forward(a, rng: &rng) }
                    a = y
                    tapes.append(.linear(tape))
                case .lif(let l):
                    let tape = timed("fwd \(i) LIF") { l.forward(a.values, steps: steps) }
                    a = Matrix(rows: a.rows, cols: a.cols, values: tape.spikes)
                    tapes.append(.lif(tape))
                case .felif(let f, _):
                    let tape = timed("fwd \(i) FeLIF") { f.forward(a.values, steps: steps, batch: batch) }
                    a = Matrix(rows: a.rows, cols: a.cols, values: tape.spikes)
                    tapes.append(.felif(tape))
                default: fatalError("not in the Braille network: \(layer)")
                }
            }
            let l = timed("loss") { Loss.spikeCountCrossEntropy(spikes: a.values, steps: steps, batch: batch, classes: 27, labels: samples.map { $0.label! }) }
            var g = Matrix(rows: a.rows, cols: 27, values: l.gradient)
            var grads: [[Float]] = []
            for (i, layer) in net.layers.enumerated().reversed() {
                switch (layer, tapes[i]) {
                case (.linear(let lin), .linear(let tape)):
                    var first = i == 0
                    if i > 0, case .encoding = net.layers[i - 1] { first = true }
                    let (gw, gb, gx) = timed("bwd \(i) linear") { lin.backward(tape, g, needInput: !first) }
                    grads += [gb, gw.values]
                    g = gx
                case (.lif(let lif), .lif(let tape)):
                    g = timed("bwd \(i) LIF") { Matrix(rows: g.rows, cols: g.cols, values: lif.backward(tape, spikeGradients: g.values)) }
                case (.felif(let f, _), .felif(let tape)):
                    g = timed("bwd \(i) FeLIF") { Matrix(rows: g.rows, cols: g.cols, values: f.backward(tape, spikeGradients: g.values, voltageGradients: nil)) }
                default: break
                }
            }
            grads.reverse()
            timed("optimizer (get/set parameters + Adamax)") {
                var p = net.parameters
                opt.update(&p, gradients: grads)
                net.parameters = p
            }
        }
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s[s.count / 2] }
        let total = order.map { median(sections[$0]!) }.reduce(0, +)
        print("| section (\(variant), batch 128, 102 steps, \(ProcessInfo.processInfo.environment["BRUNO_THREADS"] ?? "default") threads) | ms | share |")
        print("|---|---|---|")
        for name in order {
            let m = median(sections[name]!)
            print(String(format: "| %@ | %.1f | %.0f %% |", name, m * 1e3, m / total * 100))
        }
        print(String(format: "| total | %.1f | |", total * 1e3))
    }
}
