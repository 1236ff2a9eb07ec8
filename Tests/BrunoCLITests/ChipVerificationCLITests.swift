import Foundation
import XCTest

/// Issue #15: whole-chip verification through the real `bruno` — every output column × every test sample in
/// ngspice — gives the same findings in one process, in worker processes and on Slurm, and agrees with the ordinary
/// SPICE check on the columns both simulate.
final class ChipVerificationCLITests: XCTestCase {
    static let small = ["--set", "run.epochs=2", "--set", "run.batch=27", "--set", "data.train_per_class=1", "--set", "data.valid_per_class=1",
                        "--set", "data.test_per_class=1", "--set", "data.steps=20", "--set", "network.encoding=12", "--set", "network.hidden=[8]",
                        "--set", "network.input_scale=6e-9", "--set", "validation.every=0"]

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-chip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// 27 columns × 4 test samples of a small trained network: the findings (`chip-verification.json`) are byte-identical
    /// in one process, in 3 worker processes and as a 2-task Slurm array; the circuit's spike counts equal the ordinary
    /// `bruno validate` check's for the columns it simulated; the confusion matrix accounts for every sample.
    func testWholeChipFindingsAreTheSameInProcessShardedAndOnSlurm() throws {
        let dir = try temporaryDirectory()
        let run = dir.appendingPathComponent("run")
        let t = try CLITests.bruno(["train"] + Self.small + ["--out", run.path])
        XCTAssertEqual(t.status, 0, t.stderr)
        var outs: [(String, URL)] = []
        var runs: [(String, [String])] = [("in-process", []), ("3 local", ["--shards", "3", "--engine", "local"])]
        if ShardCLITests.slurmRunning || ProcessInfo.processInfo.environment["BRUNO_REQUIRE_SLURM"] == "1" {
            runs.append(("slurm", ["--shards", "2", "--engine", "slurm", "--wait"]))
        }
        for (name, extra) in runs {
            let out = dir.appendingPathComponent(name.replacingOccurrences(of: " ", with: "-"))
            let v = try CLITests.bruno(["validate", "--run", run.path, "--whole-chip", "--samples", "4", "--out", out.path] + extra)
            XCTAssertEqual(v.status, 0, "\(name): \(v.stderr)\n\(v.stdout)")
            XCTAssertTrue(v.stdout.contains("circuit test accuracy"), v.stdout)
            outs.append((name, out))
        }
        let reference = try Data(contentsOf: outs[0].1.appendingPathComponent("chip-verification.json"))
        for (name, out) in outs.dropFirst() {
            XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("chip-verification.json")), reference, "\(name) differs from in-process")
        }
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: reference) as? [String: Any])
        XCTAssertEqual(report["decks"] as? Int, 108)
        XCTAssertEqual(report["failedDecks"] as? Int, 0)
        let confusion = try XCTUnwrap(report["circuitConfusion"] as? [[Int]])
        XCTAssertEqual(confusion.flatMap { $0 }.reduce(0, +), 4, "every sample in the confusion matrix once")
        let correct = confusion.indices.map { confusion[$0][$0] }.reduce(0, +)
        XCTAssertEqual(report["circuitAccuracy"] as? Double ?? -1, Double(correct) / 4, accuracy: 1e-12)
        for file in ["chip-verification.md", "chip-confusion.svg", "chip-spike-errors.svg", "chip-verification-cost.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: outs[0].1.appendingPathComponent(file).path), file)
        }

        // The ordinary check simulates the same decks for the sample it picks: the same SPICE spike counts.
        let v = try CLITests.bruno(["validate", "--run", run.path, "--samples", "1", "--columns", "0"])
        XCTAssertEqual(v.status, 0, v.stderr)
        let lines = try String(contentsOf: run.appendingPathComponent("validation.jsonl"), encoding: .utf8).split(separator: "\n")
        let check = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as? [String: Any])
        let columns = try XCTUnwrap(check["columns"] as? [[String: Any]])
        let sample = try XCTUnwrap(columns.first?["sample"] as? Int)
        XCTAssertLessThan(sample, 4, "the ordinary check used a sample the whole-chip run covers")
        var spice: [Int: Int] = [:]
        for shard in try FileManager.default.contentsOfDirectory(atPath: outs[0].1.appendingPathComponent("shards").path) where shard.hasPrefix("shard-") {
            let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: outs[0].1.appendingPathComponent("shards/\(shard)"))) as? [String: Any])
            let first = try XCTUnwrap(record["firstItem"] as? Int)
            for (k, r) in try XCTUnwrap(record["results"] as? [[String: Any]]).enumerated() { spice[first + k] = r["spiceCount"] as? Int }
        }
        XCTAssertEqual(columns.count, 27)
        for c in columns {
            let j = try XCTUnwrap(c["column"] as? Int)
            XCTAssertEqual(c["spiceCount"] as? Int, spice[sample * 27 + j], "sample \(sample), column \(j)")
        }

        // SIGTERM stops the in-process verification between samples with 143 (not a crash), keeps the finished
        // samples, and the same command then finishes with the same findings.
        let stopped = dir.appendingPathComponent("stopped")
        let p = Process()
        p.executableURL = CLITests.executable
        p.arguments = ["validate", "--run", run.path, "--whole-chip", "--samples", "4", "--out", stopped.path]
        p.currentDirectoryURL = CLITests.packageRoot
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        let firstShard = stopped.appendingPathComponent("shards/shard-0000.json")
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: firstShard.path), Date() < deadline { usleep(20_000) }
        kill(p.processIdentifier, SIGTERM)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit, stderr)
        XCTAssertEqual(p.terminationStatus, 143, stderr)
        let resumed = try CLITests.bruno(["validate", "--run", run.path, "--whole-chip", "--samples", "4", "--out", stopped.path])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("shard(s) already finished"), resumed.stdout)
        XCTAssertEqual(try Data(contentsOf: stopped.appendingPathComponent("chip-verification.json")), reference)

        // `bruno shard status` previews a verification in progress over its complete samples: with every shard
        // there, the merged accuracy; without shard 1 of 3 (items 36..<72, parts of samples 1 and 2), samples 0 and 3.
        let folder = outs[1].1.appendingPathComponent("shards")
        let full = try CLITests.bruno(["shard", "status", folder.path])
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertTrue(full.stdout.contains(String(format: "so far (4 of 4 samples complete; a preview, not the result): circuit test accuracy %.4f",
                                                  report["circuitAccuracy"] as? Double ?? -1)), full.stdout)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("shard-0001.json"))
        let partial = try CLITests.bruno(["shard", "status", folder.path])
        XCTAssertEqual(partial.status, 3)
        XCTAssertTrue(partial.stdout.contains("missing 1"), partial.stdout)
        XCTAssertTrue(partial.stdout.contains("so far (2 of 4 samples complete"), partial.stdout)
    }

    /// A run folder that is not one, and shard options without --whole-chip, are refused before anything runs.
    func testBadWholeChipRequestsAreRefused() throws {
        let dir = try temporaryDirectory()
        let none = try CLITests.bruno(["validate", "--run", dir.path, "--whole-chip"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("not a run folder"), none.stderr)
        let shards = try CLITests.bruno(["validate", "--run", dir.path, "--shards", "2"])
        XCTAssertNotEqual(shards.status, 0)
        XCTAssertTrue(shards.stderr.contains("add --whole-chip"), shards.stderr)
    }
}
