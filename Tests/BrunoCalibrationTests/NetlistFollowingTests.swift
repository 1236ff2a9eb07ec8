import BrunoCalibration
import BrunoCards
import BrunoDevices
import BrunoSpice
import BrunoSupport
import Foundation
import XCTest

/// Issue #12: `bruno calibrate felif` on copies of the shipped netlist with 2–3 parameters changed at once.
/// Every parameter the netlist sets is read exactly; every fitted one lands within 3 % of the netlist's value
/// (or is reported not separable and fixed from the netlist); held-out NRMSE ≤ 2 %. The protocol is the shipped
/// one (its [fit] table verbatim) with shorter stimuli, for the debug-build budget; Benchmarks/calibration-matrix.sh
/// runs the shipped protocol on the same matrix.
final class NetlistFollowingTests: XCTestCase {
    static let root = FeLIFCalibrationTests.root

    /// One netlist change: a file of the workspace, the text replaced, what the netlist then sets.
    struct Change {
        var file: String
        var old: String
        var new: String
    }

    /// The matrix: each case changes 2–3 quantities, fitted and unfitted, written in different places.
    static let matrix: [(name: String, changes: [Change], expect: [String: Double])] = [
        ("Ps +15 % and I_dsc ×1.5", [.init(file: "netlists/felif_neuron.cir", old: "idsc={idsc}", new: "idsc={idsc} ps=0.253 vidsc=1.5")],
         ["saturationPolarization": 0.253, "dischargeCurrent": 15e-12]),
        ("J0 ×3 and area +20 %", [.init(file: "models/felif.lib", old: "j0=1e-4", new: "j0=3e-4"),
                                   .init(file: "models/felif.lib", old: "+ area=25e-12", new: "+ area=30e-12")],
         ["leakCurrentDensity": 3e-4, "area": 30e-12]),
        ("Ea +10 % and α 1.4", [.init(file: "netlists/felif_neuron.cir", old: "idsc={idsc}", new: "idsc={idsc} ea=1.397e9 alpha=1.4")],
         ["activationField": 1.397e9, "alpha": 1.4]),
        ("C_par, V_reset and threshold", [.init(file: "models/felif.lib", old: "+ cpar=15f", new: "+ cpar=22f"),
                                          .init(file: "models/felif.lib", old: "+ vreset=-1.5", new: "+ vreset=-1.2"),
                                          .init(file: "netlists/felif_neuron.cir", old: ".param vthr=2.5", new: ".param vthr=2.3")],
         ["parasiticCapacitance": 22e-15, "resetVoltage": -1.2, "threshold": 2.3]),
        ("t_Fe, Ps and I_dsc", [.init(file: "netlists/felif_neuron.cir", old: ".param idsc=10p", new: ".param idsc=15p"),
                                .init(file: "netlists/felif_neuron.cir", old: "idsc={idsc}", new: "idsc={idsc} tfe=12e-9 ps=0.2")],
         ["tFe": 12e-9, "saturationPolarization": 0.2, "dischargeCurrent": 15e-12]),
        ("area, Ea and J0 by expression", [.init(file: "netlists/felif_neuron.cir", old: ".param idsc=10p",
                                                 new: ".param idsc=10p\n.param scale=1.2")
                                           , .init(file: "netlists/felif_neuron.cir", old: "idsc={idsc}",
                                                   new: "idsc={idsc} area={25e-12*scale} ea={1e9*scale} j0={2e-4}")],
         ["area": 30e-12, "activationField": 1.2e9, "leakCurrentDensity": 2e-4]),
        ("α, threshold and C_par", [.init(file: "netlists/felif_neuron.cir", old: ".param vthr=2.5", new: ".param vthr=2.7"),
                                    .init(file: "netlists/felif_neuron.cir", old: "idsc={idsc}", new: "idsc={idsc} alpha=1.2 cpar=10f")],
         ["alpha": 1.2, "threshold": 2.7, "parasiticCapacitance": 10e-15]),
        ("V_reset, Ps and J0 in the model file", [.init(file: "models/felif.lib", old: "+ vreset=-1.5", new: "+ vreset=-1.8"),
                                                  .init(file: "models/felif.lib", old: "ps=0.22", new: "ps=0.25"),
                                                  .init(file: "models/felif.lib", old: "j0=1e-4", new: "j0=5e-5")],
         ["resetVoltage": -1.8, "saturationPolarization": 0.25, "leakCurrentDensity": 5e-5]),
    ]

