import BrunoCalibration
import BrunoCards
import BrunoDevices
import BrunoSpice
import BrunoSupport
import BrunoTraining
import Foundation
import XCTest
@testable import BrunoValidation

/// SPICE-in-the-loop on a small trained network: 12 taxels → 12 encoders → 8 LIF → 27 FeLIF outputs on RRAM
/// synapses, 30 ms samples, two epochs of training.
final class SpiceValidationTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let experiment = root.appendingPathComponent("experiments/braille-synthetic.toml")
    static let small = ["run.epochs=1", "run.batch=27", "data.train_per_class=1", "data.valid_per_class=1", "data.test_per_class=1",
                        "data.steps=30", "network.encoding=12", "network.hidden=[8]", "network.input_scale=6e-9"]

    /// The default small network, trained once for the tests that share it.
    nonisolated(unsafe) static var shared: Trainer?

    func trained(_ extra: [String] = []) async throws -> Trainer {
        if extra.isEmpty, let t = Self.shared { return t }
        var t = try Trainer(config: try TrainingConfig.load(Self.experiment, overrides: Self.small + extra))
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-val-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: out) }
        try await t.run(out: out, resume: false) { _ in }
        if extra.isEmpty { Self.shared = t }
        return t
    }

    func validation(columns: Int? = 3) throws -> SpiceValidation {
        var s = ValidationSettings()
        s.samples = 1
        s.columns = columns
        s.maxTraceNRMSE = 0.05
        return SpiceValidation(settings: s, library: try DeviceLibrary.locate(environment: ["BRUNO_HOME": Self.root.path]))
    }

    func testSmallTrainedNetworkAgreesWithSpice() async throws {
        let t = try await trained()
        let pool = try SpicePool(count: 2)
        let report = try await validation().run(network: t.network, chip: t.chip(), set: t.data.test, epoch: 2, pool: pool, plot: nil) { _ in }
        XCTAssertEqual(report.failedDecks, 0)
        XCTAssertEqual(report.columns.count, 3)
        XCTAssertGreaterThan(report.columns.map(\.surrogateCount).reduce(0, +), 0, "the check must involve spikes")
        for c in report.columns {
            XCTAssertLessThanOrEqual(abs(c.spiceCount! - c.surrogateCount), 1, "neuron \(c.column): surrogate \(c.surrogateCount), SPICE \(c.spiceCount!)")
            XCTAssertLessThanOrEqual(c.traceNRMSE!, 0.05, "neuron \(c.column)")
        }
        XCTAssertEqual(report.classAgreement, 1)
        XCTAssertTrue(report.passed, "\(report.warnings)")
    }

    /// A membrane readout is judged on the circuit's membrane: the report names the readout it compared and the
    /// decision margin, and lists the layers that have no circuit (encoders, LIF hidden layer) rather than silently
    /// passing over them. (The decision logic itself: `ClassJudgementTests`.)
    func testMembraneReadoutIsJudgedOnTheCircuitsMembrane() async throws {
        let t = try await trained(["loss.kind=\"membrane_mean\""])
        let pool = try SpicePool(count: 2)
        let report = try await validation(columns: 27).run(network: t.network, chip: t.chip(), set: t.data.test, epoch: 2, pool: pool,
                                                           readout: .membraneMean(scale: 5), plot: nil) { _ in }
        XCTAssertEqual(report.failedDecks, 0)
        XCTAssertEqual(report.readout, "membrane_mean")
        // One judged sample, with its margin reported: after one epoch the winning mean membrane leads by ≈ 0.01
        // logit, well inside the circuit's membrane error, so the decision may flip — which the margin shows.
        XCTAssertNotNil(report.classAgreement)
        XCTAssertEqual(report.decisionMargins?.count, 1)
        XCTAssertGreaterThanOrEqual(report.decisionMargins?.first ?? -1, 0)
        let unsimulated = report.layersWithoutCircuit ?? []
        XCTAssertEqual(unsimulated.count, 2, "\(unsimulated)")
        XCTAssertTrue(unsimulated[0].hasPrefix("layer 0: 12 LIF encoders"), unsimulated[0])
        XCTAssertTrue(unsimulated[1].hasPrefix("layer 2: LIF hidden layer"), unsimulated[1])
    }

    /// A card that is wrong where it matters is caught by the check, and recalibration repairs it.
    ///
    /// The wrong parameter is the saturation polarization: in a FeLIF neuron the membrane sits near the coercive
    /// voltage while the ferroelectric switches, and the switched charge 2·Ps·A sets when it fires. (A threshold
    /// 20 % too high, the error this test used first, is nearly invisible: after switching the membrane crosses
    /// 2.5 V and 2.93 V within microseconds, so counts agreed on every column and the test passed on a single
    /// column's trace, until another RRAM card changed the trained weights.)
    func testMiscalibratedCardIsDetected() async throws {
        // The surrogate believes the ferroelectric holds 20 % more charge than the circuit's: it switches later.
        var card = try DeviceCard.load(Self.root.appendingPathComponent("calibration/felif.card.json"))
        let i = card.parameters.firstIndex { $0.name == "saturationPolarization" }!
        card.parameters[i].value *= 1.2
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-card-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("felif.card.json")
        try card.encoded().write(to: url)
        let t = try await trained(["devices.felif_card=\"\(url.path)\"", "network.input_scale=1.5e-9"])
        let pool = try SpicePool(count: 2)
        let report = try await validation(columns: 4).run(network: t.network, chip: t.chip(), set: t.data.test, epoch: 2, pool: pool, plot: nil) { _ in }
        XCTAssertEqual(report.failedDecks, 0)
        XCTAssertGreaterThan(report.columns.compactMap(\.spiceCount).reduce(0, +), 0, "the circuit must fire in the check")
        XCTAssertFalse(report.passed, "a 20 % error of the saturation polarization must be flagged")
        // The circuit switches sooner than the surrogate expects: the membranes part. (The drive is weak, ≈ 1.5–5 nA,
        // where the switched charge sets the timing; counts over a 30 ms sample can still agree.)
        XCTAssertGreaterThan(report.meanTraceNRMSE!, 0.05, "\(report.warnings)")
        // Recalibration on the network's own currents finds the circuit's polarization again.
        let protocolURL = folder.appendingPathComponent("recal.toml")
        try """
        [simulation]
        netlist = "\(Self.root.path)/netlists/felif_neuron.cir"
        [fit]
        quantities = ["saturationPolarization"]
        starts = 1
        [[stimulus]]
        name = "constant-1n"
        kind = "constant"
        current = 1e-9
        duration = 0.03
        held_out = true
        """.write(to: protocolURL, atomically: true, encoding: .utf8)
        let recalibrated = try await Recalibration.run(report: report, protocolURL: protocolURL, library: try DeviceLibrary.locate(environment: ["BRUNO_HOME": Self.root.path]),
                                                       pool: pool, out: folder.appendingPathComponent("recal")) { _ in }
        let fitted = try DeviceCard.load(recalibrated).required("saturationPolarization", unit: "C/m^2")
        let truth = try DeviceCard.load(Self.root.appendingPathComponent("calibration/felif.card.json")).required("saturationPolarization", unit: "C/m^2")
        XCTAssertEqual(fitted, truth, accuracy: 0.05 * truth, "recalibrated \(fitted) C/m², committed card \(truth) C/m², mis-calibrated \(card.parameters[i].value) C/m²")
    }

    func testBadRequestsAreClearErrorsAndAFailedDeckIsReported() async throws {
        let t = try await trained()
        XCTAssertThrowsError(try t.network.validationLayer(9)) { XCTAssertTrue("\($0)".contains("out of range"), "\($0)") }
        XCTAssertThrowsError(try t.network.validationLayer(2)) { XCTAssertTrue("\($0)".contains("not a FeLIF layer"), "\($0)") }
        // One column's conductances corrupted: that deck is reported as failed, the others still run.
        var chip = t.chip()
        let l = try t.network.validationLayer(nil)
        var w = chip[l - 1]!
        for i in stride(from: 0, to: w.plus!.count, by: 27) { w.plus![i] = -1 }   // column 0 of every row
        chip[l - 1] = w
        let pool = try SpicePool(count: 2)
        var v = try validation(columns: nil)
        v.settings.columns = nil
        let report = try await v.run(network: t.network, chip: chip, set: t.data.test, epoch: 1, pool: pool, plot: nil) { _ in }
        XCTAssertEqual(report.failedDecks, 1)
        XCTAssertTrue(report.columns.first { $0.column == 0 }!.failure!.contains("non-physical"))
        XCTAssertEqual(report.columns.count, 27)
        XCTAssertFalse(report.passed)
    }
}

