import BrunoSpice
import Foundation
import XCTest

/// Netlists written to make ngspice run commands, crash or hang: none may run a command, create a file, take
/// the process down or run without bound. Each reproducer of issue #14 is here by name.
final class HostileNetlistTests: XCTestCase {
    private var dir: URL!
    private var marker: URL { dir.appendingPathComponent("PWNED") }

    override func setUpWithError() throws {
        dir = try Fixtures.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private func write(_ text: String, _ name: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// Commands that would create the marker file if ngspice ran them.
    private var commands: String {
        """
        shell touch \(marker.path)
        echo owned > \(marker.path)
        write \(marker.path) all
        """
    }

    /// Loads and simulates `top`; the circuit must still simulate (V1 across R1) and the marker must not exist.
    private func assertHarmless(_ top: URL, noteContains: String, file: StaticString = #filePath, line: UInt = #line)
        throws
    {
        let netlist = try Netlist(contentsOf: top)
        XCTAssertTrue(netlist.notes.contains { $0.contains(noteContains) }, "\(netlist.notes)", file: file, line: line)
        let statements = netlist.deck.filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("* ") }
        XCTAssertFalse(
            statements.contains { $0.lowercased().contains("shell") || $0.lowercased().contains("write ") },
            "a command reached the deck", file: file, line: line)
        let result = try SpiceInstance().simulate(netlist)
        XCTAssertEqual(try XCTUnwrap(result["a"]?.real.first, file: file, line: line), 2, accuracy: 1e-12,
                       file: file, line: line)
        XCTAssertTrue(result.warnings.contains { $0.contains(noteContains) }, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker.path), "a command ran", file: file, line: line)
    }

    private let circuit = "V1 a 0 DC 2\nR1 a 0 1k\n.op\n.end\n"

    func testControlBlockInAnIncludedFileIsRemoved() throws {
        _ = try write("* a library with commands\nR9 a 0 1meg\n.control\n\(commands)\n.endc\n", "cmd.lib")
        let top = try write("top\n.include cmd.lib\n" + circuit, "top.cir")
        try assertHarmless(top, noteContains: ".control")
    }

    func testControlBlockInALibrarySectionIsRemoved() throws {
        _ = try write(".lib typical\nR9 a 0 1meg\n.control\n\(commands)\n.endc\n.endl\n", "sections.lib")
        let top = try write("top\n.lib sections.lib typical\n" + circuit, "top.cir")
        try assertHarmless(top, noteContains: ".control")
    }

    func testStarHashCommandLinesAreRemovedEverywhere() throws {
        _ = try write("* library\n*# shell touch \(marker.path)\n", "hash.lib")
        let top = try write("top\n*#shell touch \(marker.path)\n.include hash.lib\n" + circuit, "top.cir")
        try assertHarmless(top, noteContains: "*#")
    }

    func testControlIsMatchedByPrefixAsNgspiceDoes() throws {
        for opening in [".controls", ".control;x", ".CONTROL", "  .control", ".controlled"] {
            let top = try write("top\n\(opening)\n\(commands)\n.endcx\n" + circuit, "top.cir")
            try assertHarmless(top, noteContains: ".control")
        }
    }

    func testUnterminatedControlBlockRunsNothing() throws {
        let top = try write("top\n" + circuit.replacingOccurrences(of: ".end\n", with: "") + ".control\n\(commands)\n",
                            "top.cir")
        try assertHarmless(top, noteContains: "no .endc")
    }

    func testScriptTitleDoesNotMakeTheDeckAScript() throws {
        let top = try write("*ng_script\n\(commands)\n", "script.cir")
        let netlist = try Netlist(contentsOf: top)
        XCTAssertTrue(netlist.notes.contains { $0.contains("*ng_script") })
        XCTAssertThrowsError(try SpiceInstance().simulate(netlist))
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker.path), "the script ran")
    }

    func testIncludeSpelledByPrefixIsExpandedByBruno() throws {
        // ngspice reads `.incfoo FILE` as an include; if Bruno passed it on, ngspice would open the file itself.
        _ = try write("R9 a 0 1meg\n.control\n\(commands)\n.endc\n", "cmd.lib")
        let top = try write("top\n.incfoo cmd.lib\n" + circuit, "top.cir")
        try assertHarmless(top, noteContains: ".control")
        XCTAssertFalse(try Netlist(contentsOf: top).deck.contains { Netlist.keyword(of: $0).hasPrefix(".inc") })
    }

    func testSpiceinitInTheWorkingDirectoryIsNotRun() throws {
        _ = try write("\(commands)\n", ".spiceinit")
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(dir.path))
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        let spice = try SpiceInstance()
        let result = try spice.simulate(try Fixtures.netlist("t\n" + circuit))
        XCTAssertEqual(result["a"]?.real.first, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker.path), ".spiceinit ran")
    }

    func testErrorsQuoteNoIncludedFileContents() throws {
        let secret = "topsecret-4af9 hunter2 password"
        _ = try write("\(secret)\n", "secrets.txt")
        let top = try write("top\n.include secrets.txt\n" + circuit, "top.cir")
        XCTAssertThrowsError(try SpiceInstance().simulate(try Netlist(contentsOf: top))) { error in
            let text = "\(error)".lowercased()
            for word in ["topsecret", "hunter2", "password"] { XCTAssertFalse(text.contains(word), text) }
            XCTAssertTrue(text.contains("…"), "ngspice's message is quoted with the file's words redacted: \(text)")
        }
    }

    func testRecursiveIncludesAreRefusedNamingTheCycle() throws {
        let selfInclude = try write("t\n.include self.cir\n.end\n", "self.cir")
        XCTAssertThrowsError(try Netlist(contentsOf: selfInclude)) { error in
            guard case .refused(let location, let reason)? = error as? SpiceError else { return XCTFail("\(error)") }
            XCTAssertEqual(location?.line, 2)
            XCTAssertTrue(reason.contains("cycle"), reason)
        }
        let a = try write("t\n.include b.lib\n.end\n", "a.cir")
        _ = try write("* b\n.include c.lib\n", "b.lib")
        _ = try write("* c\n\n.inc 'b.lib'\n", "c.lib")
        XCTAssertThrowsError(try Netlist(contentsOf: a)) { error in
            guard case .refused(let location, let reason)? = error as? SpiceError else { return XCTFail("\(error)") }
            XCTAssertEqual(location?.file, dir.appendingPathComponent("c.lib").path)
            XCTAssertEqual(location?.line, 3)
            XCTAssertTrue(reason.contains("b.lib → c.lib → b.lib"), reason)
        }
        // The same file twice, not nested, is no cycle; nor is a library calling its own other section.
        _ = try write(".lib outer\n.lib 'two.lib' inner\n.endl\n.lib inner\nR9 a 0 1meg\n.endl\n", "two.lib")
        let ok = try write("t\n.lib two.lib outer\n.include d.lib\n.include d.lib\n" + circuit, "ok.cir")
        _ = try write("* nothing\n", "d.lib")
        XCTAssertEqual(try SpiceInstance().simulate(try Netlist(contentsOf: ok))["a"]?.real.first, 2)
    }

    func testDeepNestingIsRefused() throws {
        for i in 0..<30 { _ = try write("* level \(i)\n.include l\(i + 1).lib\n", "l\(i).lib") }
        _ = try write("* bottom\n", "l30.lib")
        let top = try write("t\n.include l0.lib\n" + circuit, "top.cir")
        XCTAssertThrowsError(try Netlist(contentsOf: top)) { error in
            XCTAssertTrue("\(error)".contains("nest deeper than 16"), "\(error)")
        }
        XCTAssertNoThrow(try Netlist(contentsOf: top, limits: NetlistReadLimits(maxIncludeDepth: 40)))
    }

    func testOnlyRegularTextFilesWithinTheSizeLimitAreRead() throws {
        let fifo = dir.appendingPathComponent("pipe")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        for (target, expected) in [(fifo.path, "named pipe"), ("/dev/zero", "device"), (dir.path, "directory")] {
            let top = try write("t\n.include \(target)\n" + circuit, "top.cir")
            XCTAssertThrowsError(try Netlist(contentsOf: top)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
                XCTAssertTrue("\(error)".contains("top.cir line 2"), "\(error)")
            }
        }
        _ = try write(String(repeating: "* padding line\n", count: 1000), "big.lib")
        let top = try write("t\n.include big.lib\n" + circuit, "top.cir")
        XCTAssertThrowsError(try Netlist(contentsOf: top, limits: NetlistReadLimits(maxFileBytes: 10_000))) { error in
            XCTAssertTrue("\(error)".contains("15000 bytes"), "\(error)")
        }
        let nul = dir.appendingPathComponent("nul.lib")
        try Data("* ok\nR1 a 0 1k\u{0}junk\n".utf8).write(to: nul)
        let withNul = try write("t\n.include nul.lib\n" + circuit, "top.cir")
        XCTAssertThrowsError(try Netlist(contentsOf: withNul)) { error in
            XCTAssertTrue("\(error)".contains("NUL byte at line 2"), "\(error)")
        }
    }

    func testMalformedAssignmentsAreRefusedBeforeNgspiceCrashes() throws {
        // `.param =` inside a subcircuit is a SIGSEGV in ngspice 39; the others kill the instance.
        let cases: [(String, Int, String)] = [
            (".subckt s a b\n.param =\nR1 a b 1k\n.ends\n", 3, "expected a parameter name"),
            (".subckt s a b\n.param = 3\nR1 a b 1k\n.ends\n", 3, "expected a parameter name"),
            (".subckt s a b\n.param x=\nR1 a b 1k\n.ends\n", 3, "'x' has no value"),
            (".subckt s a b x=\nR1 a b 1k\n.ends\n", 2, "'x' has no value"),
            (".subckt s a b\n+ x=1 y=\nR1 a b 1k\n.ends\n", 2, "'y' has no value"),
            (".param\n", 2, "expected NAME=VALUE"),
        ]
        for (text, line, reason) in cases {
            XCTAssertThrowsError(try Fixtures.netlist("t\n" + text + circuit)) { error in
                guard case .refused(let location, let why)? = error as? SpiceError else { return XCTFail("\(error)") }
                XCTAssertEqual(location?.line, line, text)
                XCTAssertTrue(why.contains(reason), "\(why) for \(text)")
            }
        }
        // Well-formed ones pass: braces, quotes, comparisons, comments and continuations.
        XCTAssertNoThrow(try Fixtures.netlist("""
        t
        .param a = 1k b={a*2} c='a > 1 ? 1 : 2' ; d=
        + e = {a == 1k}
        .subckt s x y w=1 q={a}
        R1 x y {w}
        .ends
        X1 a 0 s w=2
        \(circuit)
        """))
    }

    func testAnalysesWithoutBoundAreRefusedWithTheEstimate() throws {
        let cases: [(String, String)] = [
            (".tran 1e-300 1m", "1e+297 points"),
            (".ac lin 1e9 1 1k", "1e+09 points"),
            (".dc V1 0 1 1e-9", "1e+09 points"),
            (".param tstop=1e6\n.tran 1u {tstop}", "1e+12 points"),
        ]
        let spice = try SpiceInstance()
        for (analysis, estimate) in cases {
            let netlist = try Fixtures.netlist("t\nV1 a 0 DC 2\nR1 a 0 1k\n\(analysis)\n.end\n")
            XCTAssertThrowsError(try spice.simulate(netlist)) { error in
                guard case .refused(let location, let reason)? = error as? SpiceError else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains(estimate), reason)
                XCTAssertNotNil(location)
            }
        }
        XCTAssertThrowsError(try spice.simulate(try Fixtures.netlist(Fixtures.rc), analysis: .transient(step: 1e-15, stop: 1)))
        XCTAssertLessThan(try Fixtures.rcError(try spice.simulate(try Fixtures.netlist(Fixtures.rc))), 1e-4)
    }

    func testAStuckSimulationIsHaltedAtItsTimeLimitAndTheInstanceRecovers() throws {
        let spice = try SpiceInstance(limits: SpiceLimits(timeLimit: 0.5))
        // 1e7 points of a driven RC: under the point limit, and seconds of work.
        let slow = try Fixtures.netlist("t\nV1 a 0 sin(0 1 1meg)\nR1 a b 1k\nC1 b 0 1n\n.save v(b)\n.tran 1n 10m\n.end\n")
        let start = Date()
        XCTAssertThrowsError(try spice.simulate(slow)) { error in
            guard case .timedOut(let seconds, let reached)? = error as? SpiceError else { return XCTFail("\(error)") }
            XCTAssertEqual(seconds, 0.5)
            XCTAssertLessThan(reached ?? .infinity, 10e-3)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertLessThan(try Fixtures.rcError(try spice.simulate(try Fixtures.netlist(Fixtures.rc))), 1e-4)
    }

    func testCarriageReturnLineEndingsAreLines() throws {
        let netlist = try Fixtures.netlist("old mac file\rV1 a 0 DC 2\rR1 a 0 1k\r.op\r.end\r")
        XCTAssertEqual(try SpiceInstance().simulate(netlist)["a"]?.real.first, 2)
    }

    func testAnOptionOfTheWrongTypeIsReportedAtItsLine() throws {
        // The one netlist-fuzz failure without a location (3000 cases): ngspice names only the option.
        let url = try write("opt\nV1 a 0 DC 2\nR1 a 0 1k\n\n.options reltol=abc\n.op\n.end\n", "opt.cir")
        XCTAssertThrowsError(try SpiceInstance().simulate(try Netlist(contentsOf: url))) { error in
            guard case .parse(let location?, _)? = error as? SpiceError else { return XCTFail("\(error)") }
            XCTAssertEqual(location.line, 5)
            XCTAssertTrue(location.text.contains("reltol=abc"), location.text)
        }
    }
}
