import Foundation
import XCTest

/// Issue #15: sweeps through the real `bruno` — seeds and grids over `--set` keys, and Optuna TPE studies driven
/// through the `optuna` command line, sharded on worker processes or Slurm.
///
/// The Optuna tests need `optuna` on PATH (`bash scripts/install-optuna.sh`); they are skipped without it, except
/// where `BRUNO_REQUIRE_OPTUNA=1` (CI), where its absence fails them.
final class SweepCLITests: XCTestCase {
    /// A network that trains in about a second per epoch in a debug build.
    static let small = ["--set", "run.epochs=1", "--set", "run.batch=27", "--set", "data.train_per_class=1", "--set", "data.valid_per_class=1",
                        "--set", "data.test_per_class=1", "--set", "data.steps=20", "--set", "network.encoding=12", "--set", "network.hidden=[8]",
                        "--set", "validation.every=0", "--set", "felif.fine_steps=10"]

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-sweep-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    static var optuna: String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            if FileManager.default.isExecutableFile(atPath: "\(dir)/optuna") { return "\(dir)/optuna" }
        }
        return nil
    }

    func requireOptuna() throws -> String {
        if let path = Self.optuna { return path }
        if ProcessInfo.processInfo.environment["BRUNO_REQUIRE_OPTUNA"] == "1" {
            XCTFail("BRUNO_REQUIRE_OPTUNA=1 but `optuna` is not on PATH (bash scripts/install-optuna.sh)")
        }
        throw XCTSkip("no `optuna` on PATH (bash scripts/install-optuna.sh)")
    }

    /// The trials Optuna's storage holds: (number, state, params).
    static func optunaTrials(_ optuna: String, storage: String, study: String) throws -> [[String: Any]] {
        let text = try optunaTrialsText(optuna, storage: storage, study: study)
        let json = text[text.firstIndex(of: "[")!...]
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
    }

    /// `optuna trials -f json` as printed (Python's shortest round-trip digits).
    static func optunaTrialsText(_ optuna: String, storage: String, study: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: optuna)
        p.arguments = ["trials", "--storage", storage, "--study-name", study, "-f", "json"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        return String(decoding: data, as: UTF8.self)
    }

    /// 3 seeds × 2 learning rates: the summary is byte-identical in one shard and in 4 worker processes, each trial is
    /// an ordinary run folder, and running the sweep again trains nothing.
    func testGridSweepIsTheSameForAnyShardCountAndRerunsNothing() throws {
        let dir = try temporaryDirectory()
        var summaries: [Data] = []
        for shards in [1, 4] {
            let out = dir.appendingPathComponent("shards-\(shards)")
            let r = try CLITests.bruno(["sweep"] + Self.small + ["--seeds", "1,2,3", "--grid", "optimizer.learning_rate=0.01,0.003",
                                                                  "--out", out.path, "--shards", "\(shards)"])
            XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
            XCTAssertTrue(r.stdout.contains("sweep: 6 trial(s), 0 failed"), r.stdout)
            summaries.append(try Data(contentsOf: out.appendingPathComponent("sweep.json")))
            for slot in 0..<6 {
                let metrics = out.appendingPathComponent(String(format: "trials/trial-%04d/metrics.jsonl", slot))
                XCTAssertTrue(FileManager.default.fileExists(atPath: metrics.path), metrics.path)
            }
            let csv = try String(contentsOf: out.appendingPathComponent("sweep.csv"), encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(csv.count, 7, "a header and one row per trial")
            XCTAssertTrue(csv[1].hasPrefix("0,,\"run.seed=1 optimizer.learning_rate=0.01\","), String(csv[1]))
        }
        XCTAssertEqual(summaries[0], summaries[1], "the summary depends on the trials, not on the shard count")
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: summaries[0]) as? [String: Any])
        let trials = try XCTUnwrap(summary["trials"] as? [[String: Any]])
        // The trial's value is its run's last valid_accuracy.
        let best = try XCTUnwrap(summary["best"] as? [String: Any])
        XCTAssertEqual(best["value"] as? Double, trials.compactMap { $0["value"] as? Double }.max())
        // Seeds are what differ between slots 0, 2, 4 (same learning rate): the seed reached the trainer.
        let config = try String(contentsOf: dir.appendingPathComponent("shards-1/trials/trial-0004/config.toml"), encoding: .utf8)
        XCTAssertTrue(config.contains("seed = 3"), config)

        let again = try CLITests.bruno(["sweep"] + Self.small + ["--seeds", "1,2,3", "--grid", "optimizer.learning_rate=0.01,0.003",
                                                                  "--out", dir.appendingPathComponent("shards-4").path, "--shards", "4"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("4 of 4 shard(s) already finished; running 0"), again.stdout)
    }

    /// A sweep worker killed with SIGKILL in the middle of a training is started again by the engine; its trial
    /// resumes from its checkpoint and the summary equals the uninterrupted sweep's, byte for byte.
    func testAKilledSweepWorkerResumesItsTrialAndTheSummaryIsUnchanged() throws {
        let dir = try temporaryDirectory()
        let settings = Self.small.map { $0 == "run.epochs=1" ? "run.epochs=3" : $0 } + ["--seeds", "1,2,3,4"]
        let whole = dir.appendingPathComponent("whole")
        let w = try CLITests.bruno(["sweep"] + settings + ["--out", whole.path, "--shards", "2"])
        XCTAssertEqual(w.status, 0, w.stderr)
        let out = dir.appendingPathComponent("killed"), folder = out.appendingPathComponent("shards").standardizedFileURL
        let killed = ManagedAtomicFlag()
        let killer = Thread {
            // Shard 1 trains slots 2 and 3: kill it once slot 2 has checkpointed an epoch.
            let checkpoint = out.appendingPathComponent("trials/trial-0002/checkpoint.json")
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                if FileManager.default.fileExists(atPath: checkpoint.path), let pid = ShardCLITests.workerPID(folder: folder, index: 1) {
                    kill(pid, SIGKILL)
                    killed.set()
                    return
                }
                usleep(10_000)
            }
        }
        killer.start()
        let r = try CLITests.bruno(["sweep"] + settings + ["--out", out.path, "--shards", "2", "--retries", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(killed.isSet, "the worker was killed")
        XCTAssertTrue(r.stdout.contains("shard 1: worker killed by signal 9; started again"), r.stdout)
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("sweep.json")), try Data(contentsOf: whole.appendingPathComponent("sweep.json")))
    }

    /// A 2-worker × 2-trial Optuna TPE study on Slurm: four complete trials in Optuna's storage, each with the
    /// parameters the trial trained with and the value the summary reports.
    func testOptunaStudyOnSlurmRecordsFourCompleteTrials() throws {
        let optuna = try requireOptuna()
        try ShardCLITests.requireSlurm()
        let dir = try temporaryDirectory()
        let space = dir.appendingPathComponent("space.json")
        try Data(#"{"optimizer.learning_rate": {"low": 0.001, "high": 0.1, "log": true}, "network.hidden": {"choices": ["[8]", "[12]"]}}"#.utf8)
            .write(to: space)
        let out = dir.appendingPathComponent("study")
        let r = try CLITests.bruno(["sweep"] + Self.small + ["--optuna-space", space.path, "--trials", "4", "--out", out.path,
                                                              "--engine", "slurm", "--shards", "2", "--wait"])
        XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
        let trials = try Self.optunaTrials(optuna, storage: "sqlite:///\(out.path)/study.db", study: "bruno-sweep")
        let text = try Self.optunaTrialsText(optuna, storage: "sqlite:///\(out.path)/study.db", study: "bruno-sweep")
        XCTAssertEqual(trials.count, 4)
        XCTAssertEqual(trials.map { $0["state"] as? String }, Array(repeating: "COMPLETE", count: 4))
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("sweep.json"))) as? [String: Any])
        let rows = try XCTUnwrap(summary["trials"] as? [[String: Any]])
        XCTAssertEqual(Set(rows.compactMap { $0["optunaNumber"] as? Int }), [0, 1, 2, 3])
        for row in rows {
            let number = try XCTUnwrap(row["optunaNumber"] as? Int)
            let told = try XCTUnwrap(trials.first { $0["number"] as? Int == number })
            XCTAssertEqual(told["value"] as? Double ?? -1, row["value"] as? Double ?? -2, accuracy: 1e-12)
            let hidden = try XCTUnwrap((told["params"] as? [String: Any])?["network.hidden"] as? String)
            let overrides = try XCTUnwrap(row["overrides"] as? [String])
            XCTAssertTrue(overrides.contains("network.hidden=\(hidden)"), "\(overrides)")
            // The learning rate trained is Optuna's to the last digit (both print shortest round-trip digits).
            let rate = try XCTUnwrap(overrides.first { $0.hasPrefix("optimizer.learning_rate=") }).dropFirst("optimizer.learning_rate=".count)
            XCTAssertTrue(text.contains("\"optimizer.learning_rate\": \(rate)}") || text.contains("\"optimizer.learning_rate\": \(rate),"),
                          "\(rate) not in \(text)")
            // The trial's run trained what Optuna asked for.
            let config = try String(contentsOf: out.appendingPathComponent(String(format: "trials/optuna-%04d/config.toml", number)),
                                    encoding: .utf8)
            let lines = config.split(separator: "\n").map { $0.replacingOccurrences(of: " ", with: "") }
            XCTAssertTrue(lines.contains("hidden=\(hidden)"), config)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("sweep.svg").path))
    }

    /// A trial whose settings cannot train is told to Optuna as failed and recorded as failed; the others complete.
    func testFailedTrialsAreToldAsFailed() throws {
        let optuna = try requireOptuna()
        let dir = try temporaryDirectory()
        let space = dir.appendingPathComponent("space.json")
        try Data(#"{"loss.kind": {"choices": ["\"spike_count\"", "\"no_such_loss\""]}}"#.utf8).write(to: space)
        let out = dir.appendingPathComponent("study")
        let r = try CLITests.bruno(["sweep"] + Self.small + ["--optuna-space", space.path, "--trials", "4", "--out", out.path, "--shards", "2"])
        let trials = try Self.optunaTrials(optuna, storage: "sqlite:///\(out.path)/study.db", study: "bruno-sweep")
        XCTAssertEqual(trials.count, 4)
        var failed = 0
        for t in trials {
            let kind = try XCTUnwrap((t["params"] as? [String: Any])?["loss.kind"] as? String)
            XCTAssertEqual(t["state"] as? String, kind.contains("no_such_loss") ? "FAIL" : "COMPLETE", "\(t)")
            if kind.contains("no_such_loss") { failed += 1 }
        }
        XCTAssertGreaterThan(failed, 0, "the seeded draws include the bad choice")
        let md = try String(contentsOf: out.appendingPathComponent("sweep.md"), encoding: .utf8)
        XCTAssertTrue(md.contains("\(failed) failed"), md)
        XCTAssertTrue(md.contains("failed: "), md)
        if failed < 4 {
            XCTAssertEqual(r.status, 0, r.stderr)
        } else {
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains("every trial of the sweep failed"), r.stderr)
        }
    }

    /// Requests that cannot be a sweep fail before anything trains, saying what was expected.
    func testBadSweepRequestsAreRefusedClearly() throws {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("s").path
        let good = dir.appendingPathComponent("good.json")
        try Data(#"{"optimizer.learning_rate": {"low": 0.001, "high": 0.01}}"#.utf8).write(to: good)
        let empty = dir.appendingPathComponent("empty.json")
        try Data().write(to: empty)
        let cases: [([String], String, [String: String])] = [
            (["--seeds", "1,x"], "`x` is not a non-negative integer", [:]),
            (["--grid", "learning_rate=0.1,0.2"], "the key must be table.key", [:]),
            (["--grid", "optimizer.learning_rate=0.1,"], "empty value", [:]),
            ([], "nothing to sweep", [:]),
            (["--grid", "run.epochs=1,zero"], "trial 1 (run.epochs=zero)", [:]),
            (["--optuna-space", dir.appendingPathComponent("none.json").path, "--trials", "2"], "cannot read the search space", [:]),
            (["--optuna-space", empty.path, "--trials", "2"], "not a search space", [:]),
            (["--optuna-space", good.path, "--trials", "2"], "needs the `optuna` command", ["PATH": "/usr/bin:/bin"]),
            (["--optuna-space", good.path], "needs --trials", [:]),
            (["--optuna-space", good.path, "--trials", "2", "--storage", "study.journal"], "add --storage-class JournalFileBackend", [:]),
            (["--optuna-space", good.path, "--trials", "2", "--seeds", "1,2"], "drop --grid and --seeds", [:]),
        ]
        for (extra, message, environment) in cases {
            let r = try CLITests.bruno(["sweep"] + Self.small + extra + ["--out", out], environment: environment)
            XCTAssertNotEqual(r.status, 0, "\(extra)")
            XCTAssertTrue(r.stderr.contains(message), "\(extra): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/trials"), "\(extra): nothing trained")
        }
        let space = dir.appendingPathComponent("space.json")
        try Data(#"{"optimizer.learning_rate": {"low": 0.1, "high": 0.01}}"#.utf8).write(to: space)
        let r = try CLITests.bruno(["sweep"] + Self.small + ["--optuna-space", space.path, "--trials", "2", "--out", out])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("`optimizer.learning_rate`: low < high"), r.stderr)
    }
}

/// A flag set by one thread and read by another.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
