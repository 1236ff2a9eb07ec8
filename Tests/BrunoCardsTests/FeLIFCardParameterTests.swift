import BrunoCards
import BrunoSurrogates
import Foundation
import XCTest

/// The FeLIF parameter table is what both the card writer and the reader walk: these tests pin it to the committed
/// card (same names, units and order) and check that reading uses it faithfully, with its refusals.
final class FeLIFCardParameterTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func committedCard() throws -> DeviceCard {
        try DeviceCard.load(Self.root.appendingPathComponent("calibration/felif.card.json"))
    }

    func testTableListsTheCommittedCardsParametersInOrderWithTheirUnits() throws {
        let card = try committedCard()
        XCTAssertEqual(FeLIFCardParameter.all.map(\.name), card.parameters.map(\.name))
        XCTAssertEqual(FeLIFCardParameter.all.map(\.unit), card.parameters.map(\.unit))
        XCTAssertEqual(Set(FeLIFCardParameter.all.map(\.name)).count, FeLIFCardParameter.all.count, "one entry each")
    }

    func testReadingPutsEveryCardValueWhereTheTableSays() throws {
        let card = try committedCard()
        let simulation = try FeLIFTraceSimulation(card: card)
        for p in FeLIFCardParameter.all {
            XCTAssertEqual(simulation[keyPath: p.keyPath], card.value(p.name)!, p.name)
        }
        // Distinct values land in distinct places: perturb one parameter at a time and only that one moves.
        for (k, p) in FeLIFCardParameter.all.enumerated() {
            var edited = card
            edited.parameters[k].value *= 1.5
            let moved = try FeLIFTraceSimulation(card: edited)
            for q in FeLIFCardParameter.all {
                let expected = q.name == p.name ? card.value(q.name)! * 1.5 : card.value(q.name)!
                XCTAssertEqual(moved[keyPath: q.keyPath], expected, "\(p.name) edited, \(q.name) read")
            }
        }
        // The grid the card does not describe keeps the simulation's defaults.
        XCTAssertEqual(simulation.step, FeLIFTraceSimulation().step)
        XCTAssertEqual(simulation.sampleInterval, FeLIFTraceSimulation().sampleInterval)
    }

    func testMissingParameterWrongUnitAndOtherDeviceAreRefused() throws {
        let card = try committedCard()
        var missing = card
        missing.parameters.removeAll { $0.name == "tau0" }
        XCTAssertThrowsError(try FeLIFTraceSimulation(card: missing)) {
            XCTAssertTrue("\($0)".contains("missing parameter 'tau0'"), "\($0)")
        }
        var units = card
        units.parameters[units.parameters.firstIndex { $0.name == "saturationPolarization" }!].unit = "uC/cm^2"
        XCTAssertThrowsError(try FeLIFTraceSimulation(card: units)) {
            XCTAssertTrue("\($0)".contains("'saturationPolarization' is in 'uC/cm^2', expected 'C/m^2'"), "\($0)")
        }
        var rram = card
        rram.device = "rram"
        XCTAssertThrowsError(try FeLIFTraceSimulation(card: rram)) {
            XCTAssertTrue("\($0)".contains("expected a felif card, got rram"), "\($0)")
        }
    }

    func testOlderCardWithoutResetPolarizationAssumesCompleteRepolarization() throws {
        var card = try committedCard()
        card.parameters.removeAll { $0.name == "resetPolarization" }
        XCTAssertEqual(try FeLIFTraceSimulation(card: card).surrogate.resetPolarization, -1)
    }
}

/// The table's SPICE names are the shipped `felif` subcircuit's: what calibration reads a researcher's netlist by
/// and what export writes `.param felif_<name>` for must exist in `models/felif.lib`, each once.
final class FeLIFCardSpiceNameTests: XCTestCase {
    /// The parameter names the `.subckt felif` line and its `+` continuations declare.
    func declaredParameters() throws -> Set<String> {
        let lib = try String(
            contentsOf: FeLIFCardParameterTests.root.appendingPathComponent("models/felif.lib"), encoding: .utf8)
        var names: Set<String> = []
        var inHeader = false
        for line in lib.split(separator: "\n", omittingEmptySubsequences: false) {
            let code = line.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
            if code.lowercased().hasPrefix(".subckt felif ") {
                inHeader = true
            } else if !(inHeader && code.hasPrefix("+")) {
                if inHeader { break }
                continue
            }
            for token in code.split(separator: " ") where token.contains("=") {
                names.insert(String(token.split(separator: "=")[0]).lowercased())
            }
        }
        return names
    }

    func testEverySpiceNameAndFactorIsDeclaredByTheShippedSubcircuitOnce() throws {
        let declared = try declaredParameters()
        XCTAssertTrue(declared.isSuperset(of: ["area", "esoft", "vthr", "varea"]), "parsed \(declared.sorted())")
        let spice = FeLIFCardParameter.withSpiceCounterpart
        XCTAssertEqual(spice.count, 16)
        for p in spice {
            XCTAssertTrue(declared.contains(p.spiceName!), "\(p.name) → \(p.spiceName!) is not a felif parameter")
            if let f = p.deviceFactor { XCTAssertTrue(declared.contains(f), "\(p.name)'s factor \(f)") }
        }
        XCTAssertEqual(Set(spice.map(\.spiceName!)).count, spice.count, "SPICE names are distinct")
        let factors = spice.compactMap(\.deviceFactor)
        XCTAssertEqual(Set(factors).count, factors.count, "factors are distinct")
        // The circuit settings are exactly the comparator threshold and the reset voltage.
        XCTAssertEqual(FeLIFCardParameter.all.filter(\.isCircuitSetting).map(\.spiceName!), ["vthr", "vreset"])
    }
}
