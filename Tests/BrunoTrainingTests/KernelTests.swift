import BrunoCards
import BrunoSupport
import BrunoSurrogates
import Foundation
import XCTest
@testable import BrunoTraining

final class KernelTests: XCTestCase {
    func testFastExpAndLogAgreeWithLibm() {
        var rng = SeededRandom(seed: 3)
        var worstExp = 0.0, worstLog = 0.0
        for _ in 0..<2000 {
            var x = SIMD8<Double>(), y = SIMD8<Double>()
            for i in 0..<8 {
                x[i] = (rng.uniform() * 2 - 1) * 700
                y[i] = Foundation.exp((rng.uniform() * 2 - 1) * 700)
            }
            let e = FastMath.exp(x), l = FastMath.log(y)
            for i in 0..<8 {
                worstExp = max(worstExp, abs(e[i] - Foundation.exp(x[i])) / Foundation.exp(x[i]))
                worstLog = max(worstLog, abs(l[i] - Foundation.log(y[i])) / max(1e-300, abs(Foundation.log(y[i]))))
            }
        }
        XCTAssertLessThan(worstExp, 2e-15)
        XCTAssertLessThan(worstLog, 2e-15)
        XCTAssertEqual(FastMath.exp(SIMD8(repeating: -800))[0], 0)
        XCTAssertEqual(FastMath.exp(SIMD8(repeating: 0))[0], 1)
    }

    func testDenseAndSparseProductsMatchNaive() {
        var rng = SeededRandom(seed: 1)
        for (m, k, n) in [(5, 3, 7), (37, 19, 33), (130, 64, 17), (70, 40, 70), (66, 128, 256)] {
            var a = Matrix(rows: m, cols: k), b = Matrix(rows: k, cols: n)
            for i in a.values.indices { a.values[i] = rng.uniform() < 0.3 ? Float(rng.gaussian()) : 0 }
            for i in b.values.indices { b.values[i] = Float(rng.gaussian()) }
            var naive = Matrix(rows: m, cols: n)
            for r in 0..<m { for c in 0..<n { for p in 0..<k { naive[r, c] += a[r, p] * b[p, c] } } }
            for sparse in [false, true] {
                let c = MatrixProduct.multiply(a, b, sparse: sparse)
                for i in c.values.indices { XCTAssertEqual(c.values[i], naive.values[i], accuracy: 1e-4) }
            }
            let atb = MatrixProduct.multiplyTransposingLeft(a, naive)   // aᵀ·(m×n) = k×n
            let ref = MatrixProduct.multiply(a.transposed, naive, sparse: false)
            for i in atb.values.indices { XCTAssertEqual(atb.values[i], ref.values[i], accuracy: 1e-3 * max(1, abs(ref.values[i]))) }
            let abt = MatrixProduct.multiplyTransposingRight(naive, b)   // (m×n)·bᵀ = m×k
            let ref2 = MatrixProduct.multiply(naive, b.transposed, sparse: false)
            for i in abt.values.indices { XCTAssertEqual(abt.values[i], ref2.values[i], accuracy: 1e-3 * max(1, abs(ref2.values[i]))) }
        }
    }

