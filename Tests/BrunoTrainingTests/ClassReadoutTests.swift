import BrunoSupport
import XCTest
@testable import BrunoTraining

/// The membrane readouts' loss gradients against finite differences, and the one decision shared by the loss,
/// validation and export.
final class ClassReadoutTests: XCTestCase {
    let steps = 6, batch = 3, classes = 4
    let thresholds = [2.5, 2.4, 2.6, 2.5]

    func membrane(seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<(steps * batch * classes)).map { _ in Float(rng.uniform() * 3 - 0.5) }
    }

    /// dL/dV of every step matches central differences (max: only the peak step carries gradient; last: only
    /// the last step).
    func testMembraneReadoutGradientsMatchFiniteDifferences() {
        let v = membrane(seed: 21)
        let labels = [1, 3, 0]
        for readout in [ClassReadout.membraneMean(scale: 5), .membraneMax(scale: 4), .membraneLast(scale: 3)] {
            let r = Loss.membraneReadoutCrossEntropy(readout, membrane: v, thresholds: thresholds, steps: steps, batch: batch,
                                                     classes: classes, labels: labels)
            func loss(_ m: [Float]) -> Double {
                Loss.membraneReadoutCrossEntropy(readout, membrane: m, thresholds: thresholds, steps: steps, batch: batch,
                                                 classes: classes, labels: labels).loss
            }
            for i in v.indices {
                var up = v, down = v
                up[i] += 1e-3; down[i] -= 1e-3
                XCTAssertEqual(Double(r.membraneGradient[i]), (loss(up) - loss(down)) / 2e-3, accuracy: 2e-4, "\(readout.name) V[\(i)]")
            }
            let nonzero = r.membraneGradient.filter { $0 != 0 }.count
            switch readout {
            case .membraneMean: XCTAssertEqual(nonzero, v.count)
            default: XCTAssertEqual(nonzero, batch * classes, "\(readout.name): one step per (sample, class)")
            }
        }
    }

    /// The loss counts a sample correct exactly when the shared decision (`ClassReadout.logits` + `decision`, what
    /// validation and export use) names its label — for every readout.
    func testLossAndSharedDecisionAgree() {
        let v = membrane(seed: 22)
        var rng = SeededRandom(seed: 23)
        let spikes = (0..<v.count).map { _ in Float(rng.uniform() < 0.2 ? 1 : 0) }
        for labels in [[0, 1, 2], [3, 3, 1], [2, 0, 0]] {
            for readout in [ClassReadout.spikeCount, .countMembrane(weight: 0.5), .membraneMean(scale: 5), .membraneMax(scale: 5),
                            .membraneLast(scale: 5)] {
                let correct: Int
                switch readout {
                case .spikeCount:
                    correct = Loss.spikeCountCrossEntropy(spikes: spikes, steps: steps, batch: batch, classes: classes, labels: labels).correct
                case .countMembrane(let w):
                    correct = Loss.countMembraneCrossEntropy(spikes: spikes, membrane: v, thresholds: thresholds, steps: steps, batch: batch,
                                                             classes: classes, labels: labels, membraneWeight: w).correct
                default:
                    correct = Loss.membraneReadoutCrossEntropy(readout, membrane: v, thresholds: thresholds, steps: steps, batch: batch,
                                                               classes: classes, labels: labels).correct
                }
                var shared = 0
                for b in 0..<batch {
                    let counts = (0..<classes).map { k in (0..<steps).reduce(0.0) { $0 + Double(spikes[($1 * batch + b) * classes + k]) } }
                    let m = (0..<classes).map { k in (0..<steps).map { Double(v[($0 * batch + b) * classes + k]) } }
                    if ClassReadout.decision(readout.logits(counts: counts, membrane: m, thresholds: thresholds)) == labels[b] { shared += 1 }
                }
                XCTAssertEqual(correct, shared, "\(readout.name), labels \(labels)")
            }
        }
    }

    /// The readouts read what they say, on a hand-made trace.
    func testReadoutsOnAKnownTrace() {
        let m = [[0.0, 1.25, 2.5, 0.5], [1.0, 1.0, 1.0, 1.0]]
        let th = [2.5, 2.0]
        let mean = ClassReadout.membraneMean(scale: 2).logits(counts: [0, 0], membrane: m, thresholds: th)
        XCTAssertEqual(mean[0], 0.85, accuracy: 1e-12)
        XCTAssertEqual(mean[1], 1.0, accuracy: 1e-12)
        XCTAssertEqual(ClassReadout.membraneMax(scale: 2).logits(counts: [0, 0], membrane: m, thresholds: th), [2.0, 1.0])
        XCTAssertEqual(ClassReadout.membraneLast(scale: 2).logits(counts: [0, 0], membrane: m, thresholds: th), [0.4, 1.0])
        XCTAssertEqual(ClassReadout.countMembrane(weight: 1).logits(counts: [3, 3], membrane: m, thresholds: th)[1], 3.5, accuracy: 1e-12)
        XCTAssertNil(ClassReadout.decision([1, 1, 1]))
        XCTAssertEqual(ClassReadout.decision([1, 3, 3]), 1)
    }
}
