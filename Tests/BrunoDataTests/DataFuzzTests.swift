import BrunoData
import BrunoSupport
import Foundation
import XCTest

/// Seeded mutations of UEA `.ts` and JSB JSON files, plus paths that are not regular files (issue #14): every
/// file either loads into a data set that holds only finite values and valid labels, or fails with one
/// paragraph naming the file. `BRUNO_FUZZ_CASES` runs more.
final class DataFuzzTests: XCTestCase {
    static let ts = """
    # a comment
    @problemName Tiny
    @timeStamps false
    @missing false
    @univariate false
    @dimensions 2
    @equalLength false
    @seriesLength 4
    @classLabel true up down flat
    @data
    0,1,2,3:0,0,0,0:up
    3,2,1:1,1,1:down
    1,1,1,1:0.5,0.5,0.5,0.5:flat
    -2.5,1e3,7,0:3,2,1,0:up
    """
    static let json = #"{"train": [[[60, 64], [62], [], [60, 64, 67]], [[55], [57, 60]]], "valid": [[[48], [50, 53]]]}"#

    static let hostileTokens = [
        "NaN", "nan", "1e400", "-1e400", "?", "", "-", "1e-400", "∞", "0x10", "1,2", ":", "::", "9223372036854775808",
        "@data", "@classLabel", "@dimensions -1", "@dimensions 1000000000", "@seriesLength 99999999999",
        "@classLabel true", "@classLabel false", "@timeStamps true", "@univariate true", "sideways", "up up",
        "(1,2),(3,4)", "(0,1),(1e300,2)", "(0,1),(1e9,2)", "(1e308,1),(-1e308,2)", "\u{1}", "\"", String(repeating: "1,", count: 5000) + "1",
    ]
    static let hostileJSON = [
        "-1", "1e400", "99", "43", "96.5", "null", "true", "\"60\"", "[]", "[[]]", "{}", "[[[[[[[[[[[[60]]]]]]]]]]]]",
        "9223372036854775808", "\"\\u0000\"", "[60,", String(repeating: "[", count: 600),
    ]

    private func pick<T>(_ a: [T], _ rng: inout SeededRandom) -> T { a[Int(rng.next() % UInt64(a.count))] }

    private func mutateTS(_ rng: inout SeededRandom) -> Data {
        var lines = Self.ts.components(separatedBy: "\n")
        for _ in 0..<(1 + Int(rng.next() % 3)) {
            let i = Int(rng.next() % UInt64(lines.count))
            switch rng.next() % 5 {
            case 0: lines.remove(at: i)
            case 1: lines.insert(lines[i], at: i)
            case 2: lines.insert(pick(Self.hostileTokens, &rng), at: i)
            default:  // one value, dimension separator or label replaced
                var fields = lines[i].components(separatedBy: ",")
                let f = Int(rng.next() % UInt64(fields.count))
                fields[f] = pick(Self.hostileTokens, &rng)
                lines[i] = fields.joined(separator: ",")
            }
            if lines.isEmpty { lines = [""] }
        }
        return finish(Data(lines.joined(separator: "\n").utf8), &rng)
    }