    /// Input currents [T][B][N] for a FeLIF layer, in units of `scale`.
    func currents(steps: Int, lanes: Int, seed: UInt64, low: Double, high: Double) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<(steps * lanes)).map { _ in Float(low + (high - low) * rng.uniform()) }
    }

    func testBatchedFeLIFMatchesScalarReferenceInEveryMode() {
        var rng = SeededRandom(seed: 5)
        let steps = 25, batch = 3, neurons = 5
        for mode in FeLIFMode.allCases {
            let stepping = FeLIFStepping(coarseStep: 1e-3, fineSteps: 1000, mode: mode)
            let layer = FeLIFLayer(neurons: neurons, surrogate: .reference, variation: 0.05, rng: &rng, stepping: stepping, inputScale: 1e-9)
            let x = currents(steps: steps, lanes: batch * neurons, seed: 9, low: 0.5, high: 4)
            let tape = layer.forward(x, steps: steps, batch: batch)
            var gs = [Float](repeating: 0, count: x.count)
            for i in gs.indices { gs[i] = Float(sin(Double(i))) }
            let grad = layer.backward(tape, spikeGradients: gs)
            XCTAssertGreaterThan(tape.spikes.reduce(0, +), 10, "the test must exercise spikes and resets")
            for b in 0..<batch {
                for n in 0..<neurons {
                    let lane = b * neurons + n
                    let ref = FeLIFNeuron(surrogate: layer.devices[n], stepping: stepping)
                    let inputs = (0..<steps).map { Double(x[$0 * batch * neurons + lane]) * 1e-9 }
                    let rt = ref.forward(inputs)
                    let rg = ref.backward(rt, spikeGradients: (0..<steps).map { Double(gs[$0 * batch * neurons + lane]) })
                    for t in 0..<steps {
                        XCTAssertEqual(Double(tape.spikes[t * batch * neurons + lane]), rt.spikes[t], "\(mode) spike t=\(t)")
                        XCTAssertEqual(tape.v[(t + 1) * batch * neurons + lane], rt.states[t + 1].v, accuracy: 1e-9)
                        XCTAssertEqual(Double(grad[t * batch * neurons + lane]), rg.inputs[t] * 1e-9,
                                       accuracy: 1e-5 * max(1e-9, abs(rg.inputs[t] * 1e-9)), "\(mode) gradient t=\(t)")
                    }
                }
            }
        }
    }

    func testWithOneSubStepBrunoAndBPTTGradientsAreIdentical() {
        var rng = SeededRandom(seed: 2)
        let x = currents(steps: 30, lanes: 8, seed: 4, low: 0, high: 3)
        var gs = [Float](repeating: 0, count: x.count)
        for i in gs.indices { gs[i] = Float(cos(Double(i))) }
        var grads: [[Float]] = []
        for mode in [FeLIFMode.bruno, .bptt, .bpttCheckpointed] {
            var r = rng
            let layer = FeLIFLayer(neurons: 4, surrogate: .reference, variation: 0.02, rng: &r, stepping: .init(coarseStep: 1e-5, fineSteps: 1, mode: mode), inputScale: 1e-9)
            let tape = layer.forward(x, steps: 30, batch: 2)
            grads.append(layer.backward(tape, spikeGradients: gs, voltageGradients: gs))
        }
        rng = SeededRandom(seed: 0)
        XCTAssertEqual(grads[0], grads[1])
        XCTAssertEqual(grads[0], grads[2])
        XCTAssertTrue(grads[0].contains { $0 != 0 })
    }

    /// BRUNO's gradient is that of one coarse Euler step, whatever the fine forward did.
    func testBrunoGradientIsTheCoarseStepsAnalyticGradient() {
        let surrogate = FeLIFSurrogate.reference
        let layer = FeLIFLayer(devices: [surrogate], stepping: .init(coarseStep: 1e-3, fineSteps: 1000, mode: .bruno, detachTau: false), inputScale: 1e-9)
        // Two steps: the loss is V after step 2; step 2 starts from the fine state after step 1.
        let x: [Float] = [1.5, 0.7]
        let tape = layer.forward(x, steps: 2, batch: 1)
        let g = layer.backward(tape, spikeGradients: [0, 0], voltageGradients: [0, 1])
        let c = surrogate.coefficients
        let start = FeLIFState(v: tape.v[1], p: tape.p[1])
        func coarseV(_ i: Double) -> Double { c.euler(start, current: i, h: 1e-3).v }
        let i0 = 0.7e-9, d = 1e-15
        let fd = (coarseV(i0 + d) - coarseV(i0 - d)) / (2 * d) * 1e-9
        XCTAssertEqual(Double(g[1]), fd, accuracy: 1e-6 * abs(fd))
        // Step 1's gradient chains through the coarse step's state Jacobian at step 2's start.
        func twoCoarse(_ i: Double) -> Double {
            let s0 = FeLIFState(v: 0, p: -surrogate.saturationPolarization)
            let s1 = c.euler(s0, current: i, h: 1e-3)
            // The chain rule through the straight-through merge: ∂V2/∂V1 of the coarse step at the *fine* state.
            let f = c.rates(v: start.v, p: start.p, current: i0)
            let dv2dv1 = 1 + 1e-3 * f.dvdv, dv2dp1 = 1e-3 * f.dvdp
            return dv2dv1 * s1.v + dv2dp1 * s1.p
        }
        let fd1 = (twoCoarse(1.5e-9 + d) - twoCoarse(1.5e-9 - d)) / (2 * d) * 1e-9
        XCTAssertEqual(Double(g[0]), fd1, accuracy: 1e-4 * abs(fd1) + 1e-12)
    }

    /// Fine-grid BPTT is the exact gradient of the fine forward: central finite differences agree where no spike
    /// or clip changes under the perturbation.
    func testBPTTGradientMatchesFiniteDifferences() {
        let surrogate = FeLIFSurrogate.reference
        let stepping = FeLIFStepping(coarseStep: 1e-3, fineSteps: 100, mode: .bptt)
        let layer = FeLIFLayer(devices: [surrogate, surrogate.applying(.init())], stepping: stepping, inputScale: 1e-10)
        let x: [Float] = [1, 0.5, 2, 1.5, 1.2, 0.8, 0.3, 1.9]   // 4 steps × 2 neurons, sub-threshold
        let tape = layer.forward(x, steps: 4, batch: 1)
        XCTAssertEqual(tape.spikes.reduce(0, +), 0)
        let wv: [Float] = [0.3, -0.2, 0.5, 1, -0.7, 0.4, 0.9, -1]
        let g = layer.backward(tape, spikeGradients: [Float](repeating: 0, count: 8), voltageGradients: wv)
        func loss(_ x: [Float]) -> Double {
            let t = layer.forward(x, steps: 4, batch: 1)
            return (0..<8).reduce(0) { $0 + Double(wv[$1]) * t.v[2 + $1] }
        }
        for i in 0..<8 {
            var up = x, down = x
            up[i] += 0.01; down[i] -= 0.01
            let fd = (loss(up) - loss(down)) / Double(up[i] - down[i])
            XCTAssertEqual(Double(g[i]), fd, accuracy: 2e-3 * max(abs(fd), 1e-3), "input \(i)")
        }
    }
}

