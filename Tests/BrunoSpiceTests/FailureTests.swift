import BrunoSpice
import Foundation
import XCTest

/// Every failure class becomes its typed error, names the line, and leaves the instance usable.
final class FailureTests: XCTestCase {
    /// Runs `netlist`, expects an error, then checks the same instance still simulates the RC exactly.
    private func expectFailure(_ text: String, on spice: SpiceInstance, file: StaticString = #filePath, line: UInt = #line,
                               _ check: (SpiceError) -> Void) throws {
        let netlist = try Fixtures.netlist(text, name: "bad.cir")
        XCTAssertThrowsError(try spice.simulate(netlist), file: file, line: line) { error in
            guard let e = error as? SpiceError else { return XCTFail("not a SpiceError: \(error)", file: file, line: line) }
            XCTAssertFalse(e.description.isEmpty)
            check(e)
        }
        XCTAssertLessThan(try Fixtures.rcError(try spice.simulate(try Fixtures.netlist(Fixtures.rc))), 1e-4,
                          "instance unusable after the failure", file: file, line: line)
    }

    func testParseErrorNamesTheLine() throws {
        let spice = try SpiceInstance()
        try expectFailure("""
        bad element
        V1 in 0 DC 1
        Q1 in
        R1 in 0 1k
        .tran 1u 1m
        .end
        """, on: spice) { e in
            guard case .parse(let location, let messages) = e else { return XCTFail("expected .parse, got \(e)") }
            XCTAssertEqual(location?.line, 3, "\(messages)")
            XCTAssertEqual(location?.file, "bad.cir")
        }
    }

    func testUnknownModel() throws {
        let spice = try SpiceInstance()
        try expectFailure("""
        unknown model
        V1 in 0 DC 1
        D1 in 0 nosuchdiode
        .tran 1u 1m
        .end
        """, on: spice) { e in
            guard case .unknownModel(let name, let location, _) = e else { return XCTFail("expected .unknownModel, got \(e)") }
            XCTAssertEqual(name, "nosuchdiode")
            XCTAssertEqual(location?.line, 3)
        }
    }

    func testUnknownSubcircuit() throws {
        let spice = try SpiceInstance()
        try expectFailure("""
        unknown subckt
        V1 in 0 DC 1
        R1 in 0 1k
        X1 in 0 nosuchsub
        .tran 1u 1m
        .end
        """, on: spice) { e in
            guard case .unknownSubcircuit(let name, let location, _) = e else { return XCTFail("expected .unknownSubcircuit, got \(e)") }
            XCTAssertEqual(name, "nosuchsub")
            XCTAssertEqual(location?.line, 4)
        }
    }

    func testMissingIncludeIsReportedBeforeNgspice() throws {
        XCTAssertThrowsError(try Fixtures.netlist("""
        missing include
        * a comment
        .include models/nothere.lib
        .end
        """, base: URL(fileURLWithPath: "/tmp"))) { error in
            guard case .fileNotFound(let path, let from) = error as? SpiceError else { return XCTFail("got \(error)") }
            XCTAssertEqual(path, "/tmp/models/nothere.lib")
            XCTAssertEqual(from?.line, 3)
        }
    }