    private func mutateJSON(_ rng: inout SeededRandom) -> Data {
        var text = Self.json
        for _ in 0..<(1 + Int(rng.next() % 2)) {
            let numbers = text.ranges(of: #/[0-9]+/#)
            if rng.next() % 3 != 0, !numbers.isEmpty {
                text.replaceSubrange(pick(numbers, &rng), with: pick(Self.hostileJSON, &rng))
            } else {
                let keys = ["\"train\"", "\"valid\"", "\"test\""]
                text = text.replacingOccurrences(of: pick(keys, &rng), with: pick(["\"tset\"", "\"train\"", "\"valid\""], &rng))
            }
        }
        return finish(Data(text.utf8), &rng)
    }

    /// Truncation (a file copied while written), a NUL or a byte that is not UTF-8, now and then.
    private func finish(_ data: Data, _ rng: inout SeededRandom) -> Data {
        var data = data
        switch rng.next() % 8 {
        case 0: data = data.prefix(Int(rng.next() % UInt64(data.count + 1)))
        case 1: data.insert(0, at: Int(rng.next() % UInt64(data.count + 1)))
        case 2: data.insert(0xC3, at: Int(rng.next() % UInt64(data.count + 1)))
        default: break
        }
        return data
    }

    func testMutatedDataFilesLoadCleanlyOrFailNamingTheFile() throws {
        let cases = Int(ProcessInfo.processInfo.environment["BRUNO_FUZZ_CASES"] ?? "") ?? 80
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-data-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        var rng = SeededRandom(seed: 20261202)
        var loaded = 0, refused = 0
        for n in 0..<cases {
            let isTS = n % 2 == 0
            let url = folder.appendingPathComponent(isTS ? "Fuzz\(n)_TRAIN.ts" : "fuzz\(n).json")
            let data = isTS ? mutateTS(&rng) : mutateJSON(&rng)
            try data.write(to: url)
            do {
                let set = isTS ? try UEATimeSeries.load(url) : try JSBChorales.load(url, split: "train")
                loaded += 1
                check(set, variant: n, data: data)
            } catch {
                refused += 1
                assertClear(error, naming: url, variant: n, data: data)
            }
        }
        print("data fuzz: \(cases) files, \(loaded) loaded, \(refused) refused")
        XCTAssertGreaterThan(refused, cases / 4, "the mutations reach the validators")
        XCTAssertGreaterThan(loaded, 0, "some mutations are harmless and load")
    }

    func testPathsThatAreNotRegularFilesAreRefusedWithoutReading() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-data-paths-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("pipe_TRAIN.ts")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        let cases: [(URL, String)] = [(URL(fileURLWithPath: "/dev/zero"), "a device"), (folder, "a directory"),
                                      (fifo, "a named pipe"), (folder.appendingPathComponent("none.ts"), "file not found")]
        for (url, expected) in cases {
            XCTAssertThrowsError(try UEATimeSeries.load(url)) { assertClear($0, naming: url, variant: -1, data: Data()) ; XCTAssertTrue("\($0)".contains(expected), "\($0)") }
            XCTAssertThrowsError(try JSBChorales.load(url, split: "train")) { XCTAssertTrue("\($0)".contains(expected), "\($0)") }
        }
    }

    func testTimeStampsSpanningTooManyStepsAreRefusedBeforeAllocating() {
        let text = "@timeStamps true\n@classLabel true a\n@data\n(0,1),(1e9,2):a\n"
        XCTAssertThrowsError(try UEATimeSeries.parse(text, file: "stamps.ts")) {
            XCTAssertTrue("\($0)".contains("line 4") && "\($0)".contains("more than 10000000"), "\($0)")
        }
        XCTAssertThrowsError(try UEATimeSeries.parse("@\n@data\n", file: "at.ts")) { XCTAssertTrue("\($0)".contains("line 1"), "\($0)") }
    }

    private func check(_ set: SequenceDataset, variant n: Int, data: Data) {
        let context = "variant \(n) loaded:\n\(String(decoding: data.prefix(1500), as: UTF8.self))"
        XCTAssertGreaterThan(set.count, 0, context)
        XCTAssertGreaterThan(set.channels, 0, context)
        for s in set.samples {
            XCTAssertGreaterThan(s.steps, 0, context)
            XCTAssertEqual(s.values.count, s.steps * set.channels, context)
            XCTAssertTrue(s.values.allSatisfy(\.isFinite), "non-finite input: \(context)")
            if let label = s.label { XCTAssertTrue(set.classes.indices.contains(label), context) }
            if let t = s.targets { XCTAssertTrue(t.allSatisfy(\.isFinite), context) }
        }
    }

    private func assertClear(_ error: Error, naming url: URL, variant n: Int, data: Data) {
        let text = "\(error)"
        let context = "variant \(n): \(text)\n--- file:\n\(String(decoding: data.prefix(1500), as: UTF8.self))"
        XCTAssertTrue(error is DataError, "a DataError, not \(type(of: error)): \(context)")
        XCTAssertTrue(text.contains(url.path), "names the file: \(context)")
        XCTAssertFalse(text.contains("\n"), "one paragraph: \(context)")
        XCTAssertLessThan(text.count, 800, "short: \(context)")
    }
}
