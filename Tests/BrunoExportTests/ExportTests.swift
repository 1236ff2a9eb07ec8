import BrunoCalibration
import BrunoCards
import BrunoDevices
import BrunoSpice
import BrunoSupport
import BrunoSurrogates
import BrunoTraining
import Foundation
import XCTest
@testable import BrunoExport

final class ExportTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let library = DeviceLibrary(root: root)
    static let small = ["run.epochs=1", "run.batch=27", "data.train_per_class=1", "data.valid_per_class=1", "data.test_per_class=1",
                        "data.steps=30", "network.encoding=12", "network.hidden=[8]", "network.input_scale=6e-9"]

    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func trainedRun(_ extra: [String] = []) async throws -> URL {
        let run = try folder().appendingPathComponent("run")
        var t = try Trainer(config: try TrainingConfig.load(Self.root.appendingPathComponent("experiments/braille-synthetic.toml"), overrides: Self.small + extra))
        try await t.run(out: run, resume: false) { _ in }
        return run
    }

    /// Spike count of every `v(spk<j>)` vector (rising edges through 0.5 V).
    static func counts(_ r: SimulationResult, columns: Int) -> [Int] {
        (0..<columns).map { j in
            let s = r["v(spk\(j))"]?.real ?? []
            return (1..<max(1, s.count)).filter { s[$0 - 1] < 0.5 && s[$0] >= 0.5 }.count
        }
    }

    func testNetworkNetlistRoundTripsThroughNgspice() async throws {
        let run = try await trainedRun()
        let out = try folder().appendingPathComponent("export")
        let summary = try RunExport(run: run, library: Self.library).write(to: out)
        XCTAssertGreaterThan(summary.expectedCounts.reduce(0, +), 0, "the exported sample must make the layer fire")
        let deck = try Netlist(contentsOf: out.appendingPathComponent("network.cir"))
        let result = try await SpiceInstance().simulate(deck)
        let spice = Self.counts(result, columns: summary.expectedCounts.count)
        for (j, (a, b)) in zip(spice, summary.expectedCounts).enumerated() {
            XCTAssertLessThanOrEqual(abs(a - b), 1, "neuron \(j): SPICE \(a), surrogate \(b)")
        }
        XCTAssertEqual(Agreement_argmax(spice), summary.expectedClass)
        // The expected file says the same.
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("network-expected.json"))) as! [String: Any]
        XCTAssertEqual(expected["surrogate_spike_counts"] as? [Int], summary.expectedCounts)
    }

    func testCardsRoundTripBitIdenticallyAndTheSpiceCardsAreAcceptedByTheModels() async throws {
        let run = try await trainedRun()
        let out = try folder().appendingPathComponent("export")
        _ = try RunExport(run: run, library: Self.library).write(to: out)
        for name in ["felif.card.json", "rram.card.json"] {
            XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent(name)), try Data(contentsOf: Self.root.appendingPathComponent("calibration/\(name)")))
        }
        let felif = try FeLIFTraceSimulation(card: try DeviceCard.load(out.appendingPathComponent("felif.card.json")))
        let original = try FeLIFTraceSimulation(card: try DeviceCard.load(Self.root.appendingPathComponent("calibration/felif.card.json")))
        XCTAssertEqual(felif.surrogate, original.surrogate)
        XCTAssertEqual(felif.deadTime.bitPattern, original.deadTime.bitPattern)
        XCTAssertEqual(try RRAMSynapse(card: try DeviceCard.load(out.appendingPathComponent("rram.card.json"))),
                       try RRAMSynapse(card: try DeviceCard.load(Self.root.appendingPathComponent("calibration/rram.card.json"))))
        // synapses.csv gives the programming recipe the card's levels were measured with, not the built-in defaults.
        let recipe = try XCTUnwrap(try RRAMIncrementalProgramming(recipeOf: try DeviceCard.load(Self.root.appendingPathComponent("calibration/rram.card.json"))))
        let rows = try String(contentsOf: out.appendingPathComponent("synapses.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(rows[0].hasSuffix("method,tolerance,start_fraction,step_pulse_s"))
        XCTAssertTrue(rows[1].hasSuffix(",ispp,\(recipe.tolerance),\(recipe.startFraction),\(recipe.stepPulse)"), "\(rows[1])")
        // devices.lib with its first example neuron and level-7 cell uncommented: models/*.lib accept it unchanged.
        let lib = try String(contentsOf: out.appendingPathComponent("devices.lib"), encoding: .utf8)
        let neuron = lib.split(separator: "\n").first { $0.hasPrefix("* XN0 ") }!.dropFirst(2)
        let cell = lib.split(separator: "\n").first { $0.hasPrefix("* XR7 ") }!.dropFirst(2)
        let deck = """
        exported cards in use
        .include "\(out.path)/models/rram.lib"
        .include "\(out.path)/models/felif.lib"
        .include "\(out.path)/devices.lib"
        Iin 0 mem0 DC 2n
        \(neuron)
        Va a 0 DC {rram_vread}
        Vb b 0 DC 0
        \(cell)
        .tran 10u 20m 0 10u uic
        .end
        """
        let r = try await SpiceInstance().simulate(try Netlist(string: deck, name: "cards.cir"))
        XCTAssertGreaterThan(Self.counts(r, columns: 1)[0], 0, "the neuron instance fires at 2 nA")
        let i = -(r["i(vb)"]?.real.last ?? 0)
        XCTAssertEqual(abs(i) / 0.2, try RRAMSynapse(card: try DeviceCard.load(Self.root.appendingPathComponent("calibration/rram.card.json"))).levels[7].conductance, accuracy: 1e-9)
    }

    /// A recurrent hidden layer's synapses are programmed like the others: synapses.csv has a row for each of its
    /// N × N cells; and the expected decision is the trained readout's (membrane mean here), with its logits.
    func testExportCarriesRecurrentSynapsesAndTheTrainedReadout() async throws {
        let run = try await trainedRun(["network.hidden_recurrent=true", "loss.kind=\"membrane_mean\""])
        let out = try folder().appendingPathComponent("export")
        let summary = try RunExport(run: run, library: Self.library).write(to: out)
        let rows = try String(contentsOf: out.appendingPathComponent("synapses.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
        var perLayer: [Int: Int] = [:]
        for r in rows { perLayer[Int(r.split(separator: ",")[0])!, default: 0] += 1 }
        // encoders (layer 0) → linear 12×8 (1) → recurrent LIF 8×8 (2) → linear 8×27 (3) → FeLIF (4).
        XCTAssertEqual(perLayer, [1: 96, 2: 64, 3: 216])
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("network-expected.json"))) as! [String: Any]
        XCTAssertEqual(expected["readout"] as? String, "membrane_mean")
        let logits = try XCTUnwrap(expected["surrogate_logits"] as? [Double])
        XCTAssertEqual(logits.count, 27)
        XCTAssertEqual(summary.expectedClass, ClassReadout.decision(logits))
        XCTAssertTrue((expected["note"] as? String ?? "").contains("mean over steps of v(mem<j>)"))
    }

    func testExportRefusesMissingRunsAndChangedCards() async throws {
        XCTAssertThrowsError(try RunExport(run: URL(fileURLWithPath: "/nonexistent/run"), library: Self.library).write(to: try folder())) {
            XCTAssertTrue("\($0)".contains("no such run"), "\($0)")
        }
        // A run trained with a copy of the card, which is then edited.
        let cards = try folder()
        let card = cards.appendingPathComponent("felif.card.json")
        try FileManager.default.copyItem(at: Self.root.appendingPathComponent("calibration/felif.card.json"), to: card)
        let run = try await trainedRun(["devices.felif_card=\"\(card.path)\""])
        let before = try SHA256.hex(ofFile: card)
        var c = try DeviceCard.load(card)
        c.statistics["edited"] = 1
        try c.encoded().write(to: card)
        let after = try SHA256.hex(ofFile: card)
        XCTAssertThrowsError(try RunExport(run: run, library: Self.library).write(to: try folder())) {
            XCTAssertTrue("\($0)".contains(before) && "\($0)".contains(after), "\($0)")
        }
    }
}

func Agreement_argmax(_ counts: [Int]) -> Int {
    var best = 0
    for i in counts.indices where counts[i] > counts[best] { best = i }
    return best
}
