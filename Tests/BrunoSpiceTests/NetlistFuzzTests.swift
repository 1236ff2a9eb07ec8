import BrunoSpice
import BrunoSupport
import Foundation
import XCTest

/// Seeded mutations of the shipped netlists and models, with hostile constructs spliced in: no signal (a crash
/// would end this process), no simulation past its bound, no file created, and every failure a one-paragraph
/// error. The seed is fixed, so a failure reproduces; `BRUNO_FUZZ_CASES` runs more of them.
final class NetlistFuzzTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Copies of netlists/ and models/ in a fresh folder (the mutations edit them in place).
    private func workspace() throws -> URL {
        let dir = try Fixtures.temporaryDirectory()
        for sub in ["netlists", "models"] {
            try FileManager.default.copyItem(
                at: Self.root.appendingPathComponent(sub), to: dir.appendingPathComponent(sub))
        }
        return dir
    }

    private static func listing(_ dir: URL) -> Set<String> {
        let e = FileManager.default.enumerator(atPath: dir.path)
        return Set((e?.allObjects as? [String]) ?? [])
    }

    /// Hostile or broken lines to splice in; `%M` is the marker path, `%S` the file's own name.
    static let splices = [
        ".control\nshell touch %M\n.endc", "*# shell touch %M", ".controls\necho x > %M\n.endc", ".include %S",
        ".include /dev/zero", ".param =", ".param = 3", ".param x=", ".tran 1e-300 1m", ".ac lin 1e9 1 1k",
        ".dc Iin 0 1 1e-12", ".include nonexistent.lib", ".lib %S nosection", ".subckt broken a b", ".ends", ".end",
        "R1 a", "X1 a b nosuchsub", "D1 a 0 nomodel", "B1 a 0 V={1/0}", "R2 a 0 {undefinedparam}", ".inc\"%S\"",
        "+ junk=", ".options reltol=-1", "V9 a 0 PWL(0 1 1m 1.0000000000000002)", "*ng_script", ".endc", ".endl",
        "C1 a 0 1e300", ".ic v(mem)=1e308", ".incl /etc/hostname", "Iin 0 mem DC {1e30}",
    ]

    private func mutate(_ lines: [String], name: String, marker: String, rng: inout SeededRandom) -> [String] {
        var out = lines
        let count = 1 + Int(rng.next() % 3)
        for _ in 0..<count where !out.isEmpty {
            let i = Int(rng.next() % UInt64(out.count))
            switch rng.next() % 9 {
            case 0: out.remove(at: i)
            case 1: out.insert(out[i], at: i)
            case 2:
                let j = Int(rng.next() % UInt64(out.count))
                out.swapAt(i, j)
            case 3: out[i] = String(out[i].prefix(Int(rng.next() % UInt64(max(out[i].count, 1)))))
            case 4:
                // A number replaced by an extreme or malformed one.
                let values = ["0", "-1", "1e308", "1e-308", "nan", "1k1k", "{", "}", "'", "1/0", "inf", "-0"]
                var tokens = out[i].split(separator: " ", omittingEmptySubsequences: false).map(String.init)
                if tokens.count > 1 {
                    tokens[1 + Int(rng.next() % UInt64(tokens.count - 1))] = values[Int(rng.next() % UInt64(values.count))]
                }
                out[i] = tokens.joined(separator: " ")
            case 5, 6, 7:
                let s = Self.splices[Int(rng.next() % UInt64(Self.splices.count))]
                let text = s.replacingOccurrences(of: "%M", with: marker).replacingOccurrences(of: "%S", with: name)
                out.insert(contentsOf: text.components(separatedBy: "\n"), at: i)
            default:
                out[i] += " " + ["{", "(", "'", "=", "$", ";", "\\", "\t"][Int(rng.next() % 8)]
            }
        }
        return out
    }

    func testMutatedNetlistsNeverCrashHangOrRunCommands() async throws {
        let cases = Int(ProcessInfo.processInfo.environment["BRUNO_FUZZ_CASES"] ?? "") ?? 320
        let dir = try workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let marker = dir.appendingPathComponent("PWNED").path
        let targets = ["netlists/felif_neuron.cir", "netlists/rram_iv.cir", "netlists/rram_program.cir",
                       "netlists/rc_lowpass.cir", "models/felif.lib", "models/fecap.lib", "models/rram.lib"]
        let originals = try Dictionary(uniqueKeysWithValues: targets.map {
            ($0, try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8))
        })
        let tops = ["netlists/felif_neuron.cir", "netlists/rram_iv.cir", "netlists/rram_program.cir",
                    "netlists/rc_lowpass.cir"]
        var rng = SeededRandom(seed: 20261202)
        var outcomes: [String: Int] = [:]
        func record(_ error: Error, _ origin: String) {
            let text = "\(error)"
            XCTAssertFalse(text.isEmpty, origin)
            XCTAssertFalse(text.contains("\n"), "not one paragraph for \(origin): \(text)")
            outcomes[String(text.prefix(while: { $0 != ":" && $0 != "(" }).prefix(40)), default: 0] += 1
            switch error as? SpiceError {
            case .parse(let l, _)?, .refused(let l, _)?:
                // Problems with a place in the deck name it, except deck-wide ones (lines over all files, NUL).
                if l == nil && !text.contains("lines") && !text.contains("NUL") {
                    outcomes["no location", default: 0] += 1
                    XCTFail("no location for \(origin): \(text)")
                }
            default: break
            }
        }
        let before = Self.listing(dir)
        // Loading reads every file, so each deck is complete before its files are restored for the next case.
        var jobs: [(Netlist, Analysis)] = []
        var origins: [String] = []
        for n in 0..<cases {
            let target = targets[Int(rng.next() % UInt64(targets.count))]
            let url = dir.appendingPathComponent(target)
            let lines = originals[target]!.components(separatedBy: "\n")
            let mutated = mutate(lines, name: url.lastPathComponent, marker: marker, rng: &rng)
            var text = mutated.joined(separator: rng.next() % 10 == 0 ? "\r" : "\n")
            if rng.next() % 25 == 0 { text.insert("\u{0}", at: text.index(text.startIndex, offsetBy: text.count / 2)) }
            try Data(text.utf8).write(to: url)
            let top = target.hasPrefix("netlists/") ? target : tops[Int(rng.next() % UInt64(tops.count))]
            let origin = "case \(n): \(target) via \(top)"
            do {
                jobs.append((try Netlist(contentsOf: dir.appendingPathComponent(top)), .netlist))
                origins.append(origin)
            } catch {
                record(error, origin)
            }
            try originals[target]!.write(to: url, atomically: true, encoding: .utf8)
        }
        // A bound on every deck: a mutation may make one slow, never endless.
        let pool = try SpicePool(count: 2, limits: SpiceLimits(maxPoints: 1e6, timeLimit: 2))
        let results = await pool.simulateAll(jobs)
        for (k, (result, origin)) in zip(results, origins).enumerated() {
            switch result {
            case .success: outcomes["simulated", default: 0] += 1
            case .failure(let e):
                record(e, origin)
                if let dump = ProcessInfo.processInfo.environment["BRUNO_FUZZ_DUMP"] {
                    try? jobs[k].0.deck.joined(separator: "\n").write(toFile: "\(dump)/case-\(k).cir", atomically: true, encoding: .utf8)
                }
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a command from a netlist ran")
        XCTAssertEqual(Self.listing(dir), before, "a simulation created or removed files")
        // The mutations must exercise both paths, or the test proves nothing.
        XCTAssertGreaterThan(outcomes["simulated"] ?? 0, cases / 20, "\(outcomes)")
        XCTAssertGreaterThan(cases - (outcomes["simulated"] ?? 0), cases / 4, "\(outcomes)")
        print("fuzz outcomes over \(cases) netlists: \(outcomes.sorted { $0.key < $1.key })")
    }
}
