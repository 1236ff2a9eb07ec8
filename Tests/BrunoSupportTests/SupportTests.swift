import BrunoSupport
import Foundation
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif

final class SupportTests: XCTestCase {
    func testAtomicWriteReplacesWholeFileAndLeavesNoTemporaries() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-atomic-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("nested/out.txt")
        try AtomicFile.write("first", to: file)
        try AtomicFile.write("second", to: file)
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), "second")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: file.deletingLastPathComponent().path), ["out.txt"])
    }

    func testAtomicWriteIntoUnwritablePlaceThrows() {
        XCTAssertThrowsError(try AtomicFile.write("x", to: URL(fileURLWithPath: "/proc/nope/out.txt")))
    }

    func testCSVQuotesAndRoundTrips() {
        let t = Table(columns: [.init(name: "a,b", unit: "V", values: [1.5, -2e-12, .nan]), .init(name: "c", values: [0.1])])
        XCTAssertEqual(t.csv(), "\"a,b [V]\",c\n1.5,0.1\n-2e-12,\nnan,\n")
        let json = try? JSONSerialization.jsonObject(with: Data(t.json(extra: ["k": "v\"q"]).utf8)) as? [String: Any]
        XCTAssertEqual(json?["k"] as? String, "v\"q")
    }

    func testSVGIsWellFormedXML() throws {
        let x = (0..<10_000).map { Double($0) * 1e-6 }
        let plot = SVGPlot(title: "t <&>", xLabel: "time [s]", panels: [
            .init(yLabel: "V", series: [.init(label: "a", x: x, y: x.map { sin($0 * 1e4) }), .init(label: "b", x: x, y: x.map { cos($0 * 1e4) }, dashed: true)]),
            .init(yLabel: "I", series: [.init(label: "c", x: x, y: x.map { $0 + 1e-9 }, markers: true)], logY: true),
        ])
        let svg = plot.render()
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssertTrue(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        XCTAssertLessThan(svg.utf8.count, 1_500_000, "decimation keeps files small")
    }

    func testPlotsOfDegenerateRangesFinish() throws {
        // A range of one ULP (a PWL source from 1 to 1.0000000000000002), one point, a constant: each renders.
        let cases: [([Double], [Double])] = [
            ([0, 1e-3], [1, 1.0000000000000002]),
            ([5], [1e300]),
            ([0, 1, 2], [0, 0, 0]),
            ([1e15, 1e15 + 0.25], [-3, -3.0000000000000004]),
        ]
        for (x, y) in cases {
            let svg = SVGPlot(title: "t", xLabel: "x", panels: [.init(yLabel: "y", series: [.init(label: "s", x: x, y: y)])])
                .render()
            XCTAssertTrue(XMLParser(data: Data(svg.utf8)).parse())
        }
    }

    /// Issue 17's plot rules: plain numbers on dimensionless axes (0.8, not 800m), SI where the label names a unit;
    /// one colour per series label in every panel; marker series in one panel drawn with different shapes, and the
    /// legend drawing each series' own mark.
    func testTickFormatsColoursAndMarkersFollowWhatIsDrawn() throws {
        XCTAssertEqual(SVGPlot.plain(0.8), "0.8")
        XCTAssertEqual(SVGPlot.plain(250), "250")
        XCTAssertEqual(SVGPlot.plain(12_000), "12000")
        XCTAssertEqual(SVGPlot.plain(0), "0")
        XCTAssertTrue(SVGPlot.hasUnit("time [ms]"))
        XCTAssertFalse(SVGPlot.hasUnit("accuracy"))
        XCTAssertFalse(SVGPlot.hasUnit("ratio [1]"))
        let x = [1.0, 2, 3, 4, 5]
        let svg = SVGPlot(title: "t", xLabel: "epoch", panels: [
            .init(yLabel: "loss", series: [.init(label: "train", x: x, y: [3, 2, 1, 0.5, 0.2], markers: true),
                                           .init(label: "test", x: x, y: [3.1, 2.2, 1.1, 0.6, 0.3], markers: true)]),
            .init(yLabel: "accuracy", series: [.init(label: "test", x: x, y: [0.2, 0.4, 0.6, 0.8, 0.9], markers: true),
                                               .init(label: "train", x: x, y: [0.3, 0.5, 0.7, 0.85, 0.95], markers: true)]),
            .init(yLabel: "current [A]", series: [.init(label: "I", x: x, y: [1e-9, 2e-9, 3e-9, 4e-9, 5e-9])]),
        ]).render()
        XCTAssertTrue(XMLParser(data: Data(svg.utf8)).parse())
        XCTAssertTrue(svg.contains(">0.8</text>"), "accuracy ticks are plain numbers")
        XCTAssertFalse(svg.contains(">800m</text>"))
        XCTAssertTrue(svg.contains(">2n</text>") || svg.contains(">2.5n</text>") || svg.contains(">3n</text>"), "a unit keeps SI prefixes")
        // Legend entries: the colour of "train" is the same in both panels, whichever order the panel lists it in.
        func legendColor(_ label: String, occurrence: Int) throws -> String {
            let lines = svg.split(separator: "\n").filter { $0.hasSuffix(">\(label)</text>") }
            let line = String(lines[occurrence])
            let fill = try XCTUnwrap(line.range(of: #"(fill|stroke)="(#[0-9a-f]{6})""#, options: .regularExpression))
            return String(line[fill].suffix(8).dropLast())
        }
        XCTAssertEqual(try legendColor("train", occurrence: 0), try legendColor("train", occurrence: 1))
        XCTAssertEqual(try legendColor("test", occurrence: 0), try legendColor("test", occurrence: 1))
        XCTAssertNotEqual(try legendColor("train", occurrence: 0), try legendColor("test", occurrence: 0))
        // Two marker series in a panel: dots and rings, in the plot and in the legend; the line series: a line.
        XCTAssertGreaterThanOrEqual(svg.components(separatedBy: "fill=\"none\" stroke=").count - 1, 10, "rings for the second series")
        let iLegend = try XCTUnwrap(svg.split(separator: "\n").first { $0.hasSuffix(">I</text>") })
        XCTAssertTrue(iLegend.hasPrefix("<line"), "a line series has a line in its legend")
    }

    func testSIFormatting() {
        XCTAssertEqual(SVGPlot.si(1.5e-3), "1.5m")
        XCTAssertEqual(SVGPlot.si(2e-11), "20p")
        XCTAssertEqual(SVGPlot.si(0), "0")
        XCTAssertEqual(SVGPlot.si(-3300), "-3.3k")
    }

    func testSeededRandomIsReproducibleAndNormal() {
        var a = SeededRandom(seed: 42), b = SeededRandom(seed: 42), c = SeededRandom(seed: 43)
        let sa = (0..<5).map { _ in a.next() }
        XCTAssertEqual(sa, (0..<5).map { _ in b.next() })
        XCTAssertNotEqual(sa, (0..<5).map { _ in c.next() })
        var g = SeededRandom(seed: 7)
        let n = 200_000
        let xs = (0..<n).map { _ in g.gaussian() }
        let mean = xs.reduce(0, +) / Double(n)
        let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)
        // Standard errors: 1/√n ≈ 0.0022 for the mean, √(2/n) ≈ 0.0032 for the variance.
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.015)
        XCTAssertNotEqual(SeededRandom(seed: 1).derived(1), SeededRandom(seed: 1).derived(2))
    }
}

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(SHA256.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(Data(repeating: 0x61, count: 1000)), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}

