import Foundation
import XCTest

/// Issue #15: sharded RRAM Monte Carlo through the real `bruno`, on worker processes and on Slurm. The card must be
/// byte-identical for any shard count and engine, survive a killed shard, and never be merged from partial work.
///
/// The Slurm tests need a running Slurm (`bash scripts/slurm-single-node.sh start`); they are skipped without one,
/// except where `BRUNO_REQUIRE_SLURM=1` (CI), where its absence fails them.
final class ShardCLITests: XCTestCase {
    /// Cards carry a date: the reproducible-builds date makes runs comparable byte for byte.
    static let environment = ["SOURCE_DATE_EPOCH": "1700000000"]

    /// A small Monte Carlo (3 + 2 devices × 2 cycles × 8 levels = 80 programmings) of the shipped cell.
    func smallProtocol(in dir: URL, method: String = "single", netlist: URL? = nil) throws -> URL {
        let cir = netlist ?? CLITests.packageRoot.appendingPathComponent("netlists/rram_program.cir")
        let url = dir.appendingPathComponent("small-\(method)\(netlist == nil ? "" : "-" + netlist!.deletingPathExtension().lastPathComponent).toml")
        try """
        [simulation]
        netlist = "\(cir.path)"
        [variability]
        device_sigma = 0.02
        cycle_nu_sigma = 0.1
        seed = 5
        [monte_carlo]
        devices = 3
        cycles = 2
        held_out_devices = 2
        held_out_seed = 6
        [programming]
        method = "\(method)"
        tolerance = 0.05
        max_pulses = 24
        """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// A short FeLIF protocol on the shipped neuron: 4 stimuli (3 fitted, 1 held out), 2 fit starts.
    func smallFeLIFProtocol(in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent("felif-small.toml")
        try """
        [simulation]
        netlist = "\(CLITests.packageRoot.appendingPathComponent("netlists/felif_neuron.cir").path)"
        sample_interval = 1e-4
        step = 1e-6
        max_step = 1e-6
        [fit]
        quantities = ["threshold", "deadTime", "resetPolarization"]
        starts = 2
        max_iterations = 30
        seed = 1
        [[stimulus]]
        name = "fI-2nA"
        kind = "constant"
        current = 2e-9
        duration = 0.015
        [[stimulus]]
        name = "fI-700pA"
        kind = "constant"
        current = 7e-10
        duration = 0.02
        [[stimulus]]
        name = "burst"
        kind = "burst"
        current = 1e-9
        on = 5e-3
        duration = 0.015
        [[stimulus]]
        name = "random-held-out"
        kind = "random"
        max_current = 1.6e-9
        window = 1e-3
        duration = 0.015
        seed = 12
        held_out = true
        """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-shards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func calibrate(_ protocolURL: URL, out: URL, _ extra: [String] = [], environment: [String: String] = ShardCLITests.environment)
        throws -> CLITests.Run
    {
        try CLITests.bruno(["calibrate", "rram", "--protocol", protocolURL.path, "--out", out.path] + extra, environment: environment)
    }

    static var slurmRunning: Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "command -v sbatch >/dev/null && sinfo -h -o %t 2>/dev/null | grep -qE 'idle|mix|alloc'"]
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    static func requireSlurm() throws {
        if Self.slurmRunning { return }
        if ProcessInfo.processInfo.environment["BRUNO_REQUIRE_SLURM"] == "1" {
            XCTFail("BRUNO_REQUIRE_SLURM=1 but no Slurm is running (bash scripts/slurm-single-node.sh start)")
        }
        throw XCTSkip("no Slurm running here (bash scripts/slurm-single-node.sh start)")
    }

    /// FeLIF stimuli sharded: the card and report fitted from 2 or 3 shards' traces (worker processes, Slurm) are the
    /// unsharded run's, byte for byte; a merge with a missing shard names it and writes no card.
    func testTheFeLIFCardIsByteIdenticalWhenItsStimuliAreSharded() throws {
        let dir = try temporaryDirectory()
        let p = try smallFeLIFProtocol(in: dir)
        func calibrateFeLIF(_ out: URL, _ extra: [String]) throws -> CLITests.Run {
            try CLITests.bruno(["calibrate", "felif", "--protocol", p.path, "--out", out.path] + extra, environment: Self.environment)
        }
        var runs: [(String, [String])] = [("unsharded", []), ("3 local", ["--shards", "3"])]
        if Self.slurmRunning || ProcessInfo.processInfo.environment["BRUNO_REQUIRE_SLURM"] == "1" {
            runs.append(("slurm", ["--shards", "2", "--engine", "slurm", "--wait"]))
        }
        var outs: [URL] = []
        for (name, extra) in runs {
            let out = dir.appendingPathComponent(name.replacingOccurrences(of: " ", with: "-"))
            let r = try calibrateFeLIF(out, extra)
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)\n\(r.stdout)")
            outs.append(out)
        }
        for file in ["felif.card.json", "felif-report.md", "felif-fi.svg"] {
            let reference = try Data(contentsOf: outs[0].appendingPathComponent(file))
            for (out, (name, _)) in zip(outs, runs).dropFirst() {
                XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent(file)), reference, "\(name): \(file) differs")
            }
        }
        let manifest = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: outs[1].appendingPathComponent("shards-felif/manifest.json")))
                                     as? [String: Any])
        XCTAssertEqual((manifest["layout"] as? [String: Any])?["itemCount"] as? Int, 4, "one item per stimulus")

        // A shard lost after planning: the merge names it and leaves no card behind.
        let out = outs[1]
        try FileManager.default.removeItem(at: out.appendingPathComponent("felif.card.json"))
        try FileManager.default.removeItem(at: out.appendingPathComponent("shards-felif/shard-0002.json"))
        let merge = try CLITests.bruno(["shard", "merge", out.appendingPathComponent("shards-felif").path])
        XCTAssertNotEqual(merge.status, 0)
        XCTAssertTrue(merge.stderr.contains("1 of 3 shard(s) not finished: 2;"), merge.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("felif.card.json").path))
    }

    /// In one process, in 3 and 4 worker processes, and as a 4-task Slurm array: the same card, report and samples,
    /// byte for byte.
    func testTheCardIsByteIdenticalForAnyShardCountAndEngine() throws {
        let dir = try temporaryDirectory()
        let p = try smallProtocol(in: dir)
        var outs: [(String, URL)] = []
        for (name, extra) in [("in-process", [String]()), ("3 local", ["--shards", "3"]), ("4 local", ["--shards", "4", "--engine", "local"])] {
            let out = dir.appendingPathComponent(name.replacingOccurrences(of: " ", with: "-"))
            let run = try calibrate(p, out: out, extra)
            XCTAssertEqual(run.status, 0, "\(name): \(run.stderr)\(run.stdout)")
            outs.append((name, out))
        }
        if Self.slurmRunning || ProcessInfo.processInfo.environment["BRUNO_REQUIRE_SLURM"] == "1" {
            try Self.requireSlurm()
            let out = dir.appendingPathComponent("slurm")
            let run = try calibrate(p, out: out, ["--shards", "4", "--engine", "slurm", "--wait"])
            XCTAssertEqual(run.status, 0, "slurm: \(run.stderr)\(run.stdout)")
            XCTAssertTrue(run.stdout.contains("submitted shard array"), run.stdout)
            let script = try String(contentsOf: out.appendingPathComponent("shards-rram/slurm/shard.sbatch"), encoding: .utf8)
            XCTAssertTrue(script.contains("$SLURM_ARRAY_TASK_ID"), script)
            outs.append(("slurm", out))
        }
        let reference = outs[0].1
        for (name, out) in outs.dropFirst() {
            for file in ["rram.card.json", "rram-report.md", "rram-samples.csv", "rram-levels.svg"] {
                XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent(file)), try Data(contentsOf: reference.appendingPathComponent(file)),
                               "\(name): \(file) differs from the in-process run")
            }
        }
        // The merge records every shard's checksum and the core-seconds.
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: outs[2].1.appendingPathComponent("shards-rram/merge.json"))) as? [String: Any]
        XCTAssertEqual((summary?["shards"] as? [Any])?.count, 4)
        XCTAssertGreaterThan(summary?["coreSeconds"] as? Double ?? 0, 0)
    }

    /// The pid of the worker running shard `index` of `folder`, from /proc.
    static func workerPID(folder: URL, index: Int) -> Int32? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if args.contains("run"), args.contains(folder.path), let i = args.firstIndex(of: "--index"), i + 1 < args.count,
               args[i + 1] == "\(index)" { return pid }
        }
        return nil
    }

    /// Starts `calibrate … --shards 2`, kills shard 1's worker with SIGKILL once it has programmed something, and
    /// returns the command's result.
    func runKillingShard1(_ p: URL, out: URL, retries: Int) throws -> CLITests.Run {
        let folder = out.appendingPathComponent("shards-rram")
        let killer = Thread {
            let log = folder.appendingPathComponent("logs/shard-0001.log")
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("programmed"),
                   let pid = ShardCLITests.workerPID(folder: folder.standardizedFileURL, index: 1) {
                    kill(pid, SIGKILL)
                    return
                }
                usleep(20_000)
            }
        }
        killer.start()
        return try calibrate(p, out: out, ["--shards", "2", "--retries", "\(retries)"])
    }

    /// A shard killed with SIGKILL mid-run: without retries the command fails naming it, the merge refuses and names
    /// it, and running the command again computes only that shard — and the card equals the uninterrupted one. With
    /// a retry the engine starts the worker again by itself, with the same result.
    func testAKilledShardIsResubmittedAndTheMergeEqualsTheUninterruptedRun() throws {
        let dir = try temporaryDirectory()
        let p = try smallProtocol(in: dir, method: "ispp")
        let whole = dir.appendingPathComponent("whole")
        XCTAssertEqual(try calibrate(p, out: whole, ["--shards", "2"]).status, 0)
        let reference = try Data(contentsOf: whole.appendingPathComponent("rram.card.json"))

        let out = dir.appendingPathComponent("killed")
        let killed = try runKillingShard1(p, out: out, retries: 0)
        XCTAssertNotEqual(killed.status, 0, killed.stdout)
        XCTAssertTrue(killed.stderr.contains("shard 1 failed: the worker was killed by signal 9"), killed.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("rram.card.json").path), "nothing merged")
        let merge = try CLITests.bruno(["shard", "merge", out.appendingPathComponent("shards-rram").path])
        XCTAssertNotEqual(merge.status, 0)
        XCTAssertTrue(merge.stderr.contains("1 of 2 shard(s) not finished: 1;"), merge.stderr)
        let status = try CLITests.bruno(["shard", "status", out.appendingPathComponent("shards-rram").path])
        XCTAssertEqual(status.status, 3)
        XCTAssertTrue(status.stdout.contains("missing 1"), status.stdout)

        let again = try calibrate(p, out: out, ["--shards", "2"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("1 of 2 shard(s) already finished; running 1"), again.stdout)
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("rram.card.json")), reference)

        let retried = dir.appendingPathComponent("retried")
        let run = try runKillingShard1(p, out: retried, retries: 1)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("shard 1: worker killed by signal 9; started again"), run.stdout)
        XCTAssertEqual(try Data(contentsOf: retried.appendingPathComponent("rram.card.json")), reference)
    }

    /// Bad input, each with a clear message and nothing merged: Slurm not on PATH, a shard failing in ngspice, a
    /// manifest edited by hand, an input changed after planning, a different --shards on a planned folder.
    func testBadInputGetsClearErrorsAndNothingIsMerged() throws {
        let dir = try temporaryDirectory()
        let p = try smallProtocol(in: dir)
        let noSlurm = try calibrate(p, out: dir.appendingPathComponent("x"), ["--engine", "slurm"],
                                    environment: Self.environment.merging(["PATH": dir.path]) { $1 })
        XCTAssertNotEqual(noSlurm.status, 0)
        XCTAssertTrue(noSlurm.stderr.contains("--engine slurm needs Slurm's `sbatch` on PATH"), noSlurm.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x/shards-rram").path), "nothing planned")

        // Level 5's compliance is negative: planning (nominal probe at level 3) passes, the shard holding level 5 fails.
        let bad = dir.appendingPathComponent("bad.cir")
        let shipped = try String(contentsOf: CLITests.packageRoot.appendingPathComponent("netlists/rram_program.cir"), encoding: .utf8)
        XCTAssertTrue(shipped.contains("ic5=596u") && shipped.contains(".include ../models/rram.lib"))
        try shipped.replacingOccurrences(of: "ic5=596u", with: "ic5=-596u")
            .replacingOccurrences(of: ".include ../models/", with: ".include \(CLITests.packageRoot.path)/models/")
            .write(to: bad, atomically: true, encoding: .utf8)
        let failing = try calibrate(try smallProtocol(in: dir, netlist: bad), out: dir.appendingPathComponent("f"), ["--shards", "2"])
        XCTAssertNotEqual(failing.status, 0)
        XCTAssertTrue(failing.stderr.contains("failed: the worker exited with status 1"), failing.stderr)
        XCTAssertTrue(failing.stderr.contains("level 5, device 0, cycle 0"), failing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("f/rram.card.json").path))

        let out = dir.appendingPathComponent("ok")
        XCTAssertEqual(try calibrate(p, out: out, ["--shards", "2"]).status, 0)
        let otherCount = try calibrate(p, out: out, ["--shards", "3"])
        XCTAssertTrue(otherCount.stderr.contains("already holds shards of another job (--shards 3 vs 2)"), otherCount.stderr)
        let manifest = out.appendingPathComponent("shards-rram/manifest.json")
        let text = try String(contentsOf: manifest, encoding: .utf8)
        try text.replacingOccurrences(of: "\"devices\" : 3", with: "\"devices\" : 4").write(to: manifest, atomically: true, encoding: .utf8)
        let edited = try CLITests.bruno(["shard", "merge", out.appendingPathComponent("shards-rram").path])
        XCTAssertNotEqual(edited.status, 0)
        XCTAssertTrue(edited.stderr.contains("manifest.json: its contents do not match its checksum"), edited.stderr)
        try text.write(to: manifest, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: out.appendingPathComponent("shards-rram/shard-0001.json"))
        try (String(contentsOf: p, encoding: .utf8) + "\n# edited\n").write(to: p, atomically: true, encoding: .utf8)
        let changed = try CLITests.bruno(["shard", "run", out.appendingPathComponent("shards-rram").path, "--index", "1"])
        XCTAssertNotEqual(changed.status, 0)
        XCTAssertTrue(changed.stderr.contains("changed since the job was planned"), changed.stderr)
    }

    /// Slurm refusing a submission (an unknown partition) is reported with Slurm's own message.
    func testARejectedSbatchIsReportedWithSlurmsMessage() throws {
        try Self.requireSlurm()
        let dir = try temporaryDirectory()
        let run = try calibrate(try smallProtocol(in: dir), out: dir.appendingPathComponent("r"),
                                ["--shards", "2", "--engine", "slurm", "--partition", "no-such-partition"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("Slurm refused `sbatch"), run.stderr)
        XCTAssertTrue(run.stderr.lowercased().contains("partition"), run.stderr)
    }
}