final class IntegratorTests: XCTestCase {
    /// Spike trains of K sub-steps per ms against the 1 µs Euler reference: (mean |Δcount|, mean |Δfirst spike| in steps).
    static func disagreement(k: Int, exponential: Bool, inputs x: [Float], reference ref: [Float], steps: Int, lanes: Int) -> (Double, Double) {
        let s = run(k, exponential, inputs: x, steps: steps, lanes: lanes)
        var dc = 0.0, df = 0.0
        for l in 0..<lanes {
            let a = (0..<steps).map { ref[$0 * lanes + l] }, b = (0..<steps).map { s[$0 * lanes + l] }
            dc += abs(Double(a.reduce(0, +) - b.reduce(0, +)))
            df += Double(abs((a.firstIndex(of: 1) ?? steps) - (b.firstIndex(of: 1) ?? steps)))
        }
        return (dc / Double(lanes), df / Double(lanes))
    }

    static func run(_ k: Int, _ e: Bool, inputs x: [Float], steps: Int, lanes: Int) -> [Float] {
        var layer = FeLIFLayer(devices: [FeLIFSurrogate](repeating: .reference, count: lanes), stepping: .init(fineSteps: k), inputScale: 1e-9)
        layer.exponentialIntegrator = e
        return layer.forward(x, steps: steps, batch: 1).spikes
    }

