import BrunoTraining
import BrunoValidation
import Foundation
import XCTest

/// The whole-chip findings from hand-made outcomes: decisions, confusion matrices, error distribution, worst
/// columns — each checked against a count done by hand.
final class ChipVerificationReportTests: XCTestCase {
    func plan(samples: Int, columns: Int, labels: [Int?]) -> ChipVerification.Plan {
        ChipVerification.Plan(run: "/r", overrides: [], epoch: 3, layer: 4, samples: samples, columns: columns, labels: labels,
                              thresholds: [Double](repeating: 2.5, count: columns), readout: .init(.spikeCount), seed: 11, out: "/r/c",
                              layersWithoutCircuit: [])
    }

    func outcome(_ surrogate: Int, _ spice: Int?) -> ChipVerification.ColumnOutcome {
        ChipVerification.ColumnOutcome(synapses: 4, surrogateCount: surrogate, spiceCount: spice, failure: spice == nil ? "failed" : nil)
    }

    func testDecisionsConfusionAndErrorDistributionAreCountedRight() {
        // 3 columns, 4 samples (labels 0, 1, 2, 1):
        //   s0: surrogate [5,1,0] → 0, SPICE [5,2,0] → 0        (both right)
        //   s1: surrogate [1,4,0] → 1, SPICE [4,3,0] → 0        (circuit wrong)
        //   s2: surrogate [0,0,0] → none, SPICE [0,0,1] → 2     (surrogate silent, circuit right)
        //   s3: surrogate [0,3,1] → 1, SPICE [0,3,nil] → failed (undecided; the surrogate right)
        let o = [outcome(5, 5), outcome(1, 2), outcome(0, 0),
                 outcome(1, 4), outcome(4, 3), outcome(0, 0),
                 outcome(0, 0), outcome(0, 0), outcome(0, 1),
                 outcome(0, 0), outcome(3, 3), outcome(1, nil)]
        let r = ChipVerificationReport(plan: plan(samples: 4, columns: 3, labels: [0, 1, 2, 1]), outcomes: o, ngspice: "ngspice-39")
        XCTAssertEqual(r.circuitAccuracy, 2.0 / 4)
        XCTAssertEqual(r.surrogateAccuracy, 3.0 / 4)
        XCTAssertEqual(r.decisionAgreement, 1.0 / 4)
        XCTAssertEqual(r.undecidedSamples, [3])
        XCTAssertEqual(r.failedDecks, 1)
        XCTAssertEqual(r.circuitConfusion, [[1, 0, 0, 0], [1, 0, 0, 1], [0, 0, 1, 0]])
        XCTAssertEqual(r.surrogateConfusion, [[1, 0, 0, 0], [0, 2, 0, 0], [0, 0, 0, 1]])
        // Errors over the 11 simulated decks: +1, +3, −1, +1 and seven zeros.
        XCTAssertEqual(r.spikeCountErrorHistogram, ["0": 7, "1": 2, "3": 1, "-1": 1])
        XCTAssertEqual(r.meanAbsoluteSpikeCountError, 6.0 / 11, accuracy: 1e-12)
        XCTAssertEqual(r.fractionExact, 7.0 / 11, accuracy: 1e-12)
        XCTAssertEqual(r.fractionWithinOne, 10.0 / 11, accuracy: 1e-12)
        XCTAssertEqual(r.absoluteErrorQuantiles["p50"], 0)
        XCTAssertEqual(r.absoluteErrorQuantiles["p90"], 1)
        XCTAssertEqual(r.absoluteErrorQuantiles["max"], 3)
        // Column 0: |Δ| 0, 3, 0, 0 → 0.75; column 1: 1, 1, 0, 0 → 0.5; column 2: 0, 0, 1 (one failed) → 1/3.
        XCTAssertEqual(r.worstColumns.map(\.column), [0, 1, 2])
        XCTAssertEqual(r.perColumn[2].meanAbsoluteError, 1.0 / 3, accuracy: 1e-12)
        XCTAssertTrue(r.markdown(cost: ChipVerificationCost(outcomes: o, shardCoreSeconds: 10, shards: 2)).contains("| test accuracy | 0.5000 | 0.7500 |"))
    }

    /// A membrane readout decides on the membranes the decks recorded, not on counts.
    func testMembraneReadoutsDecideOnTheRecordedMembrane() {
        var p = plan(samples: 1, columns: 2, labels: [1])
        p.readout = .init(.membraneMean(scale: 5))
        var a = outcome(2, 2), b = outcome(0, 0)
        a.surrogateMembrane = [0.1, 0.1]; a.spiceMembrane = [0.1, 0.1]
        b.surrogateMembrane = [1.0, 1.0]; b.spiceMembrane = [-1.0, -1.0]
        let r = ChipVerificationReport(plan: p, outcomes: [a, b], ngspice: "x")
        XCTAssertEqual(r.surrogateAccuracy, 1, "surrogate: column 1 has the higher mean membrane")
        XCTAssertEqual(r.circuitAccuracy, 0, "circuit: column 1's membrane is lower")
        XCTAssertEqual(r.circuitConfusion[1], [1, 0, 0])
    }
}
