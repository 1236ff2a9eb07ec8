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
        let logits = counts.map { Double($0 * scale) }
        let ce = softmaxCrossEntropy(logits: logits, batch: batch, classes: classes, labels: labels)
        let gLogit = ce.gradient.map { Float($0) * scale }
        var g = [Float](repeating: 0, count: spikes.count)
        for t in 0..<steps { for i in 0..<(batch * classes) { g[t * batch * classes + i] = gLogit[i] } }
        return (ce.loss, g, ce.correct, counts)
    }

    /// Softmax cross-entropy of per-sample logits (`batch × classes`), mean over the batch: the loss, dL/d(logit)
    /// and the correct predictions (ties: lowest index wins, and a row of equal logits is never correct, so a
    /// silent network scores chance, not better).
    static func softmaxCrossEntropy(logits: [Double], batch: Int, classes: Int, labels: [Int])
        -> (loss: Double, gradient: [Double], correct: Int)
    {
        var loss = 0.0, correct = 0
        var gLogit = [Double](repeating: 0, count: batch * classes)
        for b in 0..<batch {
            let row = Array(logits[(b * classes)..<((b + 1) * classes)])
            let m = row.max()!
            let e = row.map { Foundation.exp($0 - m) }
            let z = e.reduce(0, +)
            loss += -(row[labels[b]] - m - Foundation.log(z))
            for c in 0..<classes { gLogit[b * classes + c] = (e[c] / z - (c == labels[b] ? 1 : 0)) / Double(batch) }
            let predicted = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }!
            if predicted == labels[b] && Set(row).count > 1 { correct += 1 }
        }
        return (loss / Double(batch), gLogit, correct)
    }

    /// Cross-entropy of logits `count + γ·mean_t(V)/|θ|` per output neuron: its spike count over the sequence
    /// plus its mean membrane voltage in units of its threshold (γ = `membraneWeight`). The membrane part gives
    /// silent neurons a gradient and orders neurons that fired equally often (a tie of spike counts otherwise
    /// decides nothing); γ ≪ 1 keeps the decision a spike-count decision whenever the counts differ.
    /// `spikes` and `membrane` are `[T][B][K]`. Returns the loss, dL/d(spike), dL/dV and the correct predictions.
    public static func countMembraneCrossEntropy(spikes: [Float], membrane: [Float], thresholds: [Double], steps: Int, batch: Int,
                                                 classes: Int, labels: [Int], membraneWeight: Double)
        -> (loss: Double, spikeGradient: [Float], membraneGradient: [Float], correct: Int)
    {
        precondition(spikes.count == steps * batch * classes && membrane.count == spikes.count && labels.count == batch
                     && thresholds.count == classes, "count-membrane loss: shapes do not match")
        var logits = [Double](repeating: 0, count: batch * classes)
        for t in 0..<steps {
            for b in 0..<batch {
                for k in 0..<classes {
                    let i = (t * batch + b) * classes + k
                    logits[b * classes + k] += Double(spikes[i])
                        + membraneWeight * Double(membrane[i]) / max(abs(thresholds[k]), 1e-12) / Double(max(steps, 1))
                }
            }
        }
        let ce = softmaxCrossEntropy(logits: logits, batch: batch, classes: classes, labels: labels)
        let gLogit = ce.gradient
        var gs = [Float](repeating: 0, count: spikes.count), gv = gs
        for t in 0..<steps {
            for b in 0..<batch {
                for k in 0..<classes {
                    let i = (t * batch + b) * classes + k, g = gLogit[b * classes + k]
                    gs[i] = Float(g)
                    gv[i] = Float(g * membraneWeight / max(abs(thresholds[k]), 1e-12) / Double(max(steps, 1)))
                }
            }
        }
        return (ce.loss, gs, gv, ce.correct)
    }

    /// The silent-target term: for each sample whose target neuron did not fire, λ·(θ − mean_t V)/|θ| of that
    /// neuron (V from `membrane`, `[T][B][K]`, θ its threshold), mean over the batch. The spike-count loss gives a
    /// silent neuron a gradient only through the surrogate derivative far below threshold, which vanishes: a
    /// network whose target neurons fall silent early never recovers. This term pulls the membrane up until the
    /// neuron fires, then vanishes. The mean over time, not the peak: a membrane driven negative peaks at the
    /// first step, where no input has arrived yet to carry a gradient. Returns the loss and dL/dV.
    public static func silentTarget(membrane: [Float], counts: [Float], thresholds: [Double], steps: Int, batch: Int, classes: Int,
                                    labels: [Int], weight: Double) -> (loss: Double, gradient: [Float])
    {
        precondition(membrane.count == steps * batch * classes && counts.count == batch * classes && thresholds.count == classes,
                     "silent-target loss: shapes do not match")
        var g = [Float](repeating: 0, count: membrane.count)
        var loss = 0.0
        guard steps > 0 else { return (0, g) }
        for b in 0..<batch where counts[b * classes + labels[b]] == 0 {
            let y = labels[b]
            var mean = 0.0
            for t in 0..<steps { mean += Double(membrane[(t * batch + b) * classes + y]) }
            mean /= Double(steps)
            let theta = thresholds[y], scale = 1 / max(abs(theta), 1e-12)
            guard mean < theta else { continue }
            loss += weight * (theta - mean) * scale / Double(batch)
            let d = Float(-weight * scale / Double(batch * steps))
            for t in 0..<steps { g[(t * batch + b) * classes + y] = d }
        }
        return (loss, g)
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
