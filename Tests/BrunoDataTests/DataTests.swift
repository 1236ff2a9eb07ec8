import BrunoData
import Foundation
import XCTest

final class JSBTests: XCTestCase {
    /// The shared data folder beside the project (CI clones the project next to shared/).
    static let jsbFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/jsb/jsb-chorales-quarter-train-valid.json")

    func testLoadsTheSharedSplits() throws {
        guard FileManager.default.fileExists(atPath: Self.jsbFile.path) else {
            throw XCTSkip("shared data not found at \(Self.jsbFile.path)")
        }
        let train = try JSBChorales.load(Self.jsbFile, split: "train")
        let valid = try JSBChorales.load(Self.jsbFile, split: "valid")
        XCTAssertEqual(train.count, 229)
        XCTAssertEqual(valid.count, 76)
        XCTAssertEqual(train.channels, 54)
        // Next-step targets: the target at t is the input at t + 1.
        for sample in train.samples.prefix(20) {
            let targets = try XCTUnwrap(sample.targets)
            for t in 0..<(sample.steps - 1) {
                XCTAssertEqual(Array(targets[(t * 54)..<((t + 1) * 54)]), Array(sample.values[((t + 1) * 54)..<((t + 2) * 54)]))
            }
        }
        // The first chorale starts with MIDI 60, 72, 79, 88.
        let first = train.samples[0].values.prefix(54).enumerated().filter { $0.element == 1 }.map { $0.offset + 43 }
        XCTAssertEqual(first, [60, 72, 79, 88])
        XCTAssertThrowsError(try JSBChorales.load(Self.jsbFile, split: "test")) { error in
            XCTAssertTrue("\(error)".contains("no 'test' split"), "\(error)")
        }
    }

