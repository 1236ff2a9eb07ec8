import BrunoSupport
import Foundation
import XCTest
@testable import BrunoTraining

/// Seeded mutations of the shipped experiment files (issue #14): every variant either loads and builds a trainer,
/// or fails with one paragraph naming the file and the line or `[table] 'key'`. A trap would end this process;
/// a hang would time the suite out. `BRUNO_FUZZ_CASES` runs more, `BRUNO_FUZZ_DUMP` keeps the variants.
final class ConfigFuzzTests: XCTestCase {
    static let experiments = TrainerTests.root.appendingPathComponent("experiments")

    /// Values that used to trap or are out of every range, including paths that are not regular files.
    static let hostileValues = [
        "-1", "0", "1e30", "-1e30", "nan", "inf", "-inf", "\"\"", "\"x\"", "[]", "[-1]", "[1e9]", "[0]", "true",
        "9223372036854775807", "-9223372036854775808", "1e-320", "0.5", "{}", "\"/dev/zero\"", "\"/tmp\"",
        "\"../../../../etc/passwd\"", String(repeating: "9", count: 400), "[1, \"a\"]", "1979-05-27T07:32:00Z",
    ]
    /// Lines spliced in: broken TOML, duplicate tables, unknown keys, control characters.
    static let hostileLines = [
        "[", "]]", "key", "= 3", "[run", "x = ", "a.b.c = 1", "[network.extra]", "\"unterminated", "[[run]]",
        "run = 3", "[run]", "[data]\nkind = \"uea\"", "seed = 1\nseed = 2", "\u{7}bell = 1", "epochs = 1 2",
        "[devices]\nfelif_card = \"/dev/zero\"", "[data]\npath = \"/dev/zero\"", "[data]\npath = \"/tmp\"",
    ]

    private func mutate(_ text: String, rng: inout SeededRandom) -> Data {
        var lines = text.components(separatedBy: "\n")
        func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
        let edits = 1 + Int(rng.next() % 3)
        for _ in 0..<edits {
            let i = Int(rng.next() % UInt64(max(1, lines.count)))
            switch rng.next() % 7 {
            case 0, 1:  // a value replaced
                let assignments = lines.indices.filter { lines[$0].contains("=") && !lines[$0].hasPrefix("#") }
                if let j = assignments.isEmpty ? nil : pick(assignments) {
                    let key = lines[j].split(separator: "=", maxSplits: 1)[0]
                    lines[j] = key + "= " + pick(Self.hostileValues)
                }
            case 2: lines.remove(at: i)
            case 3: lines.insert(lines[i], at: i)
            case 4: lines.insert(pick(Self.hostileLines), at: i)
            case 5:  // a key misspelt
                if let eq = lines[i].firstIndex(of: "="), lines[i].distance(from: lines[i].startIndex, to: eq) > 2 {
                    lines[i].remove(at: lines[i].index(after: lines[i].startIndex))
                }
            default:  // a table renamed
                let tables = lines.indices.filter { lines[$0].hasPrefix("[") }
                if let j = tables.isEmpty ? nil : pick(tables) { lines[j] = "[" + pick(["runn", "Data", "network.x", ""]) + "]" }
            }
        }
        var data = Data(lines.joined(separator: "\n").utf8)
        switch rng.next() % 8 {
        case 0: data = data.prefix(Int(rng.next() % UInt64(data.count + 1)))  // truncated mid-write
        case 1: data.insert(0, at: Int(rng.next() % UInt64(data.count + 1)))  // a NUL
        case 2: data.insert(0xFF, at: Int(rng.next() % UInt64(data.count + 1)))  // not UTF-8
        default: break
        }
        return data
    }

    func testMutatedExperimentsLoadOrFailWithTheFileAndLocation() throws {
        let cases = Int(ProcessInfo.processInfo.environment["BRUNO_FUZZ_CASES"] ?? "") ?? 120
        let dump = ProcessInfo.processInfo.environment["BRUNO_FUZZ_DUMP"].map { URL(fileURLWithPath: $0) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-config-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        // Relative paths of the originals made absolute, so that what a mutation does not touch still resolves.
        let bases = try ["braille-synthetic.toml", "jsb.toml"].map { name in
            try String(contentsOf: Self.experiments.appendingPathComponent(name), encoding: .utf8)
                .replacingOccurrences(of: "\"../", with: "\"\(Self.experiments.path)/../")
        }
        var rng = SeededRandom(seed: 20261202)
        var loaded = 0, refused = 0, built = 0
        for n in 0..<cases {
            let url = folder.appendingPathComponent("variant-\(n).toml")
            let data = mutate(bases[n % bases.count], rng: &rng)
            try data.write(to: url)
            if let dump { try? data.write(to: dump.appendingPathComponent(url.lastPathComponent)) }
            do {
                // Small runs, so that a variant that loads is also built (data, devices, memory estimate).
                let config = try TrainingConfig.load(url)
                loaded += 1
                do {
                    var small = config
                    small.epochs = 1
                    _ = try Trainer(config: small)
                    built += 1
                } catch {
                    assertClear(error, file: url, variant: n, data: data)
                }
            } catch {
                refused += 1
                assertClear(error, file: url, variant: n, data: data)
            }
        }
        print("config fuzz: \(cases) variants, \(loaded) loaded (\(built) built a trainer), \(refused) refused")
        XCTAssertGreaterThan(refused, cases / 4, "the mutations reach the validators")
    }

    private func assertClear(_ error: Error, file url: URL, variant n: Int, data: Data) {
        let text = "\(error)"
        let context = "variant \(n): \(text)\n--- file:\n\(String(decoding: data.prefix(2000), as: UTF8.self))"
        XCTAssertFalse(text.contains("\n\n"), "one paragraph: \(context)")
        XCTAssertLessThan(text.count, 800, "short: \(context)")
        // The error names the file it is about: the variant, or the file the variant pointed at.
        let namesAFile = text.contains(url.lastPathComponent) || text.contains("/dev/zero") || text.contains("/tmp")
            || text.contains("/etc/passwd") || text.contains(".json") || text.contains(".ts")
        XCTAssertTrue(namesAFile, "names the file: \(context)")
        if text.contains(url.lastPathComponent) {
            let located = text.contains("line ") || text.range(of: #"\[[a-z_.]+\] "#, options: .regularExpression) != nil
                || text.contains("table") || text.contains("key")
            XCTAssertTrue(located, "names the line or the key: \(context)")
        }
    }
}