    func testMissingNestedIncludeNamesTheIncludingLine() throws {
        // The top-level include exists; the file it includes does not. Bruno reads every include itself, so the
        // error comes before ngspice runs and names the library's line, not only the missing file.
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try "* outer\n.include inner_missing.lib\n".write(
            to: dir.appendingPathComponent("outer.lib"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(
            try Fixtures.netlist("nested\n.include \(dir.path)/outer.lib\nV1 a 0 1\nR1 a 0 1k\n.op\n.end")
        ) { error in
            guard case .fileNotFound(let path, let from)? = error as? SpiceError else {
                return XCTFail("expected .fileNotFound, got \(error)")
            }
            XCTAssertTrue(path.contains("inner_missing.lib"), path)
            XCTAssertEqual(from?.file, dir.appendingPathComponent("outer.lib").path)
            XCTAssertEqual(from?.line, 2)
        }
    }

    func testUndefinedParameterRecoversByReloading() throws {
        let spice = try SpiceInstance()
        let before = spice.generation
        try expectFailure("""
        undefined param
        V1 in 0 DC 1
        R1 in 0 {rval*2}
        .tran 1u 1m
        .end
        """, on: spice) { e in
            guard case .undefinedParameter(let name, let location, _) = e else { return XCTFail("expected .undefinedParameter, got \(e)") }
            XCTAssertEqual(name, "rval")
            XCTAssertEqual(location?.line, 3)
        }
        XCTAssertEqual(spice.generation, before + 1, "the dead library must have been replaced by a fresh copy")
        // And again: recovery is repeatable.
        try expectFailure("u\nR1 a 0 {nope}\nV1 a 0 1\n.op\n.end", on: spice) { e in
            guard case .undefinedParameter = e else { return XCTFail("got \(e)") }
        }
        XCTAssertEqual(spice.generation, before + 2)
    }

    func testTimestepTooSmallIsAConvergenceError() throws {
        let spice = try SpiceInstance()
        try expectFailure("""
        runaway
        V1 in 0 PULSE(0 1 0 1n 1n 1 2)
        B1 0 out I=exp(1000*v(out))
        C1 out 0 1p
        R1 in out 1
        .tran 1u 1m
        .end
        """, on: spice) { e in
            guard case .convergence(_, let messages) = e else { return XCTFail("expected .convergence, got \(e)") }
            XCTAssertTrue(messages.contains { $0.lowercased().contains("timestep too small") }, "\(messages)")
        }
    }

    func testConvergenceFailureMidTransientReportsTheTime() throws {
        let spice = try SpiceInstance()
        // Positive feedback (the injected current grows as e^(40·V)) runs away once the input ramps up after 0.5 ms.
        try expectFailure("""
        late failure
        V1 in 0 PWL(0 0 0.5m 0 0.6m 1)
        R1 in out 1k
        C1 out 0 1p
        B1 0 out I=1e-9*exp(40*v(out))
        .tran 1u 1m
        """, on: spice) { e in
            guard case .convergence(let time, _) = e else { return XCTFail("expected .convergence, got \(e)") }
            let t = try? XCTUnwrap(time)
            XCTAssertEqual(t ?? 0, 0.52e-3, accuracy: 0.02e-3)
        }
    }

    func testNoAnalysisIsAnAbortedRun() throws {
        let spice = try SpiceInstance()
        try expectFailure("nothing to run\nV1 a 0 1\nR1 a 0 1k\n.end", on: spice) { e in
            guard case .aborted = e else { return XCTFail("expected .aborted, got \(e)") }
        }
    }

    func testMeaningChangingWarningIsSurfaced() throws {
        let spice = try SpiceInstance()
        let result = try spice.simulate(try Fixtures.netlist("""
        resistor without value
        V1 in 0 DC 1
        R1 in out
        C1 out 0 1u
        .tran 1u 1m
        .end
        """))
        XCTAssertTrue(result.warnings.contains { $0.lowercased().contains("r1") }, "\(result.warnings)")
    }

    func testUnknownParameterOverrideIsRejected() throws {
        var netlist = try Fixtures.netlist(Fixtures.rc)
        XCTAssertThrowsError(try netlist.setParameter("rvla", to: "1k")) { error in
            guard case .unknownParameterOverride(let name, _, let defined) = error as? SpiceError else { return XCTFail("got \(error)") }
            XCTAssertEqual(name, "rvla")
            XCTAssertEqual(defined, ["rval"])
        }
    }

    func testBadAnalysisValuesAreRejected() throws {
        let spice = try SpiceInstance()
        let netlist = try Fixtures.netlist(Fixtures.rc)
        XCTAssertThrowsError(try spice.simulate(netlist, analysis: .transient(step: 0, stop: 1e-3)))
        XCTAssertThrowsError(try spice.simulate(netlist, analysis: .transient(step: 1e-6, stop: .nan)))
        XCTAssertThrowsError(try spice.simulate(netlist, analysis: .dc(source: "", start: 0, stop: 1, step: 0.1)))
    }
}