    func testExponentialIntegratorFollowsTheFineEulerReferenceWithFewerSubSteps() {
        let steps = 100, lanes = 8
        var rng = SeededRandom(seed: 11)
        // Piecewise-constant currents 0.1–3 nA, changing every 10 ms.
        var x = [Float](repeating: 0, count: steps * lanes)
        for l in 0..<lanes {
            var level: Float = 0
            for t in 0..<steps {
                if t % 10 == 0 { level = Float(0.1 + 2.9 * rng.uniform()) }
                x[t * lanes + l] = level
            }
        }
        let ref = Self.run(1000, false, inputs: x, steps: steps, lanes: lanes)
        var table = "K, Euler |Δcount|, Euler |Δfirst|, exponential |Δcount|, exponential |Δfirst| (vs 1 µs Euler)\n"
        var results: [Int: ((Double, Double), (Double, Double))] = [:]
        for k in [10, 20, 50, 100] {
            let e = Self.disagreement(k: k, exponential: false, inputs: x, reference: ref, steps: steps, lanes: lanes)
            let x2 = Self.disagreement(k: k, exponential: true, inputs: x, reference: ref, steps: steps, lanes: lanes)
            results[k] = (e, x2)
            table += "\(k), \(e.0), \(e.1), \(x2.0), \(x2.1)\n"
        }
        print(table)
        // What docs/training.md reports: 10 µs Euler sub-steps reproduce the 1 µs spike trains here; the
        // exponential integrator does not help at coarse sub-steps (frozen field over the step).
        XCTAssertLessThanOrEqual(results[100]!.0.0, 0.25)
        XCTAssertLessThanOrEqual(results[100]!.0.1, 0.25)
        XCTAssertLessThanOrEqual(results[100]!.1.0, 0.25)
        XCTAssertGreaterThan(results[10]!.1.0, results[100]!.1.0)
    }
}

final class CoarseGradientTests: XCTestCase {
    /// The exponential coarse gradient: bounded where Euler's explodes, equal to Euler's where the step is not stiff,
    /// and the batched layer follows the scalar reference with it.
    func testExponentialCoarseGradientIsBoundedWhereEulersExplodes() {
        var euler = FeLIFStepping(coarseStep: 1e-3, fineSteps: 100, mode: .bruno, detachTau: true)
        var exponential = euler
        exponential.exponentialCoarseGradient = true
        let ne = FeLIFNeuron(stepping: euler), nx = FeLIFNeuron(stepping: exponential)
        // A membrane pushed to −4.6 V: the odd diode leak has a self-derivative of ≈ −2.7e4 /s there.
        let deep = FeLIFState(v: -4.642, p: -0.22)   // where the leak balances −5 nA (the circuit settles there)
        let ge = ne.eulerVJP(deep, current: -5e-9, h: 1e-3, gv: 1, gp: 0, detachTau: true)
        let gx = nx.eulerVJP(deep, current: -5e-9, h: 1e-3, gv: 1, gp: 0, detachTau: true, exponential: true)
        XCTAssertGreaterThan(abs(ge.0), 10, "explicit Euler's factor 1 + h·a")
        XCTAssertLessThanOrEqual(abs(gx.0), 1, "exponential: e^{h·a}")
        XCTAssertGreaterThan(gx.0, 0)
        // Not stiff (V = 0.3 V, small h): the two agree.
        let mild = FeLIFState(v: 0.3, p: -0.22)
        let a = ne.eulerVJP(mild, current: 1e-10, h: 1e-6, gv: 0.7, gp: 0.2, detachTau: true)
        let b = nx.eulerVJP(mild, current: 1e-10, h: 1e-6, gv: 0.7, gp: 0.2, detachTau: true, exponential: true)
        XCTAssertEqual(a.0, b.0, accuracy: 1e-6 * abs(a.0))
        XCTAssertEqual(a.2, b.2, accuracy: 1e-6 * abs(a.2))
        // Batched layer = scalar reference with the option on.
        euler.exponentialCoarseGradient = true
        let layer = FeLIFLayer(devices: [.reference, .reference], stepping: euler, inputScale: 1e-9)
        let x: [Float] = [3, -6, 2, -6, 1, 4, -2, 5, 0.5, 1]
        let tape = layer.forward(x, steps: 5, batch: 1)
        let g = layer.backward(tape, spikeGradients: [Float](repeating: 1, count: 10), voltageGradients: [Float](repeating: 0.3, count: 10))
        for lane in 0..<2 {
            let ref = FeLIFNeuron(surrogate: .reference, stepping: euler)
            let rt = ref.forward((0..<5).map { Double(x[$0 * 2 + lane]) * 1e-9 })
            let rg = ref.backward(rt, spikeGradients: [Double](repeating: 1, count: 5), voltageGradients: [Double](repeating: 0.3, count: 5))
            for t in 0..<5 { XCTAssertEqual(Double(g[t * 2 + lane]), rg.inputs[t] * 1e-9, accuracy: 1e-5 * max(abs(rg.inputs[t] * 1e-9), 1e-9)) }
        }
    }
}
