import BrunoSpice
import Foundation
import XCTest

final class NetlistTests: XCTestCase {
    func testRelativeIncludesResolveAgainstTheNetlistFolder() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let models = dir.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        // The library includes a sibling file by a relative path: ngspice resolves it against the library's folder.
        try ".subckt rdiv a b mid\nR1 a mid {rtop}\n.include inner.lib\n.ends\n".write(to: models.appendingPathComponent("div.lib"), atomically: true, encoding: .utf8)
        try "R2 mid b 1k\n".write(to: models.appendingPathComponent("inner.lib"), atomically: true, encoding: .utf8)
        let circuits = dir.appendingPathComponent("circuits")
        try FileManager.default.createDirectory(at: circuits, withIntermediateDirectories: true)
        let file = circuits.appendingPathComponent("top.cir")
        try """
        divider through includes
        .include ../models/div.lib
        .param rtop=3k
        V1 in 0 DC 4
        X1 in 0 mid rdiv
        .op
        .end
        """.write(to: file, atomically: true, encoding: .utf8)
        // Run from another working directory: resolution must not depend on it.
        var netlist = try Netlist(contentsOf: file)
        XCTAssertTrue(netlist.lines[1].text.contains(models.appendingPathComponent("div.lib").path))
        let spice = try SpiceInstance()
        XCTAssertEqual(try XCTUnwrap(spice.simulate(netlist)["v(mid)"]).real[0], 1.0, accuracy: 1e-9)
        try netlist.setParameter("rtop", to: "1k")
        XCTAssertEqual(try XCTUnwrap(spice.simulate(netlist)["v(mid)"]).real[0], 2.0, accuracy: 1e-9)
        // Every file the simulation reads: the library and, through it, its sibling.
        XCTAssertEqual(try netlist.includedFiles().map(\.path), ["div.lib", "inner.lib"].map { models.appendingPathComponent($0).standardizedFileURL.path })
        // A library whose own include is missing: the error names that file and the library's line.
        try FileManager.default.removeItem(at: models.appendingPathComponent("inner.lib"))
        XCTAssertThrowsError(try netlist.includedFiles()) { error in
            XCTAssertTrue("\(error)".contains("inner.lib"), "\(error)")
            XCTAssertTrue("\(error)".contains("div.lib line 3"), "\(error)")
        }
    }

    func testMissingFileIsAClearError() {
        XCTAssertThrowsError(try Netlist(contentsOf: URL(fileURLWithPath: "/nonexistent/x.cir"))) { error in
            XCTAssertEqual(error as? SpiceError, .fileNotFound(path: "/nonexistent/x.cir", includedFrom: nil))
            XCTAssertTrue("\(error)".contains("/nonexistent/x.cir"))
        }
    }

    func testParameterOverrideKeepsLineNumbersAndOtherParameters() throws {
        var netlist = try Fixtures.netlist("""
        title
        .param a=1 b={a*2}  ; comment with c=5
        + c = 3meg
        .subckt s x y a=7
        .param inner=4
        .ends
        .end
        """)
        XCTAssertEqual(netlist.topLevelParameters, ["a", "b", "c"])
        try netlist.setParameter("c", to: "2.5")
        try netlist.setParameter("b", to: "a+1")
        XCTAssertEqual(netlist.lines[1].text, ".param a=1 b={a+1}  ; comment with c=5")
        XCTAssertEqual(netlist.lines[2].text, "+ c = 2.5")
        XCTAssertThrowsError(try netlist.setParameter("inner", to: "1"), "subcircuit-local parameters are not top-level")
        XCTAssertEqual(netlist.lines.count, 7)
    }

    func testControlBlocksAreSkippedWithANote() throws {
        let spice = try SpiceInstance()
        let netlist = try Fixtures.netlist("""
        with control
        V1 a 0 DC 2
        R1 a 0 1k
        .control
        op
        print all
        quit
        .endc
        .op
        .end
        """)
        XCTAssertEqual(netlist.notes.count, 1)
        let result = try spice.simulate(netlist)
        XCTAssertEqual(result.plots.count, 1)
        XCTAssertTrue(result.warnings.contains { $0.contains(".control") })
    }

    func testSpiceNumbers() {
        XCTAssertEqual(SpiceNumber.parse("1k"), 1e3)
        XCTAssertEqual(SpiceNumber.parse("2.5meg"), 2.5e6)
        XCTAssertEqual(SpiceNumber.parse("10u"), 10e-6)
        XCTAssertEqual(SpiceNumber.parse("5ns")!, 5e-9, accuracy: 1e-24)
        XCTAssertEqual(SpiceNumber.parse("1e-3"), 1e-3)
        XCTAssertEqual(SpiceNumber.parse("3m"), 3e-3)
        XCTAssertNil(SpiceNumber.parse("abc"))
        XCTAssertNil(SpiceNumber.parse("1k+2"))
    }

    func testResultExportsRoundTrip() throws {
        let spice = try SpiceInstance()
        let result = try spice.simulate(try Fixtures.netlist(Fixtures.rc))
        let plot = try XCTUnwrap(result.mainPlot)
        let csv = try plot.table(["v(out)"]).csv()
        let rows = csv.split(separator: "\n")
        XCTAssertEqual(rows.first, "time [s],out [V]")
        let out = try XCTUnwrap(plot["out"]).real
        // Every value reads back as the same double.
        for (i, row) in rows.dropFirst().enumerated() {
            XCTAssertEqual(Double(row.split(separator: ",")[1]), out[i])
        }
        let json = try JSONSerialization.jsonObject(with: Data(try result.json().utf8)) as? [String: Any]
        let plots = try XCTUnwrap(json?["plots"] as? [[String: Any]])
        XCTAssertEqual(plots.first?["kind"] as? String, "tran")
        XCTAssertThrowsError(try plot.table(["v(nonexistent)"]))
    }
}
