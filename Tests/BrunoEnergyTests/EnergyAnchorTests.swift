import BrunoEnergy
import XCTest

final class EnergyAnchorTests: XCTestCase {
    func testDecadeNamesTheBracketingPowersOfTen() {
        XCTAssertEqual(EnergyAnchor.decade(61e-12), "between 10pJ and 100pJ")
        XCTAssertEqual(EnergyAnchor.decade(2.3e-9), "between 1nJ and 10nJ")
        XCTAssertEqual(EnergyAnchor.decade(0), "not positive")
    }
}
