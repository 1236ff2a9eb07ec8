import BrunoSurrogates
import Foundation
import XCTest

/// The gradients of the three training modes, checked against each other and against finite differences.
final class BRUNOGradientTests: XCTestCase {
    func neuron(_ mode: FeLIFMode, fineSteps: Int, detachTau: Bool = false) -> FeLIFNeuron {
        FeLIFNeuron(stepping: FeLIFStepping(fineSteps: fineSteps, mode: mode, detachTau: detachTau))
    }

    /// A sequence that crosses threshold and fires several times, so resets and spike gradients take part.
    let firing: [Double] = (0..<40).map { 8e-10 + 4e-10 * sin(Double($0) * 0.7) }

    func testWithOneSubStepBRUNOEqualsBPTT() {
        var rng = SystemRandomNumberGenerator()
        let spikeGrads = (0..<40).map { _ in Double.random(in: -1...1, using: &rng) }
        let voltGrads = (0..<40).map { _ in Double.random(in: -1...1, using: &rng) }
        for detach in [false, true] {
            let b = neuron(.bruno, fineSteps: 1, detachTau: detach), f = neuron(.bptt, fineSteps: 1, detachTau: detach)
            let tb = b.forward(firing), tf = f.forward(firing)
            XCTAssertEqual(tb.states, tf.states)
            XCTAssertEqual(tb.spikes, tf.spikes)
            let gb = b.backward(tb, spikeGradients: spikeGrads, voltageGradients: voltGrads)
            let gf = f.backward(tf, spikeGradients: spikeGrads, voltageGradients: voltGrads)
            XCTAssertEqual(gb.inputs, gf.inputs)
            XCTAssertEqual(gb.initialV, gf.initialV)
            XCTAssertEqual(gb.initialP, gf.initialP)
        }
    }

    /// BRUNO's forward is the fine one, its gradient that of one coarse Euler step from the same start.
    func testBRUNOGradientIsTheCoarseStepGradient() {
        let n = neuron(.bruno, fineSteps: 1000)
        let coefficients = n.coefficients
        let start = FeLIFState(v: 0.4, p: -0.2), current = 3e-10
        let tape = n.forward([current], from: start)
        XCTAssertEqual(tape.states[1], n.fineWindow(start, current: current), "forward value is the fine one")
        // Loss L = V₁ + 0.3·P₁·1e3 (no spike: far below threshold).
        let g = n.backward(tape, spikeGradients: [0], voltageGradients: [1])
        let coarse = { (v: Double, p: Double, i: Double) in coefficients.euler(FeLIFState(v: v, p: p), current: i, h: 1e-3).v }
        let dv = (coarse(0.4 + 1e-6, -0.2, current) - coarse(0.4 - 1e-6, -0.2, current)) / 2e-6
        let dp = (coarse(0.4, -0.2 + 1e-8, current) - coarse(0.4, -0.2 - 1e-8, current)) / 2e-8
        let di = (coarse(0.4, -0.2, current + 1e-13) - coarse(0.4, -0.2, current - 1e-13)) / 2e-13
        XCTAssertEqual(g.initialV, dv, accuracy: abs(dv) * 1e-5)
        XCTAssertEqual(g.initialP, dp, accuracy: abs(dp) * 1e-5)
        XCTAssertEqual(g.inputs[0], di, accuracy: abs(di) * 1e-6)
    }

