import Foundation
import XCTest

/// Issue #18 through the real `bruno`: the energy of a small trained chip from its event counts agrees with
/// whole-column ngspice sums, the figures land in the cards and the export, and bad input says what is wrong
/// without writing anything.
final class EnergyCLITests: XCTestCase {
    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-energy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func json(_ url: URL) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    func testPerInferenceEnergyAgreesWithWholeColumnSPICEAndIsRecordedAndExported() throws {
        let dir = try temporaryDirectory()
        let run = dir.appendingPathComponent("run")
        let t = try CLITests.bruno(["train"] + ChipVerificationCLITests.small + ["--out", run.path])
        XCTAssertEqual(t.status, 0, t.stderr)
        let e = try CLITests.bruno(["energy", "--run", run.path, "--programmings", "2", "--check-samples", "0,1", "--check-columns", "4",
                                    "--current", "1e-9", "--current", "2e-9", "--duration", "0.04"])
        XCTAssertEqual(e.status, 0, e.stderr + e.stdout)
        let folder = run.appendingPathComponent("energy")
        for f in ["energy.json", "energy.md", "energy-per-spike.svg", "energy-comparison.svg", "felif.card.json", "rram.card.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(f).path), f)
        }
        let report = try json(folder.appendingPathComponent("energy.json"))
        // The estimate from event counts against ngspice's sum of every source, column by column (issue: within 10 %).
        let checks = try XCTUnwrap(report["checks"] as? [[String: Any]])
        XCTAssertEqual(checks.count, 8, "4 columns × 2 samples")
        for c in checks {
            let spice = try XCTUnwrap(c["spice"] as? [String: Any])
            let total = try XCTUnwrap(spice["reads"] as? Double) + (spice["membraneInput"] as? Double ?? 0) + (spice["neuronSupplies"] as? Double ?? 0)
            let estimate = try XCTUnwrap(c["estimatedReads"] as? Double) + (c["estimatedNeuron"] as? Double ?? 0)
            XCTAssertGreaterThan(total, 0)
            XCTAssertEqual(estimate, total, accuracy: 0.10 * total, "sample \(c["sample"]!) column \(c["column"]!)")
        }
        // Per inference: the parts add up, and the RRAM layers' energies are the reads.
        let inference = try XCTUnwrap(report["inference"] as? [String: Any])
        let reads = try XCTUnwrap(inference["reads"] as? Double), dynamic = try XCTUnwrap(inference["neuronDynamic"] as? Double)
        let layers = try XCTUnwrap(inference["layers"] as? [[String: Any]])
        let crossbars = layers.filter { $0["kind"] as? String == "RRAM crossbar" }.compactMap { $0["energy"] as? Double }
        XCTAssertEqual(crossbars.count, 2)
        XCTAssertEqual(crossbars.reduce(0, +), reads, accuracy: 1e-9 * reads)
        XCTAssertGreaterThan(reads, 0)
        XCTAssertGreaterThanOrEqual(dynamic, 0)
        XCTAssertTrue(e.stdout.contains("per inference:"), e.stdout)
        // The neuron's two bookkeepings agree at every firing point.
        let neuron = try XCTUnwrap(report["neuronDevice"] as? [String: Any])
        for p in try XCTUnwrap(neuron["points"] as? [[String: Any]]) {
            let s = try XCTUnwrap(p["supplied"] as? Double), a = try XCTUnwrap(p["absorbed"] as? Double)
            XCTAssertEqual(s, a, accuracy: 0.05 * abs(s))
        }
        // The cards carry the figures with their conditions, and still load as the same cards.
        let card = try json(folder.appendingPathComponent("rram.card.json"))
        let figures = try XCTUnwrap(card["energy"] as? [[String: Any]])
        XCTAssertTrue(figures.contains { $0["name"] as? String == "level7.readEnergy" && ($0["conditions"] as? String ?? "").contains("V for") })
        XCTAssertTrue(figures.contains { $0["name"] as? String == "level3.programmingEnergyMean" })
        let felifCard = try json(folder.appendingPathComponent("felif.card.json"))
        XCTAssertTrue(try XCTUnwrap(felifCard["energy"] as? [[String: Any]]).contains { $0["name"] as? String == "staticPower" })
        let again = try CLITests.bruno(["energy", "--rram-card", folder.appendingPathComponent("rram.card.json").path, "--programmings", "0",
                                        "--current", "1e-9", "--duration", "0.02", "--out", dir.appendingPathComponent("device").path])
        XCTAssertEqual(again.status, 0, "a card with an energy section is still a card: " + again.stderr)
        // Export carries the report of this checkpoint.
        let x = try CLITests.bruno(["export", "--run", run.path, "--out", dir.appendingPathComponent("export").path])
        XCTAssertEqual(x.status, 0, x.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("export/energy/energy.md").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("export/energy/rram.card.json").path))
        // A report of another checkpoint is left out, and the export says so.
        var stale = report
        stale["checkpointSHA256"] = String(repeating: "0", count: 64)
        try JSONSerialization.data(withJSONObject: stale).write(to: folder.appendingPathComponent("energy.json"))
        let y = try CLITests.bruno(["export", "--run", run.path, "--out", dir.appendingPathComponent("export2").path])
        XCTAssertEqual(y.status, 0, y.stderr)
        XCTAssertTrue(y.stdout.contains("measured on another checkpoint: left out"), y.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("export2/energy").path))
    }

    func testBadInputSaysWhatIsWrongAndWritesNothing() throws {
        let dir = try temporaryDirectory()
        // A run trained without RRAM cards has no programmed synapses to price.
        let run = dir.appendingPathComponent("float")
        let t = try CLITests.bruno(["train"] + ChipVerificationCLITests.small + ["--set", "network.synapses=\"float\"", "--out", run.path])
        XCTAssertEqual(t.status, 0, t.stderr)
        let out = dir.appendingPathComponent("energy-float")
        let e = try CLITests.bruno(["energy", "--run", run.path, "--out", out.path])
        XCTAssertNotEqual(e.status, 0)
        XCTAssertTrue(e.stderr.contains("without an RRAM card"), e.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "nothing written")
        // Not a run folder.
        let none = try CLITests.bruno(["energy", "--run", dir.appendingPathComponent("nothing").path, "--out", out.path])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("not a run folder"), none.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        // A window with no spikes: no per-spike energy, the static power is still reported.
        let quiet = dir.appendingPathComponent("quiet")
        let q = try CLITests.bruno(["energy", "--current", "5e-12", "--duration", "0.01", "--programmings", "0", "--out", quiet.path])
        XCTAssertEqual(q.status, 0, q.stderr)
        XCTAssertTrue(q.stdout.contains("no spikes in the window (static power only)"), q.stdout)
        XCTAssertTrue(q.stdout.contains("neuron at rest:"), q.stdout)
        let md = try String(contentsOf: quiet.appendingPathComponent("energy.md"), encoding: .utf8)
        XCTAssertTrue(md.contains("No window made the neuron spike"), md)
        // A card calibrated on another netlist: the benches do not run that circuit, and the report says so.
        var card = try json(CLITests.packageRoot.appendingPathComponent("calibration/felif.card.json"))
        var provenance = try XCTUnwrap(card["provenance"] as? [String: Any])
        provenance["netlist"] = "my_neuron.cir"
        provenance["netlistSHA256"] = String(repeating: "ab", count: 32)
        card["provenance"] = provenance
        let foreign = dir.appendingPathComponent("foreign.card.json")
        try JSONSerialization.data(withJSONObject: card, options: [.prettyPrinted, .sortedKeys]).write(to: foreign)
        let f = try CLITests.bruno(["energy", "--felif-card", foreign.path, "--current", "1e-9", "--duration", "0.02", "--programmings", "0",
                                    "--out", dir.appendingPathComponent("foreign").path])
        XCTAssertEqual(f.status, 0, f.stderr)
        XCTAssertTrue(f.stdout.contains("WARNING: the FeLIF card") && f.stdout.contains("my_neuron.cir"), f.stdout)
        let foreignMD = try String(contentsOf: dir.appendingPathComponent("foreign/energy.md"), encoding: .utf8)
        XCTAssertTrue(foreignMD.contains("**Warning**") && foreignMD.contains("not your circuit's"), foreignMD)
        XCTAssertFalse(md.contains("**Warning**"), "the shipped card is the circuit the benches run")
        // Unusable options are refused before anything runs.
        let bad = try CLITests.bruno(["energy", "--current=-1e-9", "--out", quiet.path])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("a current must be ≥ 0 A"), bad.stderr)
        let mismatched = try CLITests.bruno(["energy", "--current", "1e-9", "--current", "2e-9", "--duration", "0.1", "--duration", "0.2",
                                             "--duration", "0.3"])
        XCTAssertNotEqual(mismatched.status, 0)
        XCTAssertTrue(mismatched.stderr.contains("one per --current"), mismatched.stderr)
    }
}