    /// The shipped protocol's [fit] table with short stimuli (f–I at two currents, a burst for the leak, a
    /// held-out random input).
    static func shortProtocol(netlist: URL, in folder: URL) throws -> URL {
        let shipped = try String(contentsOf: root.appendingPathComponent("calibration/felif.toml"), encoding: .utf8)
        if ProcessInfo.processInfo.environment["BRUNO_MATRIX_PROTOCOL"] == "shipped" {
            // The benchmark: the shipped protocol itself, pointed at the edited copy.
            let url = folder.appendingPathComponent("felif-shipped.toml")
            try shipped.replacingOccurrences(of: "\"../netlists/felif_neuron.cir\"", with: "\"\(netlist.path)\"")
                .write(to: url, atomically: true, encoding: .utf8)
            return url
        }
        let fitStart = try XCTUnwrap(shipped.range(of: "[fit]"))
        let fitEnd = try XCTUnwrap(shipped.range(of: "[[stimulus]]", range: fitStart.upperBound..<shipped.endIndex))
        let fit = String(shipped[fitStart.lowerBound..<fitEnd.lowerBound])
            .components(separatedBy: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        let text = """
        [simulation]
        netlist = "\(netlist.path)"
        sample_interval = 1e-4
        step = 1e-6

        \(fit)
        [[stimulus]]
        name = "fI-500pA"
        kind = "constant"
        current = 500e-12
        duration = 0.05

        [[stimulus]]
        name = "fI-2nA"
        kind = "constant"
        current = 2e-9
        duration = 0.02

        [[stimulus]]
        name = "burst-then-silence"
        kind = "burst"
        current = 1e-9
        on = 8e-3
        duration = 0.04

        [[stimulus]]
        name = "random-held-out"
        kind = "random"
        max_current = 1.6e-9
        window = 1e-3
        duration = 0.04
        seed = 12
        held_out = true
        """
        let url = folder.appendingPathComponent("felif-short.toml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }


    func testCalibrationFollowsTwoOrThreeChangesAtOnce() async throws {
        let pool = try SpicePool(count: 2)
        let only = ProcessInfo.processInfo.environment["BRUNO_MATRIX_CASE"].flatMap(Int.init)
        for (index, c) in Self.matrix.enumerated() where only == nil || only == index {
            let dir = try netlistWorkspace()
            for change in c.changes {
                let url = dir.appendingPathComponent(change.file)
                let text = try String(contentsOf: url, encoding: .utf8)
                XCTAssertTrue(text.contains(change.old), "\(c.name): \(change.file) has no '\(change.old)'")
                try text.replacingOccurrences(of: change.old, with: change.new).write(to: url, atomically: true, encoding: .utf8)
            }
            let cir = dir.appendingPathComponent("netlists/felif_neuron.cir")
            let run = FeLIFCalibrationRun(protocolFile: try FeLIFProtocol.load(try Self.shortProtocol(netlist: cir, in: dir)))
            let card = try await run.run(pool: pool, out: dir.appendingPathComponent("out")) { _ in }
            let report = try String(contentsOf: dir.appendingPathComponent("out/felif-report.md"), encoding: .utf8)
            for (name, value) in c.expect {
                let p = try XCTUnwrap(card.parameters.first { $0.name == name }, name)
                switch p.source {
                case "netlist":
                    XCTAssertEqual(p.value, value, accuracy: abs(value) * 1e-12, "\(c.name): \(name) read from the netlist")
                case "fitted":
                    XCTAssertEqual(try XCTUnwrap(p.netlistValue), value, accuracy: abs(value) * 1e-12, "\(c.name): \(name)")
                    XCTAssertEqual(p.value, value, accuracy: abs(value) * 0.03, "\(c.name): fitted \(name) within 3 %")
                default:
                    XCTFail("\(c.name): \(name) has source \(p.source ?? "none")")
                }
            }
            // Nothing the netlist sets is left at a default; every read value names its place.
            for p in card.parameters where p.source == "netlist" { XCTAssertNotNil(p.place, "\(c.name): \(p.name)") }
            XCTAssertEqual(card.parameters.filter { $0.source == "default" }.map(\.name), ["voltageLimit"], c.name)
            XCTAssertLessThanOrEqual(try XCTUnwrap(card.statistics["held_out_nrmse_max"]), 0.02, "\(c.name)\n\(report)")
            XCTAssertEqual(card.passedGate, true, c.name)
            // The fitted reset polarization is what the circuit's FeCap holds after a reset (its internal node).
            let measured = try await Self.polarizationAfterReset(cir, pool: pool)
            XCTAssertEqual(try XCTUnwrap(card.value("resetPolarization")), measured, accuracy: 0.004, c.name)
            let fitted = card.parameters.filter { $0.fitted }.map { p in
                p.netlistValue.map { "\(p.name) " + String(format: "%+.2f %%", (p.value / $0 - 1) * 100) } ?? p.name
            }
            print(String(format: "matrix | %@ | %.3f %% | %@ |", c.name, (card.statistics["held_out_nrmse_max"] ?? .nan) * 100,
                         fitted.joined(separator: ", ")))
        }
    }

    /// P/Ps on the FeCap's state node `xn.xfe.p` when the first spike of a 1 nA input ends.
    static func polarizationAfterReset(_ cir: URL, pool: SpicePool) async throws -> Double {
        let deck = try FeLIFStimulus.constant("probe", current: 1e-9, duration: 0.03).deck(from: try Netlist(contentsOf: cir))
        let r = try await pool.simulate(deck)
        let spk = try XCTUnwrap(r["v(spk)"]?.real), p = try XCTUnwrap(r["v(xn.xfe.p)"]?.real)
        let end = try XCTUnwrap(spk.indices.dropFirst().first { spk[$0 - 1] > 0.5 && spk[$0] <= 0.5 }, "no spike in 30 ms")
        return p[end]
    }

    func testACardThatMissesTheQualityGateFailsAndTrainingRefusesIt() async throws {
        let dir = try netlistWorkspace()
        let cir = dir.appendingPathComponent("netlists/felif_neuron.cir")
        var text = try String(contentsOf: try Self.shortProtocol(netlist: cir, in: dir), encoding: .utf8)
        text = text.replacingOccurrences(of: "max_heldout_nrmse = 0.02", with: "max_heldout_nrmse = 0.0001")
        text = text.replacingOccurrences(of: #"quantities = \[[^\]]*\]"#, with: #"quantities = ["threshold"]"#, options: .regularExpression)
        let protocolURL = dir.appendingPathComponent("strict.toml")
        try text.write(to: protocolURL, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        let run = FeLIFCalibrationRun(protocolFile: try FeLIFProtocol.load(protocolURL))
        do {
            _ = try await run.run(pool: try SpicePool(count: 2), out: out) { _ in }
            XCTFail("a 0.01 % gate must fail")
        } catch let error as CalibrationError {
            let message = error.description
            XCTAssertTrue(message.contains("quality gate") && message.contains("random-held-out") && message.contains("0.01 %"), message)
            XCTAssertFalse(message.contains("\n"), message)
        }
        let card = try DeviceCard.load(out.appendingPathComponent("felif.card.json"))
        XCTAssertEqual(card.passedGate, false)
        XCTAssertThrowsError(try card.requirePassedGate(file: out.appendingPathComponent("felif.card.json"), accepting: false)) {
            XCTAssertTrue("\($0)".contains("accept_failed_card"), "\($0)")
        }
        XCTAssertNoThrow(try card.requirePassedGate(file: out, accepting: true))
        let report = try String(contentsOf: out.appendingPathComponent("felif-report.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("**failed**"), report)
    }

    func testNetlistsThatCannotBeCalibratedAreRefusedBeforeAnythingIsWritten() async throws {
        let cases: [(String, String, String)] = [
            ("Iin 0 mem DC {iin}", "* no input source", "no current source `Iin`"),
            ("Iin 0 mem DC {iin}", "Iin 0 spk DC {iin}", "must drive the membrane node `mem`"),
            ("XN mem spk felif", "XN memx spk felif", "no subcircuit instance on node `mem`"),
            (".param idsc=10p", ".param idsc={10p*nosuchname}", "felif_neuron.cir"),
        ]
        for (old, new, expected) in cases {
            let dir = try netlistWorkspace()
            let cir = dir.appendingPathComponent("netlists/felif_neuron.cir")
            let text = try String(contentsOf: cir, encoding: .utf8)
            XCTAssertTrue(text.contains(old))
            try text.replacingOccurrences(of: old, with: new).write(to: cir, atomically: true, encoding: .utf8)
            let out = dir.appendingPathComponent("out")
            let run = FeLIFCalibrationRun(protocolFile: try FeLIFProtocol.load(try Self.shortProtocol(netlist: cir, in: dir)))
            do {
                _ = try await run.run(pool: try SpicePool(count: 1), out: out) { _ in }
                XCTFail("\(new): expected an error")
            } catch {
                XCTAssertTrue("\(error)".contains(expected), "\(new): \(error)")
                XCTAssertFalse("\(error)".contains("\n\n"), "\(error)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "\(new): nothing is written")
        }
    }
}
