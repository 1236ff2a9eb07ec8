import Foundation

/// Losses with their gradients. Activations are time-major `[T][B][K]`.
public enum Loss {
    /// Spike-count cross-entropy (snnTorch's `ce_count_loss`): the logits of sample b are its output neurons'
    /// spike counts over the sequence; mean over the batch. Returns the loss, dL/d(spike) for every step
    /// (the same for every step of a sample and class), and the number of correct predictions (ties: lowest
    /// index wins, so a silent network scores chance, not better).
    public static func spikeCountCrossEntropy(spikes: [Float], steps: Int, batch: Int, classes: Int, labels: [Int], scale: Float = 1)
        -> (loss: Double, gradient: [Float], correct: Int, counts: [Float])
    {
        precondition(spikes.count == steps * batch * classes && labels.count == batch, "spike-count loss: shapes do not match")
        var counts = [Float](repeating: 0, count: batch * classes)
        for t in 0..<steps { for i in 0..<(batch * classes) { counts[i] += spikes[t * batch * classes + i] } }
        var loss = 0.0, correct = 0
        var gLogit = [Float](repeating: 0, count: batch * classes)
        for b in 0..<batch {
            let logits = (0..<classes).map { Double(counts[b * classes + $0] * scale) }
            let m = logits.max()!
            let e = logits.map { Foundation.exp($0 - m) }
            let z = e.reduce(0, +)
            loss += -(logits[labels[b]] - m - Foundation.log(z))
            for c in 0..<classes {
                gLogit[b * classes + c] = Float((e[c] / z - (c == labels[b] ? 1 : 0)) / Double(batch)) * scale
            }
            let predicted = logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }!
            if predicted == labels[b] && Set(logits).count > 1 { correct += 1 }
        }
        var g = [Float](repeating: 0, count: spikes.count)
        for t in 0..<steps { for i in 0..<(batch * classes) { g[t * batch * classes + i] = gLogit[i] } }
        return (loss / Double(batch), g, correct, counts)
    }

    /// Binary cross-entropy of per-step logits against 0/1 targets, skipping the first `warmup` steps and masked
    /// (padded) steps; the mean over keys and counted steps. Also returns the negative log-likelihood in nats per
    /// time step summed over keys (the JSB figure of merit) and the number of counted steps.
    public static func binaryCrossEntropy(logits: [Float], targets: [Float], mask: [Float], steps: Int, batch: Int, keys: Int, warmup: Int)
        -> (loss: Double, gradient: [Float], nllPerStep: Double, countedSteps: Int)
    {
        precondition(logits.count == steps * batch * keys && targets.count == logits.count && mask.count == steps * batch,
                     "BCE loss: shapes do not match")
        var total = 0.0, counted = 0
        for t in warmup..<max(warmup, steps) { for b in 0..<batch where mask[t * batch + b] > 0 { counted += 1 } }
        var g = [Float](repeating: 0, count: logits.count)
        guard counted > 0 else { return (0, g, 0, 0) }
        let norm = 1 / Double(counted * keys)
        for t in warmup..<steps {
            for b in 0..<batch where mask[t * batch + b] > 0 {
                for k in 0..<keys {
                    let i = (t * batch + b) * keys + k
                    let x = Double(logits[i]), y = Double(targets[i])
                    // log(1 + e^{−|x|}) form: stable for large |x|.
                    total += max(x, 0) - x * y + Foundation.log1p(Foundation.exp(-abs(x)))
                    g[i] = Float((1 / (1 + Foundation.exp(-x)) - y) * norm)
                }
            }
        }
        return (total * norm, g, total / Double(counted), counted)
    }
}