/// The circuit's class decision: simulated columns replace the surrogate's counts and, for membrane readouts only,
/// its membrane.
final class ClassJudgementTests: XCTestCase {
    let surrogate = SurrogateColumns(counts: [3, 2, 0], membrane: [[1.0, 1.0], [0.5, 0.5], [2.0, 2.0]], thresholds: [2.5, 2.5, 2.5])

    func testSpikeCountDecisionReadsCountsOnly() {
        let same = ClassJudgement(surrogate: surrogate, spiceCounts: [0: 3], spiceMembrane: [1: [2.4, 2.4]], readout: .spikeCount)
        XCTAssertTrue(same.agrees)
        XCTAssertEqual(same.surrogateMargin, 1)
        let flipped = ClassJudgement(surrogate: surrogate, spiceCounts: [1: 4], spiceMembrane: [:], readout: .spikeCount)
        XCTAssertFalse(flipped.agrees)
        XCTAssertEqual(flipped.spiceLogits, [3, 4, 0])
    }

    func testMembraneDecisionReadsTheCircuitsMembrane() {
        let readout = ClassReadout.membraneMean(scale: 5)
        XCTAssertEqual(ClassJudgement(surrogate: surrogate, spiceCounts: [2: 7], spiceMembrane: [:], readout: readout).agrees, true,
                       "counts do not enter a membrane readout")
        let flipped = ClassJudgement(surrogate: surrogate, spiceCounts: [:], spiceMembrane: [1: [2.5, 2.5]], readout: readout)
        XCTAssertFalse(flipped.agrees)
        XCTAssertEqual(flipped.surrogateMargin, 5 * (2.0 - 1.0) / 2.5, accuracy: 1e-12)
        XCTAssertEqual(flipped.spiceLogits[1], 5, accuracy: 1e-12)
    }
}
