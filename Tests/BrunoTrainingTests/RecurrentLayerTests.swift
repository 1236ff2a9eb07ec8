import BrunoSupport
import BrunoSurrogates
import XCTest
@testable import BrunoTraining

/// The recurrent hidden layer's hand-written BPTT against finite differences, and its reduction to `LIFLayer`.
final class RecurrentLayerTests: XCTestCase {
    /// With the Heaviside replaced by the surrogate's antiderivative (and the detached reset fed from a fixed
    /// spike train) the forward pass is the smooth function whose gradient the backward computes: every entry of
    /// dL/dx and dL/dW̃ must match central differences, through α, β and the recurrent path s[t−1]·W̃.
    func testRecurrentGradientsMatchFiniteDifferences() {
        var rng = SeededRandom(seed: 11)
        let n = 4, steps = 9, batch = 2
        let lif = LIFLayer(alpha: 0.5, beta: 0.8, threshold: 0.6, spikeGradient: .tanhSquared)
        var layer = RecurrentLIFLayer(neurons: n, lif: lif, synapses: .float, rng: &rng, gain: 3, scale: 0.5)
        let x = (0..<(steps * batch * n)).map { _ in Float(rng.gaussian()) * 0.8 }
        let c = (0..<(steps * batch * n)).map { _ in Float(rng.gaussian()) }
        let resets = (0..<(steps * batch * n)).map { _ in Float(rng.uniform() < 0.3 ? 1 : 0) }
        func loss(_ l: RecurrentLIFLayer, _ x: [Float]) -> Double {
            var r = SeededRandom(seed: 0)
            let tape = l.forward(x, steps: steps, batch: batch, rng: &r, realised: nil, spikeFunction: .smooth(resets: resets))
            return zip(tape.spikes, c).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        var r = SeededRandom(seed: 0)
        let tape = layer.forward(x, steps: steps, batch: batch, rng: &r, realised: nil, spikeFunction: .smooth(resets: resets))
        let (gx, gw) = layer.backward(tape, spikeGradients: c)
        let eps: Float = 1e-3
        for i in x.indices {
            var up = x, down = x
            up[i] += eps; down[i] -= eps
            XCTAssertEqual(Double(gx[i]), (loss(layer, up) - loss(layer, down)) / Double(2 * eps), accuracy: 2e-3, "dL/dx[\(i)]")
        }
        let w = layer.recurrent.weights
        for i in w.values.indices {
            var up = layer, down = layer
            up.recurrent.weights.values[i] += eps; down.recurrent.weights.values[i] -= eps
            XCTAssertEqual(Double(gw.values[i]), (loss(up, x) - loss(down, x)) / Double(2 * eps), accuracy: 2e-3, "dL/dW[\(i)]")
        }
        // The recurrent path carries gradient: the weights' gradient is not trivially zero.
        XCTAssertGreaterThan(gw.values.map { abs($0) }.max()!, 1e-2)
        layer.recurrent.weights = w
    }

    /// Zero recurrent weights: spikes, membrane and dL/dx equal the feed-forward `LIFLayer` exactly, and the
    /// recurrent weights' gradient is Σ s[t−1]ᵀ·dL/dsyn[t] (a spike at t−1 paired with the gradient at t).
    func testZeroRecurrenceIsTheFeedForwardLayer() {
        var rng = SeededRandom(seed: 12)
        let n = 3, steps = 20, batch = 2
        let lif = LIFLayer(alpha: 0.3, beta: 0.9, threshold: 1, spikeGradient: .braille)
        var layer = RecurrentLIFLayer(neurons: n, lif: lif, synapses: .float, rng: &rng)
        layer.recurrent.weights.values = [Float](repeating: 0, count: n * n)
        let x = (0..<(steps * batch * n)).map { _ in Float(rng.uniform()) * 0.6 }
        var r = SeededRandom(seed: 1)
        let tape = layer.forward(x, steps: steps, batch: batch, rng: &r)
        let plain = lif.forward(x, steps: steps)
        XCTAssertEqual(tape.spikes, plain.spikes)
        XCTAssertEqual(tape.membrane, plain.membrane)
        XCTAssertGreaterThan(tape.spikes.reduce(0, +), 5)
        let gs = (0..<x.count).map { _ in Float(rng.gaussian()) }
        let (gx, gw) = layer.backward(tape, spikeGradients: gs)
        XCTAssertEqual(gx, lif.backward(plain, spikeGradients: gs))
        let lanes = batch * n
        for i in 0..<n {
            for j in 0..<n {
                var expected: Float = 0
                for t in 1..<steps { for b in 0..<batch { expected += tape.spikes[(t - 1) * lanes + b * n + i] * gx[t * lanes + b * n + j] } }
                XCTAssertEqual(gw.values[i * n + j], expected, accuracy: 1e-4)
            }
        }
    }

    /// A self-connection acts one step after each spike, with the realised weight: a kick that fires the neuron
    /// at step 0 leaves its membrane at β·1.5 + 1.2 − θ = 0.95 at step 1 (−0.25 without the synapse).
    func testSelfConnectionActsOneStepAfterASpike() {
        var rng = SeededRandom(seed: 13)
        let lif = LIFLayer(alpha: 0, beta: 0.5, threshold: 1)
        var layer = RecurrentLIFLayer(neurons: 1, lif: lif, synapses: .float, rng: &rng)
        layer.recurrent.weights.values = [1.2]
        var x = [Float](repeating: 0, count: 10)
        x[0] = 1.5   // one supra-threshold kick, then nothing
        var r = SeededRandom(seed: 0)
        let tape = layer.forward(x, steps: 10, batch: 1, rng: &r)
        XCTAssertEqual(tape.spikes[0], 1)
        XCTAssertEqual(tape.membrane[1], 0.95, accuracy: 1e-6)
        var off = layer
        off.recurrent.weights.values = [0]
        let quiet = off.forward(x, steps: 10, batch: 1, rng: &r)
        XCTAssertEqual(quiet.spikes.reduce(0, +), 1)
        XCTAssertEqual(quiet.membrane[1], -0.25, accuracy: 1e-6)
    }

    /// In a network, the recurrent weights are a trained tensor: `parameters` round-trips them (RRAM shadow
    /// weights clipped to [−1, 1]), `program` realises them, and the network's gradient for them is the layer's.
    func testNetworkCarriesTheRecurrentSynapses() {
        var rng = SeededRandom(seed: 14)
        let lif = LIFLayer(alpha: 0, beta: 0.9, threshold: 1)
        let rec = RecurrentLIFLayer(neurons: 5, lif: lif, synapses: .float, rng: &rng, gain: 2)
        var net = Network(inputs: 3, layers: [
            .linear(LinearLayer(inputs: 3, outputs: 5, synapses: .float, bias: false, rng: &rng, gain: 3)),
            .recurrentLIF(rec),
            .linear(LinearLayer(inputs: 5, outputs: 2, synapses: .float, bias: false, rng: &rng)),
        ])
        XCTAssertEqual(net.parameters.map(\.count), [15, 5, 25, 5, 10, 2])
        var p = net.parameters
        p[2][0] = 0.25
        net.parameters = p
        guard case .recurrentLIF(let back) = net.layers[1] else { return XCTFail("layer 1 changed kind") }
        XCTAssertEqual(back.recurrent.weights.values[0], 0.25)
        XCTAssertEqual(net.program(rng: &rng).keys.sorted(), [0, 1, 2])
        let steps = 30, batch = 2
        let x = (0..<(steps * batch * 3)).map { _ in Float(rng.uniform()) }
        var r = SeededRandom(seed: 3)
        let pass = net.forward(x, steps: steps, batch: batch, rng: &r)
        XCTAssertGreaterThan(pass.spikeCounts[1] ?? 0, 0)
        let gy = Matrix(rows: steps * batch, cols: 2, values: (0..<(steps * batch * 2)).map { _ in Float(rng.gaussian()) })
        let grads = net.backward(pass, outputGradient: gy, steps: steps, batch: batch)
        guard case .linear(let out) = net.layers[2], case .linear(let outTape) = pass.tapes[2],
              case .recurrentLIF(let tape) = pass.tapes[1] else { return XCTFail("tapes") }
        let gs = out.backward(outTape, gy).input
        XCTAssertEqual(grads[2], back.backward(tape, spikeGradients: gs.values).weights.values)
        XCTAssertEqual(grads[3], [Float](repeating: 0, count: 5))
    }
}

final class GradientClippingTests: XCTestCase {
    /// Above the bound the global norm becomes the bound and every entry keeps its ratio to the others; below it
    /// nothing changes.
    func testGlobalNormClipping() {
        var g: [[Float]] = [[3, 0], [0, 4, 0]]
        XCTAssertEqual(GradientClipping.clipGlobalNorm(&g, maxNorm: 1), 5, accuracy: 1e-12)
        XCTAssertEqual(g[0][0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(g[1][1], 0.8, accuracy: 1e-6)
        var small: [[Float]] = [[0.3], [0.4]]
        XCTAssertEqual(GradientClipping.clipGlobalNorm(&small, maxNorm: 1), 0.5, accuracy: 1e-7)
        XCTAssertEqual(small, [[0.3], [0.4]])
    }
}

final class CensusTests: XCTestCase {
    /// The vectorised census counts what a plain loop counts, on lengths that are and are not multiples of 16.
    func testCensusMatchesAPlainCount() {
        var rng = SeededRandom(seed: 31)
        for n in [0, 5, 16, 47, 1000] {
            let spikes = (0..<n).map { _ in Float(rng.uniform() < 0.3 ? 1 : 0) }
            XCTAssertEqual(MatrixProduct.census(spikes).nonZero, spikes.filter { $0 != 0 }.count)
            XCTAssertTrue(MatrixProduct.census(spikes).binary)
            var analog = spikes
            if n > 0 { analog[n - 1] = 0.5 }
            XCTAssertEqual(MatrixProduct.census(analog).binary, n == 0)
            if n > 20 {
                var early = spikes
                early[3] = -1
                XCTAssertFalse(MatrixProduct.census(early).binary)
            }
        }
    }
}