    func write(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("jsb-\(UUID().uuidString).json")
        try text.write(to: url, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testMalformedFilesGiveClearErrors() throws {
        let cases: [(String, String)] = [
            (#"{"train": [[[60], [61]]], "tset": []}"#, "unexpected key(s) tset"),
            (#"{"train": [[[60], 61]]}"#, "train[0][1]"),
            (#"{"train": [[[60], [61.5]]]}"#, "train[0][1][0]"),
            (#"{"train": [[[60], [true]]]}"#, "train[0][1][0]"),
            (#"{"train": [[[60], ["NaN"]]]}"#, "train[0][1][0]"),
            (#"{"train": [[[60], [99]]]}"#, "outside 43…96"),
            (#"{"train": [[[60]]]}"#, "at least 2 time steps"),
            (#"{"train": [[[60], [61]]"#, "not valid JSON"),
        ]
        for (text, expected) in cases {
            let url = try write(text)
            XCTAssertThrowsError(try JSBChorales.load(url, split: "train"), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(text) → \(error)")
                XCTAssertTrue("\(error)".contains(url.lastPathComponent), "the error names the file")
            }
        }
        XCTAssertThrowsError(try JSBChorales.load(URL(fileURLWithPath: "/nonexistent.json"), split: "train"))
    }
}

final class UEATests: XCTestCase {
    let multivariate = """
    # a comment
    @problemName Tiny
    @timeStamps false
    @missing false
    @univariate false
    @dimensions 2
    @equalLength false
    @classLabel true up down
    @data
    0,1,2,3:0,0,0,0:up
    3,2,1:1,1,1:down
    """

    func testParsesMultivariateUnequalLengthAndResamples() throws {
        let d = try UEATimeSeries.parse(multivariate, file: "tiny.ts", options: .init(samplePeriod: 2e-3, gridStep: 1e-3))
        XCTAssertEqual(d.name, "Tiny")
        XCTAssertEqual(d.channels, 2)
        XCTAssertEqual(d.classes, ["up", "down"])
        XCTAssertEqual(d.samples.map(\.label), [0, 1])
        // 4 samples 2 ms apart span 6 ms: 7 grid points; linear interpolation in between.
        XCTAssertEqual(d.samples[0].steps, 7)
        XCTAssertEqual((0..<7).map { d.samples[0].value(step: $0, channel: 0, channels: 2) }, [0, 0.5, 1, 1.5, 2, 2.5, 3])
        XCTAssertEqual(d.samples[1].steps, 5)
        XCTAssertEqual(d.samples[1].value(step: 4, channel: 1, channels: 2), 1)
    }

    func testTestFileLabelsAreMatchedToTheTrainingClassesByName() throws {
        // The test file lists its classes in the other order: labels must follow the names, not the positions.
        let test = multivariate.replacingOccurrences(of: "@classLabel true up down", with: "@classLabel true down up")
        XCTAssertNotEqual(test, multivariate)
        let train = try UEATimeSeries.parse(multivariate, file: "train.ts")
        let own = try UEATimeSeries.parse(test, file: "test.ts")
        XCTAssertEqual(own.samples.map(\.label), [1, 0], "in its own order the labels are permuted")
        let matched = try UEATimeSeries.parse(test, file: "test.ts", options: .init(classes: train.classes))
        XCTAssertEqual(matched.samples.map(\.label), train.samples.map(\.label))
        XCTAssertEqual(matched.classes, train.classes)
        // A class the training file does not know is an error naming the test file's line.
        let unknown = test.replacingOccurrences(of: "@classLabel true down up", with: "@classLabel true down up left")
            .replacingOccurrences(of: "3,2,1:1,1,1:down", with: "3,2,1:1,1,1:left")
        XCTAssertThrowsError(try UEATimeSeries.parse(unknown, file: "test.ts", options: .init(classes: train.classes))) {
            XCTAssertTrue("\($0)".contains("line 11"), "\($0)")
            XCTAssertTrue("\($0)".contains("'left' does not occur in the training file"), "\($0)")
        }
    }

    func testTimeStampedSeries() throws {
        let text = "@problemName S\n@timeStamps true\n@classLabel true a b\n@data\n(0.000,1),(0.004,5):b\n"
        let d = try UEATimeSeries.parse(text, file: "s.ts")
        XCTAssertEqual(d.samples[0].steps, 5)
        XCTAssertEqual(d.samples[0].values, [1, 2, 3, 4, 5])
    }

    func testBadInputsNameTheLine() {
        let cases: [(String, String)] = [
            (multivariate.replacingOccurrences(of: "3,2,1:1,1,1:down", with: "3,?,1:1,1,1:down"), "line 11, dimension 0"),
            (multivariate.replacingOccurrences(of: "3,2,1:1,1,1:down", with: "3,NaN,1:1,1,1:down"), "missing value"),
            (multivariate.replacingOccurrences(of: "3,2,1:1,1,1:down", with: "3,2,1:1,1,1:sideways"), "class 'sideways'"),
            (multivariate.replacingOccurrences(of: "3,2,1:1,1,1:down", with: "3,2,1:down"), "has 1 dimensions"),
            (multivariate.replacingOccurrences(of: "3,2,1:1,1,1:down", with: "3,x,1:1,1,1:down"), "'x'"),
            (multivariate.replacingOccurrences(of: "@data\n", with: ""), "expected a @key"),
            ("@classLabel true a\n@data\n", "no cases"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try UEATimeSeries.parse(text, file: "bad.ts")) { error in
                XCTAssertTrue("\(error)".contains(expected), "expected '\(expected)' in: \(error)")
            }
        }
    }
}

final class BrailleTests: XCTestCase {
    func testShapeClassesAndDeterminism() {
        let g = BrailleGenerator()
        let a = g.dataset(perClass: 2, seed: 7), b = g.dataset(perClass: 2, seed: 7), c = g.dataset(perClass: 2, seed: 8)
        XCTAssertEqual(a.count, 54)
        XCTAssertEqual(a.channels, 12)
        XCTAssertEqual(a.classes.count, 27)
        XCTAssertEqual(a.samples.map { $0.values.count }, Array(repeating: 102 * 12, count: 54))
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertEqual(Set(a.samples.compactMap(\.label)), Set(0..<27))
    }

    func testSignalFollowsTheDotPatterns() {
        var g = BrailleGenerator()
        g.noise = 0
        g.pressureRange = 1...1
        // Total contact energy grows with the number of raised dots: space < a (1 dot) < y (5 dots).
        func energy(_ label: Int) -> Float { g.sample(label: label, seed: 1, index: 0).values.reduce(0) { $0 + $1 - Float(g.baseline) } }
        let space = energy(0), a = energy(1), y = energy(25)
        XCTAssertEqual(space, 0, accuracy: 1e-4)
        XCTAssertGreaterThan(a, 1)
        XCTAssertGreaterThan(y, 3 * a)
        XCTAssertEqual(g.dotPositions(label: 4).count, 3, "d = dots 1, 4, 5")
    }

    /// The classes are separable but not trivially so: a nearest-centroid classifier on raw signals is far above
    /// chance (1/27) on held-out samples, yet not perfect.
    func testClassesCarryInformation() {
        let g = BrailleGenerator()
        let train = g.dataset(perClass: 10, seed: 1), test = g.dataset(perClass: 4, seed: 2)
        var centroids = [[Float]](repeating: [Float](repeating: 0, count: 102 * 12), count: 27)
        for s in train.samples { for i in s.values.indices { centroids[s.label!][i] += s.values[i] / 10 } }
        var correct = 0
        for s in test.samples {
            let best = (0..<27).min { l, m in
                zip(s.values, centroids[l]).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) < zip(s.values, centroids[m]).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
            }!
            if best == s.label { correct += 1 }
        }
        // Measured 0.60: informative, yet far from trivial (speed and position jitter smear the timing).
        XCTAssertGreaterThan(Double(correct) / Double(test.count), 0.2)
        XCTAssertLessThan(Double(correct) / Double(test.count), 0.9)
    }
}
