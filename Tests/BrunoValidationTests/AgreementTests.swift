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
