import BrunoCards
import BrunoSupport
import BrunoSurrogates
import Foundation
import XCTest
@testable import BrunoTraining

final class SynapseAndOptimizerTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testUniformStochasticRoundingIsUnbiasedAndOnTheGrid() {
        let shadow = Matrix(rows: 1, cols: 3, values: [0.9, -0.35, 0.1])
        var rng = SeededRandom(seed: 1)
        var mean = [Double](repeating: 0, count: 3)
        let n = 20000
        for _ in 0..<n {
            let r = SynapseModel.uniform(bits: 3).realise(shadow, rng: &rng)
            let scale = Float(0.9) / 3
            for i in 0..<3 {
                let q = r.weights.values[i] / scale
                XCTAssertEqual(q, q.rounded(), accuracy: 1e-5)
                XCTAssertLessThanOrEqual(abs(q), 3.0001)
                mean[i] += Double(r.weights.values[i]) / Double(n)
            }
        }
        for i in 0..<3 { XCTAssertEqual(mean[i], Double(shadow.values[i]), accuracy: 0.01) }
    }

    func testRRAMWeightsUseTheCardsLevelsAndSpreads() throws {
        let card = try DeviceCard.load(Self.root.appendingPathComponent("calibration/rram.card.json"))
        let synapse = try RRAMSynapse(card: card)
        let exact = RRAMWeights(synapse: synapse, programmingNoise: false)
        XCTAssertEqual(exact.grid.count, 15)
        XCTAssertEqual(exact.grid.first, -1)
        XCTAssertEqual(exact.grid.last, 1)
        var rng = SeededRandom(seed: 2)
        let shadow = Matrix(rows: 1, cols: 4, values: [1, -1, 0.6, 0.02])
        let r = SynapseModel.rram(exact).realise(shadow, rng: &rng)
        XCTAssertEqual(r.levels, [7, -7, r.levels![2], 0])
        XCTAssertEqual(r.levels![2], 4, "0.6 of the swing is nearest level 4 (0.57; level 5 is at 0.72)")
        XCTAssertEqual(r.weights.values[0], 1, accuracy: 1e-6)
        // Programming noise: the spread of a weight at level 7 is that of G7 and G0 combined, over the swing.
        let noisy = SynapseModel.rram(RRAMWeights(synapse: synapse))
        var values: [Double] = []
        for _ in 0..<4000 { values.append(Double(noisy.realise(Matrix(rows: 1, cols: 1, values: [1]), rng: &rng).weights.values[0])) }
        let m = values.reduce(0, +) / Double(values.count)
        let sd = (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
        let l7 = synapse.levels[7], l0 = synapse.levels[0]
        let expected = ((l7.conductance * l7.totalSpread) * (l7.conductance * l7.totalSpread) + (l0.conductance * l0.totalSpread) * (l0.conductance * l0.totalSpread)).squareRoot() / exact.swing
        XCTAssertEqual(sd, expected, accuracy: 0.1 * expected)
        XCTAssertEqual(m, 1, accuracy: 0.003)
        // Straight through inside [−1, 1], blocked outside.
        let st = SynapseModel.rram(exact).realise(Matrix(rows: 1, cols: 2, values: [0.3, 1.4]), rng: &rng).straightThrough
        XCTAssertEqual(st, [1, 0])
    }

    func testParallelReadNoiseIsTheSequentialStreamWhateverTheThreads() {
        // Enough values for several chunks of the parallel transform and a partial last one.
        let n = (1 << 18) * 2 + 12_345
        var source = SeededRandom(seed: 21)
        let variance = (0..<n).map { _ in Float(source.uniform() * 4) }
        let start = (0..<n).map { _ in Float(source.uniform() - 0.5) }
        var y = start, fromGaussian = start, oneByOne = start
        var sequential = SeededRandom(seed: 5), parallel = sequential, pairs = sequential
        for i in 0..<n { fromGaussian[i] += Float(0.1) * variance[i].squareRoot() * Float(sequential.gaussian()) }
        LinearLayer.addSequentialReadNoise(&y, variance: variance, sigma: 0.1, rng: &parallel)
        XCTAssertEqual(parallel.next(), sequential.next(), "the stream continues where gaussian() left it")
        // Bit for bit the transform applied value by value, in order, on one thread.
        var u = [Double](repeating: 0, count: n), v = u
        pairs.gaussianUniforms(count: n, u: &u, v: &v)
        for i in 0..<n {
            FineLoopKernel.avx2.addNoise(&oneByOne[i], variance: [variance[i]], u: [u[i]], v: [v[i]], count: 1, sigma: 0.1)
        }
        XCTAssertEqual(y, oneByOne)
        // And the noise of the C library's gaussian() once rounded to Float, but for rare one-ulp ties.
        let differing = (0..<n).filter { y[$0] != fromGaussian[$0] }
        XCTAssertLessThanOrEqual(differing.count, 3, "values whose Float noise differs from gaussian()'s")
        for i in differing { XCTAssertEqual(y[i], fromGaussian[i], accuracy: 2 * max(abs(y[i]), 1).ulp) }
    }

    func testReadNoiseHasTheVarianceOfIndependentReads() {
        var rng = SeededRandom(seed: 3)
        let card = RRAMSynapse(levels: (0..<8).map { .init(conductance: Double($0 + 1) * 1e-5, deviceSpread: 0, cycleSpread: 0) }, readVoltage: 0.2, nonlinearity: 0.25)
        var layer = LinearLayer(inputs: 4, outputs: 1, synapses: .rram(RRAMWeights(synapse: card, readNoise: 0.1, programmingNoise: false)), bias: false, rng: &rng)
        layer.weights.values = [1, 1, 1, 1]
        let x = Matrix(rows: 1, cols: 4, values: [1, 1, 0, 1])
        var ys: [Double] = []
        for _ in 0..<20000 { ys.append(Double(layer.forward(x, rng: &rng).0.values[0])) }
        let m = ys.reduce(0, +) / Double(ys.count)
        let sd = (ys.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(ys.count)).squareRoot()
        XCTAssertEqual(m, 3, accuracy: 0.01)
        XCTAssertEqual(sd, 0.1 * 3.0.squareRoot(), accuracy: 0.01)   // σ·√(Σ x²w²) with w = 1
    }

    func testAdamAndAdamaxMinimiseAQuadraticAndFollowTheirUpdateRules() {
        for kind in Optimizer.Kind.allCases {
            var opt = Optimizer(kind: kind, learningRate: 0.05)
            var p: [[Float]] = [[3, -2]]
            for _ in 0..<800 { opt.update(&p, gradients: [[2 * p[0][0], 8 * p[0][1]]]) }
            XCTAssertEqual(p[0][0], 0, accuracy: 0.05, "\(kind)")
            XCTAssertEqual(p[0][1], 0, accuracy: 0.05, "\(kind)")
        }
        // First step of both moves each parameter by the learning rate against the gradient's sign.
        for kind in Optimizer.Kind.allCases {
            var opt = Optimizer(kind: kind, learningRate: 0.1)
            var p: [[Float]] = [[1, 1]]
            opt.update(&p, gradients: [[0.5, -3]])
            XCTAssertEqual(p[0][0], 0.9, accuracy: 1e-5)
            XCTAssertEqual(p[0][1], 1.1, accuracy: 1e-5)
        }
        // Per-tensor scales: the first step moves each tensor by its own rate, and the scale stays with the
        // schedule (a halved learning rate halves both tensors' steps).
        for kind in Optimizer.Kind.allCases {
            var opt = Optimizer(kind: kind, learningRate: 0.1)
            opt.rateScales = [1, 4]
            var p: [[Float]] = [[1], [1]]
            opt.update(&p, gradients: [[0.5], [0.5]])
            XCTAssertEqual(p[0][0], 0.9, accuracy: 1e-5, "\(kind)")
            XCTAssertEqual(p[1][0], 0.6, accuracy: 1e-5, "\(kind)")
            let unscaled = p
            var plain = opt
            plain.rateScales = nil
            opt.learningRate = 0.05
            plain.learningRate = 0.05
            var q = unscaled
            opt.update(&p, gradients: [[0.5], [0.5]])
            plain.update(&q, gradients: [[0.5], [0.5]])
            XCTAssertEqual(p[0][0] - unscaled[0][0], q[0][0] - unscaled[0][0], accuracy: 1e-6, "\(kind)")
            XCTAssertEqual(p[1][0] - unscaled[1][0], 4 * (q[1][0] - unscaled[1][0]), accuracy: 1e-5, "\(kind)")
        }
    }

    /// Decoupled weight decay: with no gradient an update only shrinks each decayed tensor by 1 − lr·scale·decay,
    /// and a tensor with decay 0 (a bias) does not move.
    func testWeightDecayShrinksOnlyTheDecayedTensorsByTheRate() {
        for kind in Optimizer.Kind.allCases {
            var opt = Optimizer(kind: kind, learningRate: 0.1)
            opt.weightDecay = [0.5, 0]
            opt.rateScales = [2, 1]
            var p: [[Float]] = [[2, -4], [3]]
            opt.update(&p, gradients: [[0, 0], [0]])
            XCTAssertEqual(p[0][0], 2 * 0.9, accuracy: 1e-6, "\(kind)")
            XCTAssertEqual(p[0][1], -4 * 0.9, accuracy: 1e-6, "\(kind)")
            XCTAssertEqual(p[1][0], 3, "\(kind)")
        }
    }

    func testReduceOnPlateauWaitsForPatienceThenHalves() {
        var s = ReduceOnPlateau(factor: 0.5, patience: 2, threshold: 0.01)
        var lr = 1.0
        for v in [1.0, 0.9, 0.895, 0.9, 0.95] { lr = s.observe(v, learningRate: lr) }
        XCTAssertEqual(lr, 0.5)   // 0.895 is not 1 % better than 0.9: three bad epochs > patience 2
        lr = s.observe(0.5, learningRate: lr)
        XCTAssertEqual(lr, 0.5)
        XCTAssertEqual(s.best, 0.5)
    }
}