final class ResampleTests: XCTestCase {
    func testLinearResamplingHoldsEndsAndInterpolates() {
        let x = [0.0, 1, 1, 3], y = [0.0, 2, 5, 9]
        // Before the first sample and after the last: held. At a repeated time: the earlier value.
        XCTAssertEqual(Resample.linear(x: x, y: y, at: [-1, 0, 0.5, 1, 2, 3, 4]), [0, 0, 1, 2, 7, 9, 9])
    }
}

final class NormalFillTests: XCTestCase {
    /// The ziggurat draws N(0, 1): moments over 10⁶ draws within a few standard errors,
    /// a Kolmogorov–Smirnov distance to Φ below the 0.1 % critical value, tails as often as Φ says, the same
    /// values for the same seed, odd counts filled.
    func testFillStandardNormalIsNormalAndSeeded() {
        var rng = SeededRandom(seed: 99)
        var x = [Float](repeating: .nan, count: 1_000_001)
        rng.fillStandardNormal(&x)
        XCTAssertFalse(x.contains { !$0.isFinite })
        let n = Double(x.count)
        let mean = x.reduce(0.0) { $0 + Double($1) } / n
        let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        let kurtosis = x.reduce(0.0) { $0 + pow(Double($1) - mean, 4) } / n / (variance * variance)
        XCTAssertEqual(mean, 0, accuracy: 5 / n.squareRoot())
        XCTAssertEqual(variance, 1, accuracy: 5 * (2 / n).squareRoot())
        XCTAssertEqual(kurtosis, 3, accuracy: 5 * (24 / n).squareRoot())
        let beyond3 = Double(x.filter { abs($0) > 3 }.count) / n
        XCTAssertEqual(beyond3, 0.0026998, accuracy: 0.0003)
        // Beyond the ziggurat's base strip (r = 3.44): the tail sampler, P(|x| > 3.6) = 3.18e-4.
        let beyond36 = Double(x.filter { abs($0) > 3.6 }.count) / n
        XCTAssertEqual(beyond36, 3.18e-4, accuracy: 0.6e-4)
        let sorted = x.sorted()
        var d = 0.0
        for (i, v) in sorted.enumerated() where i % 97 == 0 {
            let phi = 0.5 * erfc(-Double(v) / 2.0.squareRoot())
            d = max(d, abs(phi - Double(i) / n), abs(phi - Double(i + 1) / n))
        }
        XCTAssertLessThan(d, 1.95 / n.squareRoot())
        var again = SeededRandom(seed: 99)
        var y = [Float](repeating: 0, count: 11)
        again.fillStandardNormal(&y)
        XCTAssertEqual(Array(x.prefix(10)), Array(y.prefix(10)))
    }
}
