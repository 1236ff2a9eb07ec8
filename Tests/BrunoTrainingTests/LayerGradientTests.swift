import BrunoSupport
import BrunoSurrogates
import Foundation
import XCTest
@testable import BrunoTraining

/// Finite-difference checks of every layer's and loss's hand-written backward pass.
final class LayerGradientTests: XCTestCase {
    func testLinearLayerGradientsMatchFiniteDifferences() {
        var rng = SeededRandom(seed: 1)
        var layer = LinearLayer(inputs: 5, outputs: 3, synapses: .float, bias: true, rng: &rng)
        layer.bias = [0.1, -0.2, 0.3]
        var x = Matrix(rows: 4, cols: 5)
        for i in x.values.indices { x.values[i] = Float(rng.gaussian()) }
        var gy = Matrix(rows: 4, cols: 3)
        for i in gy.values.indices { gy.values[i] = Float(rng.gaussian()) }
        func loss(_ l: LinearLayer, _ x: Matrix) -> Double {
            var r = SeededRandom(seed: 0)
            let y = l.forward(x, rng: &r).0
            return zip(y.values, gy.values).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        var r = SeededRandom(seed: 0)
        let (_, tape) = layer.forward(x, rng: &r)
        let (gw, gb, gx) = layer.backward(tape, gy)
        let eps: Float = 1e-2
        for i in layer.weights.values.indices {
            var up = layer, down = layer
            up.weights.values[i] += eps; down.weights.values[i] -= eps
            XCTAssertEqual(Double(gw.values[i]), (loss(up, x) - loss(down, x)) / Double(2 * eps), accuracy: 1e-3)
        }
        for i in layer.bias.indices {
            var up = layer, down = layer
            up.bias[i] += eps; down.bias[i] -= eps
            XCTAssertEqual(Double(gb[i]), (loss(up, x) - loss(down, x)) / Double(2 * eps), accuracy: 1e-3)
        }
        for i in x.values.indices {
            var up = x, down = x
            up.values[i] += eps; down.values[i] -= eps
            XCTAssertEqual(Double(gx.values[i]), (loss(layer, up) - loss(layer, down)) / Double(2 * eps), accuracy: 1e-3)
        }
    }

    /// The LIF layer's BPTT equals the derivative of a smooth stand-in: with the Heaviside replaced by the
    /// surrogate's antiderivative in the forward pass the two are the same function, so finite differences
    /// check the recurrences (α, β, the detached reset) exactly. Here: sub-threshold inputs (no spikes), loss on
    /// the membrane.
    func testLIFLayerGradientMatchesFiniteDifferencesOnTheMembrane() {
        let layer = LIFLayer(alpha: 0.6, beta: 0.85, threshold: 100)
        let steps = 12, lanes = 3
        var rng = SeededRandom(seed: 2)
        let x = (0..<(steps * lanes)).map { _ in Float(rng.gaussian()) }
        let w = (0..<(steps * lanes)).map { _ in Float(rng.gaussian()) }
        let tape = layer.forward(x, steps: steps)
        let g = layer.backward(tape, spikeGradients: [Float](repeating: 0, count: x.count), membraneGradients: w)
        func loss(_ x: [Float]) -> Double {
            zip(layer.forward(x, steps: steps).membrane, w).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        for i in x.indices {
            var up = x, down = x
            up[i] += 1e-2; down[i] -= 1e-2
            XCTAssertEqual(Double(g[i]), (loss(up) - loss(down)) / 2e-2, accuracy: 2e-3)
        }
    }

    /// With spikes, dL/dx of a spike loss is Σ surrogate'(mem − θ)·(chain through α, β) — checked against the same
    /// recurrence written out by hand for one lane.
    func testLIFSpikeGradientFollowsTheSurrogateChain() {
        let layer = LIFLayer(alpha: 0, beta: 0.5, threshold: 1, spikeGradient: .fastSigmoid(slope: 10))
        let x: [Float] = [0.8, 0.7, 0.1]
        let tape = layer.forward(x, steps: 3)
        XCTAssertEqual(tape.spikes, [0, 1, 0])
        let g = layer.backward(tape, spikeGradients: [0, 0, 1])
        // mem = [0.8, 1.1, 0.5·1.1 + 0.1 − 1 = −0.35]; dL/dmem2 = σ'(−1.35); dmem2/dx_t = β^(2−t).
        let d = Float(1 / (1 + 10 * 1.35))
        XCTAssertEqual(g[2], d, accuracy: 1e-6)
        XCTAssertEqual(g[1], 0.5 * d, accuracy: 1e-6)
        XCTAssertEqual(g[0], 0.25 * d, accuracy: 1e-6)
    }

    func testSpikeCountCrossEntropyGradientMatchesFiniteDifferences() {
        // The loss depends on spikes only through counts: perturb counts via a fractional "spike".
        let steps = 3, batch = 2, classes = 4
        var rng = SeededRandom(seed: 4)
        let s = (0..<(steps * batch * classes)).map { _ in Float(rng.uniform() < 0.5 ? 1 : 0) }
        let labels = [2, 0]
        let r = Loss.spikeCountCrossEntropy(spikes: s, steps: steps, batch: batch, classes: classes, labels: labels)
        for i in s.indices {
            var up = s, down = s
            up[i] += 0.01; down[i] -= 0.01
            let fd = (Loss.spikeCountCrossEntropy(spikes: up, steps: steps, batch: batch, classes: classes, labels: labels).loss
                - Loss.spikeCountCrossEntropy(spikes: down, steps: steps, batch: batch, classes: classes, labels: labels).loss) / 0.02
            XCTAssertEqual(Double(r.gradient[i]), fd, accuracy: 1e-4)
        }
        // A silent network predicts nothing (ties are not counted as correct).
        let silent = Loss.spikeCountCrossEntropy(spikes: [Float](repeating: 0, count: s.count), steps: steps, batch: batch, classes: classes, labels: [0, 0])
        XCTAssertEqual(silent.correct, 0)
        XCTAssertEqual(silent.loss, Foundation.log(4), accuracy: 1e-12)
    }

    func testBinaryCrossEntropyGradientWarmupAndMask() {
        let steps = 4, batch = 2, keys = 3
        var rng = SeededRandom(seed: 5)
        let logits = (0..<(steps * batch * keys)).map { _ in Float(rng.gaussian() * 2) }
        let targets = (0..<(steps * batch * keys)).map { _ in Float(rng.uniform() < 0.3 ? 1 : 0) }
        var mask = [Float](repeating: 1, count: steps * batch)
        mask[3 * batch + 1] = 0   // sample 1 ends after step 2
        let r = Loss.binaryCrossEntropy(logits: logits, targets: targets, mask: mask, steps: steps, batch: batch, keys: keys, warmup: 1)
        XCTAssertEqual(r.countedSteps, 5)
        for i in logits.indices {
            var up = logits, down = logits
            up[i] += 1e-3; down[i] -= 1e-3
            let fd = (Loss.binaryCrossEntropy(logits: up, targets: targets, mask: mask, steps: steps, batch: batch, keys: keys, warmup: 1).loss
                - Loss.binaryCrossEntropy(logits: down, targets: targets, mask: mask, steps: steps, batch: batch, keys: keys, warmup: 1).loss) / 2e-3
            XCTAssertEqual(Double(r.gradient[i]), fd, accuracy: 1e-4)
            let t = i / (batch * keys), b = (i / keys) % batch
            if t < 1 || (t == 3 && b == 1) { XCTAssertEqual(r.gradient[i], 0) }
        }
        // NLL per step summed over keys = mean BCE × keys.
        XCTAssertEqual(r.nllPerStep, r.loss * Double(keys), accuracy: 1e-9)
    }

    /// The whole network's gradient (Linear → FeLIF membrane readout → Linear, float synapses) against finite
    /// differences of its forward pass: the chain through every layer's backward is consistent. BPTT mode on a
    /// sub-threshold regime, where the forward is differentiable.
    /// Linear 2→3 → 3 FeLIF cells (membrane out, below threshold: ≈ 150 pA drive, V clear of the leak's sign
    /// change at 0 V) → `tail`, with 5 steps × 2 samples of input `x` and the loss Σ output·w; the forward pass
    /// with the loss's own stream.
    private func membraneCase(seed: UInt64, tail: (inout SeededRandom) -> [NetworkLayer])
        -> (net: Network, x: [Float], w: [Float], loss: (Network) -> Double, pass: Network.Pass)
    {
        var rng = SeededRandom(seed: seed)
        let stepping = FeLIFStepping(coarseStep: 1e-3, fineSteps: 1000, mode: .bptt)
        let felif = FeLIFLayer(devices: [FeLIFSurrogate](repeating: .reference, count: 3), stepping: stepping, inputScale: 1e-10)
        var net = Network(inputs: 2, layers: [
            .linear(LinearLayer(inputs: 2, outputs: 3, synapses: .float, bias: true, rng: &rng)),
            .felif(felif, output: .membrane),
        ] + tail(&rng))
        var p = net.parameters
        p[1] = [1.5, 1.5, 1.5]
        net.parameters = p
        let steps = 5, batch = 2
        let x = (0..<(steps * batch * 2)).map { _ in Float(rng.uniform()) }
        let w = (0..<(steps * batch * 2)).map { _ in Float(rng.gaussian()) }
        func loss(_ n: Network) -> Double {
            var r = SeededRandom(seed: 0)
            return zip(n.forward(x, steps: steps, batch: batch, rng: &r).output.values, w).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        var r = SeededRandom(seed: 0)
        return (net, x, w, loss, net.forward(x, steps: steps, batch: batch, rng: &r))
    }

    func testNetworkGradientMatchesFiniteDifferences() {
        let (net, _, w, loss, pass) = membraneCase(seed: 6) { rng in
            [.linear(LinearLayer(inputs: 3, outputs: 2, synapses: .float, bias: true, rng: &rng))]
        }
        let steps = 5, batch = 2
        XCTAssertEqual(pass.spikeCounts[1], 0)
        let grads = net.backward(pass, outputGradient: Matrix(rows: steps * batch, cols: 2, values: w), steps: steps, batch: batch)
        assertGradientsMatchFiniteDifferences(grads, of: net, loss: loss)
    }

    /// An echo-state readout (`readout_input`): the readout sees the FeLIF membrane and the network's input of the
    /// same step. Every parameter's gradient, the first layer's included (reached only through the membrane
    /// columns), against finite differences; the readout's weights on the input columns get the input's gradient.
    func testReadoutBesideTheInputMatchesFiniteDifferences() {
        let (net, x, w, loss, pass) = membraneCase(seed: 9) { rng in
            [.appendInput(features: 3), .linear(LinearLayer(inputs: 5, outputs: 2, synapses: .float, bias: true, rng: &rng))]
        }
        let steps = 5, batch = 2
        XCTAssertEqual(pass.output.cols, 2)
        // The readout's input rows are [membrane | x]: its gradient on the input columns is Σ x·w exactly.
        let grads = net.backward(pass, outputGradient: Matrix(rows: steps * batch, cols: 2, values: w), steps: steps, batch: batch)
        XCTAssertEqual(grads.count, 4)
        for k in 0..<2 {
            for o in 0..<2 {
                var exact = 0.0
                for row in 0..<(steps * batch) { exact += Double(x[row * 2 + k]) * Double(w[row * 2 + o]) }
                XCTAssertEqual(Double(grads[2][(3 + k) * 2 + o]), exact, accuracy: 1e-4, "readout weight input \(k) → output \(o)")
            }
        }
        assertGradientsMatchFiniteDifferences(grads, of: net, loss: loss)
        XCTAssertGreaterThan(grads[0].map { abs($0) }.max()!, 1e-4, "the first layer learns through the membrane columns")
    }

    /// Every entry of every trainable tensor of `net`: `grads` against central differences of `loss` (step 10⁻²).
    private func assertGradientsMatchFiniteDifferences(_ grads: [[Float]], of net: Network, loss: (Network) -> Double,
                                                       file: StaticString = #filePath, line: UInt = #line) {
        let p = net.parameters
        for t in 0..<p.count {
            for i in p[t].indices {
                var up = p, down = p
                up[t][i] += 1e-2; down[t][i] -= 1e-2
                var nu = net, nd = net
                nu.parameters = up; nd.parameters = down
                let fd = (loss(nu) - loss(nd)) / 2e-2
                XCTAssertEqual(Double(grads[t][i]), fd, accuracy: 2e-3 * max(1, abs(fd)), "tensor \(t) entry \(i)", file: file, line: line)
            }
        }
    }
}