    /// Fine-grid BPTT is the exact gradient of the fine forward: check it by finite differences in a regime
    /// without threshold crossings or clipping (where the forward is smooth).
    func testBPTTMatchesFiniteDifferencesOfTheFineForward() {
        let n = neuron(.bptt, fineSteps: 100)
        let inputs: [Double] = [2e-11, 3e-11, 1e-11, 2.5e-11, 1.5e-11, 2e-11]
        let weights: [Double] = [0.3, -1.0, 0.5, 2.0, -0.7, 1.2]
        let start = FeLIFState(v: 0.05, p: -0.21)
        func loss(_ x: [Double], _ s: FeLIFState) -> Double {
            zip(n.forward(x, from: s).states.dropFirst(), weights).map { $0.v * $1 }.reduce(0, +)
        }
        let tape = n.forward(inputs, from: start)
        XCTAssertEqual(tape.spikes.reduce(0, +), 0)
        let g = n.backward(tape, spikeGradients: Array(repeating: 0, count: 6), voltageGradients: weights)
        for k in inputs.indices {
            var up = inputs, down = inputs
            up[k] += 1e-15
            down[k] -= 1e-15
            let fd = (loss(up, start) - loss(down, start)) / 2e-15
            XCTAssertEqual(g.inputs[k], fd, accuracy: abs(fd) * 1e-5, "dL/dI[\(k)]")
        }
        let fdV = (loss(inputs, FeLIFState(v: 0.05 + 1e-7, p: -0.21)) - loss(inputs, FeLIFState(v: 0.05 - 1e-7, p: -0.21))) / 2e-7
        let fdP = (loss(inputs, FeLIFState(v: 0.05, p: -0.21 + 1e-9)) - loss(inputs, FeLIFState(v: 0.05, p: -0.21 - 1e-9))) / 2e-9
        XCTAssertEqual(g.initialV, fdV, accuracy: abs(fdV) * 1e-5)
        XCTAssertEqual(g.initialP, fdP, accuracy: abs(fdP) * 1e-4)
    }

    func testCheckpointedBPTTGivesTheSameGradientAsStoredBPTT() {
        let spikeGrads = (0..<40).map { Double($0 % 7) - 3 }
        let stored = neuron(.bptt, fineSteps: 50), recomputed = neuron(.bpttCheckpointed, fineSteps: 50)
        let ts = stored.forward(firing), tr = recomputed.forward(firing)
        XCTAssertGreaterThan(ts.spikes.reduce(0, +), 1, "the sequence must fire for this test to mean something")
        XCTAssertEqual(ts.states, tr.states)
        XCTAssertTrue(tr.fineStates.isEmpty, "checkpointing keeps no fine states")
        XCTAssertEqual(ts.fineStates.map(\.count).reduce(0, +) > 40 * 10, true)
        let a = stored.backward(ts, spikeGradients: spikeGrads), b = recomputed.backward(tr, spikeGradients: spikeGrads)
        XCTAssertEqual(a.inputs, b.inputs)
    }

    /// The spike gradient reaches the input through the surrogate derivative: for one step from rest,
    /// dL/dI = dL/ds · σ'(V₁ − V_thr) · ∂V_c/∂I.
    func testSpikeGradientChain() {
        let n = neuron(.bruno, fineSteps: 1000)
        let tape = n.forward([3e-9])
        let v1 = tape.states[1].v
        let g = n.backward(tape, spikeGradients: [1])
        let f = n.coefficients.rates(v: 0, p: -0.22, current: 3e-9)
        let mask: Double = abs(0 + 1e-3 * f.dv) < 5 ? 1 : 0
        XCTAssertEqual(g.inputs[0], SpikeGradient.braille.derivative(v1 - 2.5) * mask * 1e-3 / FeLIFSurrogate.reference.totalCapacitance, accuracy: 1e-6 * abs(g.inputs[0]) + 1e-30)
    }

    /// Coarse-only simulation is not the device: with 1 ms Euler steps the stiff polarization jumps at once,
    /// and the spike train differs from the fine one.
    func testCoarseOnlyForwardDiffersFromTheFineForward() {
        let fine = neuron(.bruno, fineSteps: 1000).forward(Array(repeating: 2e-10, count: 150))
        let coarse = neuron(.coarseOnly, fineSteps: 1000).forward(Array(repeating: 2e-10, count: 150))
        XCTAssertNotEqual(fine.spikes, coarse.spikes)
    }
}
