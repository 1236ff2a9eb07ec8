import XCTest
@testable import BrunoValidation

final class AgreementTests: XCTestCase {
    func testVanRossumDistanceOfKnownTrains() {
        XCTAssertEqual(Agreement.vanRossum([0.01, 0.02], [0.01, 0.02], tau: 0.01), 0, accuracy: 1e-12)
        // One unmatched spike: D² = ½.
        XCTAssertEqual(Agreement.vanRossum([0.01], [], tau: 0.01), 0.5.squareRoot(), accuracy: 1e-12)
        // A shift δ: D² = 1 − e^{−δ/τ}.
        XCTAssertEqual(Agreement.vanRossum([0.01], [0.015], tau: 0.01), (1 - exp(-0.5)).squareRoot(), accuracy: 1e-12)
    }

    func testArgmaxTiesGoToTheLowestIndex() {
        XCTAssertEqual(Agreement.argmax([1, 3, 3, 0]), 1)
        XCTAssertEqual(Agreement.argmax([0, 0]), 0)
    }
}

final class ValidationLogTests: XCTestCase {
    func testARepeatedEpochKeepsOneRecord() throws {
        // A run killed between its SPICE check and its checkpoint repeats the epoch on --resume.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-vlog-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        func report(_ epoch: Int, seconds: Double) -> ValidationReport {
            ValidationReport(epoch: epoch, layer: 3, samples: 1, columns: [], failedDecks: 0, classAgreement: 1,
                             meanSpikeCountError: 0, fractionWithinOneSpike: 1, meanFirstSpikeError: nil,
                             meanVanRossum: nil, meanTraceNRMSE: nil, seconds: seconds, passed: true, warnings: [])
        }
        try ValidationLog.append(report(1, seconds: 1), to: url)
        try ValidationLog.append(report(2, seconds: 2), to: url)
        try ValidationLog.append(report(2, seconds: 3), to: url)
        let records = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        XCTAssertEqual(records.map { $0["epoch"] as? Int }, [1, 2])
        XCTAssertEqual(records.last?["seconds"] as? Double, 3, "the repeated epoch's newer record is kept")
    }
}
