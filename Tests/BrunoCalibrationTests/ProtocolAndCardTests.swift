import BrunoCalibration
import BrunoSupport
import BrunoSurrogates
import Foundation
import XCTest

final class ProtocolAndCardTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func write(_ text: String, name: String = "p.toml") throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-proto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testShippedProtocolLoads() throws {
        let p = try FeLIFProtocol.load(Self.root.appendingPathComponent("calibration/felif.toml"))
        XCTAssertEqual(p.netlist.lastPathComponent, "felif_neuron.cir")
        XCTAssertTrue(FileManager.default.fileExists(atPath: p.netlist.path))
        XCTAssertEqual(p.stimuli.filter(\.heldOut).count, 3)
        XCTAssertEqual(p.quantities.first, .saturationPolarization)
        // Random stimuli are reproducible from their seed.
        XCTAssertEqual(try FeLIFProtocol.load(Self.root.appendingPathComponent("calibration/felif.toml")).stimuli, p.stimuli)
    }

    func testTyposAndBadValuesAreNamed() throws {
        let base = """
        [simulation]
        netlist = "n.cir"
        [fit]
        quantities = ["threshold"]
        [[stimulus]]
        kind = "constant"
        current = 1e-9
        duration = 0.01
        """
        let cases: [(String, String)] = [
            (base.replacingOccurrences(of: "quantities =", with: "quantites ="), "[fit] unknown key 'quantites' (did you mean 'quantities'?)"),
            (base.replacingOccurrences(of: "\"threshold\"", with: "\"treshold\""), "unknown quantity 'treshold'"),
            (base.replacingOccurrences(of: "duration = 0.01", with: "duration = -1"), "'duration' must be positive"),
            (base.replacingOccurrences(of: "current = 1e-9", with: "current = \"1n\""), "'current' must be a finite number"),
            (base.replacingOccurrences(of: "kind = \"constant\"", with: "kind = \"ramp\""), "unknown kind 'ramp'"),
            (base.replacingOccurrences(of: "[simulation]", with: "[simulaton]"), "unknown key 'simulaton'"),
            (base + "\n[[stimulus]]\nkind = \"constant\"\n", "missing 'duration'"),
            ("[simulation\nnetlist = 1", "line 1"),
        ]
        for (text, expected) in cases {
            let url = try write(text)
            XCTAssertThrowsError(try FeLIFProtocol.load(url)) { error in
                XCTAssertTrue("\(error)".contains(expected), "expected '\(expected)' in: \(error)")
                XCTAssertTrue("\(error)".contains(url.path), "names the file: \(error)")
            }
        }
    }

    func testCommittedCardLoadsAndRoundTripsBitForBit() throws {
        let url = Self.root.appendingPathComponent("calibration/felif.card.json")
        let card = try DeviceCard.load(url)
        XCTAssertEqual(card.device, "felif")
        let sim = try FeLIFTraceSimulation(card: card)
        XCTAssertEqual(sim.surrogate.threshold, card.value("threshold"))
        // Write and read back: identical values, bit for bit.
        let copy = try write("", name: "copy.card.json")
        try AtomicFile.write(try card.encoded(), to: copy)
        let again = try DeviceCard.load(copy)
        XCTAssertEqual(again, card)
        XCTAssertEqual(try FeLIFTraceSimulation(card: again).surrogate, sim.surrogate)
        // The card's statistics meet the targets on the held-out stimuli.
        XCTAssertLessThanOrEqual(try XCTUnwrap(card.statistics["held_out_nrmse_max"]), 0.02)
        XCTAssertLessThanOrEqual(try XCTUnwrap(card.statistics["held_out_first_spike_error_max"]), 0.02)
        // Provenance: the hash is that of the shipped netlist as committed.
        XCTAssertEqual(card.provenance.netlistSHA256, try SHA256.hex(ofFile: Self.root.appendingPathComponent(card.provenance.netlist)),
                       "the committed card was made from another version of the netlist: re-run `bruno calibrate felif --out calibration`")
    }

    func testUnknownVersionAndMissingFieldsAreRefused() throws {
        let good = try String(contentsOf: Self.root.appendingPathComponent("calibration/felif.card.json"), encoding: .utf8)
        let v2 = try write(good.replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : 2"), name: "v2.json")
        XCTAssertThrowsError(try DeviceCard.load(v2)) { XCTAssertTrue("\($0)".contains("version 2 is not supported"), "\($0)") }
        let noDevice = try write(good.replacingOccurrences(of: "\"device\" : \"felif\",", with: ""), name: "nodev.json")
        XCTAssertThrowsError(try DeviceCard.load(noDevice)) { XCTAssertTrue("\($0)".contains("missing field 'device'"), "\($0)") }
        let rram = try DeviceCard.load(Self.root.appendingPathComponent("calibration/rram.card.json"))
        XCTAssertThrowsError(try FeLIFTraceSimulation(card: rram)) { XCTAssertTrue("\($0)".contains("expected a felif card, got rram"), "\($0)") }
        let foreign = try write("{\"format\": \"something\"}", name: "f.json")
        XCTAssertThrowsError(try DeviceCard.load(foreign)) { XCTAssertTrue("\($0)".contains("not a Bruno device card"), "\($0)") }
    }
}
