import BrunoCalibration
import BrunoCards
import BrunoSpice
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
        // Only what the circuit does not state as one number is fitted; ngspice runs at a 1 µs step.
        XCTAssertEqual(p.quantities, [.threshold, .deadTime, .resetPolarization])
        XCTAssertEqual(p.maxStep, 1e-6)
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
        // The card's statistics meet the issue's targets on the held-out stimuli.
        XCTAssertLessThanOrEqual(try XCTUnwrap(card.statistics["held_out_nrmse_max"]), 0.02)
        XCTAssertLessThanOrEqual(try XCTUnwrap(card.statistics["held_out_first_spike_error_max"]), 0.02)
        // Provenance: the hashes are those of the shipped netlist and of the model libraries it includes, as committed.
        XCTAssertEqual(Set(try XCTUnwrap(card.provenance.includes).keys), ["models/felif.lib", "models/fecap.lib"])
        XCTAssertEqual(card.provenance.changedSources(root: Self.root), [],
                       "the committed card was made from another version of the circuit: re-run `bruno calibrate felif --out calibration`")
    }

    /// Editing a model library that the netlist includes (not the netlist itself) makes the card stale, and says
    /// which file; a card from before includes were recorded checks its netlist alone.
    func testEditingAnIncludedLibraryMakesTheCardStale() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-prov-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        for folder in ["netlists", "models"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        for file in ["netlists/felif_neuron.cir", "models/felif.lib", "models/fecap.lib"] {
            try FileManager.default.copyItem(at: Self.root.appendingPathComponent(file), to: root.appendingPathComponent(file))
        }
        let netlist = root.appendingPathComponent("netlists/felif_neuron.cir")
        var includes: [String: String] = [:]
        for file in try Netlist(contentsOf: netlist).includedFiles() {
            includes[String(file.path.dropFirst(root.standardizedFileURL.path.count + 1))] = try SHA256.hex(ofFile: file)
        }
        XCTAssertEqual(Set(includes.keys), ["models/felif.lib", "models/fecap.lib"], "fecap.lib comes in through felif.lib")
        let provenance = DeviceCard.Provenance(netlist: "netlists/felif_neuron.cir", netlistSHA256: try SHA256.hex(ofFile: netlist), ngspice: "ngspice-39",
                                               protocolFile: "calibration/felif.toml", protocolSHA256: String(repeating: "0", count: 64),
                                               seeds: [:], date: "2026-12-01T00:00:00Z", tool: "test", includes: includes)
        XCTAssertEqual(provenance.changedSources(root: root), [])
        let fecap = root.appendingPathComponent("models/fecap.lib")
        try (try String(contentsOf: fecap, encoding: .utf8) + "* edited\n").write(to: fecap, atomically: true, encoding: .utf8)
        let changed = provenance.changedSources(root: root)
        XCTAssertEqual(changed.count, 1)
        XCTAssertTrue(changed[0].hasPrefix("models/fecap.lib changed (SHA-256 then \(includes["models/fecap.lib"]!.prefix(12))"), "\(changed)")
        var old = provenance
        old.includes = nil
        XCTAssertEqual(old.changedSources(root: root), [], "an old card cannot see its libraries")
        try FileManager.default.removeItem(at: netlist)
        XCTAssertEqual(provenance.changedSources(root: root).first, "netlists/felif_neuron.cir is missing")
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
