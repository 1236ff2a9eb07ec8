import Foundation

/// How the output neurons' activity over a sample becomes one logit per class: the decision the trainer
/// optimises, and the same decision that evaluation, SPICE validation and export compute from the circuit's spikes
/// and membrane (one definition, so the chip is judged on what the network was trained to decide).
///
/// Membrane readouts read the output layer's end-of-step membrane voltage V[t] in units of each neuron's
/// threshold θ, scaled by `scale` (a logit difference of 1 between two classes is a 73 % / 27 % softmax):
/// - `membraneMean`: mean over the sample of V/θ — charge integrated over the whole recording;
/// - `membraneMax`: its peak — "how close did this neuron come to firing (again)";
/// - `membraneLast`: its value after the last step — the state the recording left behind.
/// The neurons keep spiking and resetting (FeLIF devices do): a readout on the membrane sees the reset too.
public enum ClassReadout: Sendable, Equatable {
    /// Logit = spike count over the sample (snnTorch's `ce_count_loss`).
    case spikeCount
    /// Logit = spike count + weight · mean V/θ (see `Loss.countMembraneCrossEntropy`).
    case countMembrane(weight: Double)
    case membraneMean(scale: Double)
    case membraneMax(scale: Double)
    case membraneLast(scale: Double)

    /// A config's name for it (`[loss] kind`).
    public var name: String {
        switch self {
        case .spikeCount: return "spike_count"
        case .countMembrane: return "count_membrane"
        case .membraneMean: return "membrane_mean"
        case .membraneMax: return "membrane_max"
        case .membraneLast: return "membrane_last"
        }
    }

    /// Whether the logits read the membrane (then the circuit's membrane must be simulated to judge the decision).
    public var readsMembrane: Bool { self != .spikeCount }

    /// One sample's logits from each output column's spike count and end-of-step membrane `membrane[column][t]`
    /// [V] (`thresholds` [V] per column). The same quantity the training loss
    /// optimises (count-membrane: summed in another order, equal to rounding).
    public func logits(counts: [Double], membrane: [[Double]], thresholds: [Double]) -> [Double] {
        counts.indices.map { k in
            let v = k < membrane.count ? membrane[k] : []
            let inv = 1 / max(abs(thresholds[k]), 1e-12)
            switch self {
            case .spikeCount: return counts[k]
            case .countMembrane(let w):
                var x = 0.0
                for t in v.indices { x += w * v[t] * inv / Double(max(v.count, 1)) }
                return counts[k] + x
            case .membraneMean(let s): return s * v.reduce(0, +) / Double(max(v.count, 1)) * inv
            case .membraneMax(let s): return s * (v.max() ?? 0) * inv
            case .membraneLast(let s): return s * (v.last ?? 0) * inv
            }
        }
    }

    /// The predicted class: the largest logit, lowest index on ties; nil when every logit is equal (a silent
    /// output decides nothing, as in the training loss).
    public static func decision(_ logits: [Double]) -> Int? {
        guard let first = logits.first, logits.contains(where: { $0 != first }) else { return nil }
        return logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }
    }
}

extension Loss {
    /// Cross-entropy of a membrane readout (`.membraneMean`, `.membraneMax`, `.membraneLast`) of the output layer's
    /// end-of-step membrane `[T][B][K]`: the loss, dL/dV of every step (max: at the first step of the peak;
    /// last: at the last step; mean: spread evenly) and the correct predictions.
    public static func membraneReadoutCrossEntropy(_ readout: ClassReadout, membrane: [Float], thresholds: [Double], steps: Int,
                                                   batch: Int, classes: Int, labels: [Int])
        -> (loss: Double, membraneGradient: [Float], correct: Int)
    {
        precondition(membrane.count == steps * batch * classes && labels.count == batch && thresholds.count == classes && steps > 0,
                     "membrane readout loss: shapes do not match")
        var logits = [Double](repeating: 0, count: batch * classes)
        var peakStep = [Int](repeating: 0, count: batch * classes)
        let scale: Double
        switch readout {
        case .membraneMean(let s), .membraneMax(let s), .membraneLast(let s): scale = s
        default: preconditionFailure("membraneReadoutCrossEntropy takes a membrane readout, not \(readout.name)")
        }
        for b in 0..<batch {
            for k in 0..<classes {
                var v = [Double](repeating: 0, count: steps)
                for t in 0..<steps { v[t] = Double(membrane[(t * batch + b) * classes + k]) }
                // Through `logits(counts:membrane:thresholds:)`, so training and the circuit's judge agree exactly.
                logits[b * classes + k] = readout.logits(counts: [0], membrane: [v], thresholds: [thresholds[k]])[0]
                if case .membraneMax = readout { peakStep[b * classes + k] = v.indices.max { v[$0] < v[$1] || (v[$0] == v[$1] && $0 > $1) }! }
            }
        }
        let ce = softmaxCrossEntropy(logits: logits, batch: batch, classes: classes, labels: labels)
        var gv = [Float](repeating: 0, count: membrane.count)
        for b in 0..<batch {
            for k in 0..<classes {
                let g = ce.gradient[b * classes + k] * scale / max(abs(thresholds[k]), 1e-12)
                switch readout {
                case .membraneMean: for t in 0..<steps { gv[(t * batch + b) * classes + k] = Float(g / Double(steps)) }
                case .membraneMax: gv[(peakStep[b * classes + k] * batch + b) * classes + k] = Float(g)
                default: gv[((steps - 1) * batch + b) * classes + k] = Float(g)
                }
            }
        }
        return (ce.loss, gv, ce.correct)
    }
}
