import BrunoSupport
import Foundation
import XCTest
@testable import BrunoTraining

/// The full-batch readout fit (`[optimizer] readout_fit_steps`): its NLL gradient against finite differences, and a
/// planted logistic regression recovered from data it generated.
final class ReadoutFitTests: XCTestCase {
    /// Spike-like 0/1 features (rate 0.3) with a bias column's worth of signal, and targets drawn from a planted
    /// logistic model: P(y_q = 1 | x) = σ(x·W*_q + b*_q).
    static func planted(rows: Int, features: Int, keys: Int, seed: UInt64)
        -> (fit: ReadoutFit, w: Matrix, b: [Float])
    {
        var rng = SeededRandom(seed: seed)
        var w = Matrix(rows: features, cols: keys)
        for i in w.values.indices { w.values[i] = Float(rng.normal()) }
        let b = (0..<keys).map { _ in Float(rng.normal() - 1) }
        var x = Matrix(rows: rows, cols: features)
        for i in x.values.indices { x.values[i] = rng.uniform() < 0.3 ? 1 : 0 }
        var y = [Float](repeating: 0, count: rows * keys)
        for r in 0..<rows {
            for q in 0..<keys {
                var z = Double(b[q])
                for f in 0..<features { z += Double(x.values[r * features + f] * w.values[f * keys + q]) }
                y[r * keys + q] = rng.uniform() < 1 / (1 + exp(-z)) ? 1 : 0
            }
        }
        return (ReadoutFit(features: x, targets: y), w, b)
    }

    func testNLLGradientMatchesFiniteDifferences() {
        let (fit, _, _) = Self.planted(rows: 64, features: 5, keys: 3, seed: 11)
        var rng = SeededRandom(seed: 12)
        var w = Matrix(rows: 5, cols: 3)
        for i in w.values.indices { w.values[i] = Float(0.5 * rng.normal()) }
        let b: [Float] = [0.1, -0.3, 0.2]
        let (_, dW, dB) = fit.nll(w, b)
        let h: Float = 1e-2
        for i in w.values.indices {
            var plus = w, minus = w
            plus.values[i] += h
            minus.values[i] -= h
            let fd = (fit.nll(plus, b).nll - fit.nll(minus, b).nll) / Double(2 * h)
            XCTAssertEqual(Double(dW.values[i]), fd, accuracy: 1e-3 + 1e-2 * abs(fd), "dW[\(i)]")
        }
        for q in b.indices {
            var plus = b, minus = b
            plus[q] += h
            minus[q] -= h
            let fd = (fit.nll(w, plus).nll - fit.nll(w, minus).nll) / Double(2 * h)
            XCTAssertEqual(Double(dB[q]), fd, accuracy: 1e-3 + 1e-2 * abs(fd), "dB[\(q)]")
        }
    }

    func testFitRecoversAPlantedLogisticRegression() {
        let (fit, planted, plantedBias) = Self.planted(rows: 3000, features: 4, keys: 2, seed: 21)
        var rng = SeededRandom(seed: 22)
        let start = LinearLayer(inputs: 4, outputs: 2, synapses: .float, bias: true, rng: &rng)
        let (layer, before, after) = fit.fit(start, steps: 800, learningRate: 0.05)
        let atPlanted = fit.nll(planted, plantedBias).nll
        XCTAssertEqual(before, fit.nll(start.weights, start.bias).nll, accuracy: 1e-9, "before = the start's NLL")
        XCTAssertLessThan(after, before - 0.1, "the fit lowers the NLL")
        // The maximum-likelihood fit on 3,000 draws sits at or just below the generating model's NLL.
        XCTAssertLessThan(after, atPlanted + 0.005)
        XCTAssertGreaterThan(after, atPlanted - 0.05)
        // And its weights are the planted ones up to sampling error (σ ≈ 0.1 here, 0.35 is ≥ 3σ).
        for i in planted.values.indices {
            XCTAssertEqual(layer.weights.values[i], planted.values[i], accuracy: 0.35, "w[\(i)]")
        }
        for q in plantedBias.indices { XCTAssertEqual(layer.bias[q], plantedBias[q], accuracy: 0.35, "b[\(q)]") }
    }
}
