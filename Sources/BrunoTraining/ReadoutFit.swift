import BrunoSupport
import Foundation

/// A full-batch fit of a BCE readout on the untrained network's features, before the first epoch
/// (`[optimizer] readout_fit_steps`).
///
/// Why: with the neurons fixed the readout's problem is a logistic regression per key — convex — but minibatch Adam
/// reaches its optimum only after thousands of updates, and a JSB epoch has ~26. Measured on JSB: 40 epochs of joint
/// training ended 0.2 nats per step above a logistic regression on the chord alone, which the readout (seeing the
/// chord and the cells) contains. The fit starts the joint training from that optimum instead of from zero weights.
struct ReadoutFit {
    /// Features entering the readout, one row per counted step (after the warm-up, unpadded), and their targets.
    var features: Matrix
    var targets: [Float]

    /// A fit over given features (one row per step) and 0/1 targets (`features.rows × keys`, row-major).
    init(features: Matrix, targets: [Float]) {
        precondition(features.rows == 0 || targets.count % features.rows == 0, "targets must be rows × keys")
        self.features = features
        self.targets = targets
    }

    /// Runs the network over `batches` and keeps the readout's input at every counted step.
    init(network: Network, batches: [Trainer.Batch], warmup: Int, rng: inout SeededRandom) {
        let readout = network.layers.count - 1
        var rows: [Float] = [], tg: [Float] = [], cols = 0, keys = 0, n = 0
        for b in batches {
            let pass = network.forward(b.x, steps: b.steps, batch: b.size, rng: &rng)
            guard case .linear(let tape) = pass.tapes[readout] else { preconditionFailure("the readout is a linear layer") }
            cols = tape.input.cols
            keys = b.targets.count / max(1, b.steps * b.size)
            for t in warmup..<max(warmup, b.steps) {
                for j in 0..<b.size where b.mask[t * b.size + j] > 0 {
                    let r = t * b.size + j
                    rows.append(contentsOf: tape.input.values[(r * cols)..<((r + 1) * cols)])
                    tg.append(contentsOf: b.targets[(r * keys)..<((r + 1) * keys)])
                    n += 1
                }
            }
        }
        features = Matrix(rows: n, cols: cols, values: rows)
        targets = tg
    }

    /// Negative log-likelihood [nats per step, summed over keys] and its gradient for weights `w` (F×K), bias `b`.
    func nll(_ w: Matrix, _ b: [Float]) -> (nll: Double, dW: Matrix, dB: [Float]) {
        var z = MatrixProduct.multiply(features, w, sparse: false)
        let k = w.cols
        var total = 0.0
        for r in 0..<z.rows {
            for q in 0..<k {
                let i = r * k + q
                let x = Double(z.values[i] + b[q]), y = Double(targets[i])
                total += max(x, 0) - x * y + Foundation.log1p(Foundation.exp(-abs(x)))
                z.values[i] = Float(1 / (1 + Foundation.exp(-x)) - y)
            }
        }
        let n = Double(max(1, z.rows))
        var dW = MatrixProduct.multiplyTransposingLeft(features, z, sparse: false)
        for i in dW.values.indices { dW.values[i] /= Float(n) }
        var dB = [Float](repeating: 0, count: k)
        for r in 0..<z.rows { for q in 0..<k { dB[q] += z.values[r * k + q] } }
        for q in 0..<k { dB[q] /= Float(n) }
        return (total / n, dW, dB)
    }

    /// `steps` full-batch Adam updates at `learningRate` (a convex problem with exact gradients: no schedule is
    /// needed); returns the fitted layer and the NLL before and after.
    func fit(_ layer: LinearLayer, steps: Int, learningRate: Double = 0.02)
        -> (layer: LinearLayer, before: Double, after: Double)
    {
        var l = layer
        var opt = Optimizer(kind: .adam, learningRate: learningRate)
        var params = [l.weights.values, l.bias]
        var before = Double.nan
        for s in 0..<steps {
            let w = Matrix(rows: l.weights.rows, cols: l.weights.cols, values: params[0])
            let (value, dW, dB) = nll(w, params[1])
            if s == 0 { before = value }
            opt.update(&params, gradients: [dW.values, dB])
        }
        l.weights.values = params[0]
        l.bias = params[1]
        let after = nll(l.weights, l.bias).nll
        return (l, steps > 0 ? before : after, after)
    }
}
