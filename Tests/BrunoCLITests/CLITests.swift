import Foundation
import XCTest

/// Runs the real `bruno` executable the way a user does: exit status, files written, error paragraphs.
final class CLITests: XCTestCase {
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// `bruno` is built next to the test bundle.
    static var executable: URL {
        var dir = Bundle(for: CLITests.self).bundleURL
        if dir.pathExtension == "xctest" { dir = dir.deletingLastPathComponent() }
        return dir.appendingPathComponent("bruno")
    }

    struct Run { var status: Int32; var stdout: String; var stderr: String }

    static func bruno(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> Run {
        let p = Process()
        p.executableURL = executable
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        p.arguments = arguments
        p.currentDirectoryURL = directory ?? packageRoot
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testSimWritesCSVJSONAndSVG() throws {
        let dir = try temporaryDirectory()
        let csv = dir.appendingPathComponent("rc.csv"), json = dir.appendingPathComponent("rc.json"), svg = dir.appendingPathComponent("rc.svg")
        let run = try Self.bruno(["sim", "netlists/rc_lowpass.cir", "--param", "r=2k", "--save", "v(out)", "--out", csv.path, "--plot", svg.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let rows = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "time [s],out [V]")
        // τ = 2 ms with r=2k: at t = 0.5 ms + 2 ms the output is 1 − e⁻¹.
        let points = rows.dropFirst().map { $0.split(separator: ",").map { Double($0)! } }
        let near = points.min { abs($0[0] - 2.5e-3) < abs($1[0] - 2.5e-3) }!
        XCTAssertEqual(near[1], 1 - exp(-(near[0] - 0.5e-3) / 2e-3), accuracy: 2e-3)
        XCTAssertTrue(try String(contentsOf: svg, encoding: .utf8).hasPrefix("<svg"))

        let runJSON = try Self.bruno(["sim", "netlists/rc_lowpass.cir", "--tran", "1u,1m", "--out", json.path])
        XCTAssertEqual(runJSON.status, 0, runJSON.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any]
        let plots = try XCTUnwrap(object?["plots"] as? [[String: Any]])
        let vectors = try XCTUnwrap(plots.first?["vectors"] as? [[String: Any]])
        let time = try XCTUnwrap(vectors.first { $0["name"] as? String == "time" }?["real"] as? [Double])
        XCTAssertEqual(time.last!, 1e-3, accuracy: 1e-12)
    }

    func testSimFailuresExitNonZeroWithOneParagraph() throws {
        let dir = try temporaryDirectory()
        let bad = dir.appendingPathComponent("bad.cir")
        try "bad\nV1 a 0 1\nR1 a 0 {undefined_thing}\n.op\n.end\n".write(to: bad, atomically: true, encoding: .utf8)
        let run = try Self.bruno(["sim", bad.path])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("undefined_thing"), run.stderr)
        XCTAssertTrue(run.stderr.contains("bad.cir line 3"), run.stderr)

        let missing = try Self.bruno(["sim", dir.appendingPathComponent("nope.cir").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("nope.cir"), missing.stderr)

        let badParam = try Self.bruno(["sim", "netlists/rc_lowpass.cir", "--param", "rr=1"])
        XCTAssertNotEqual(badParam.status, 0)
        XCTAssertTrue(badParam.stderr.contains("rr") && badParam.stderr.contains("vstep"), badParam.stderr)

        let badOut = try Self.bruno(["sim", "netlists/rc_lowpass.cir", "--out", dir.appendingPathComponent("x.txt").path])
        XCTAssertNotEqual(badOut.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.txt").path))
    }

    func testTrainEvaluateAndValidateFromTheCommandLine() throws {
        let dir = try temporaryDirectory()
        let run = dir.appendingPathComponent("run").path
        let small = ["--set", "run.epochs=1", "--set", "run.batch=27", "--set", "data.train_per_class=1", "--set", "data.valid_per_class=1",
                     "--set", "data.test_per_class=1", "--set", "data.steps=20", "--set", "network.encoding=12", "--set", "network.hidden=[8]"]
        let t = try Self.bruno(["train"] + small + ["--out", run])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(t.stdout.contains("epoch 1/1"), t.stdout)
        for f in ["metrics.jsonl", "checkpoint.json", "config.toml", "run.json", "learning-curves.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run)/\(f)"), f)
        }
        // The resolved config runs from the run folder (absolute card paths), under other settings too.
        let e = try Self.bruno(["evaluate", "--run", run, "--set", "felif.fine_steps=50"])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("accuracy"), e.stdout)
        let v = try Self.bruno(["validate", "--run", run, "--samples", "1", "--columns", "1"])
        XCTAssertEqual(v.status, 0, v.stderr)
        XCTAssertTrue(v.stdout.contains("SPICE check"), v.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run)/validation.jsonl"))
        // Bad requests: a layer out of range, a folder that is not a run, starting over an existing run.
        let bad = try Self.bruno(["validate", "--run", run, "--layer", "9"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("out of range"), bad.stderr)
        let none = try Self.bruno(["validate", "--run", dir.path])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("not a run folder"), none.stderr)
        let again = try Self.bruno(["train"] + small + ["--out", run])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("--resume"), again.stderr)
        let typo = try Self.bruno(["train", "--set", "run.epoch=3", "--out", dir.appendingPathComponent("x").path])
        XCTAssertNotEqual(typo.status, 0)
        XCTAssertTrue(typo.stderr.contains("did you mean 'epochs'"), typo.stderr)
    }

    func testPipelineSmokeRun() throws {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("pipeline").path
        let r = try Self.bruno(["pipeline", "--set", "run.epochs=1", "--set", "run.batch=27", "--set", "data.train_per_class=1",
                                "--set", "data.valid_per_class=1", "--set", "data.test_per_class=1", "--set", "data.steps=30",
                                "--set", "network.encoding=12", "--set", "network.hidden=[8]", "--set", "network.input_scale=6e-9", "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("calibration: reusing"), r.stdout)
        XCTAssertTrue(r.stdout.contains("SPICE check (epoch 1"), r.stdout)
        for f in ["report.md", "learning-curves.svg", "weight-levels.svg", "validation.svg", "train/metrics.jsonl", "export/network.cir",
                  "export/synapses.csv", "export/devices.lib", "export/README.md"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/\(f)"), f)
        }
        let report = try String(contentsOfFile: "\(out)/report.md", encoding: .utf8)
        XCTAssertTrue(report.contains("## SPICE agreement") && report.contains("of the training wall time"), report)
        let metrics = try String(contentsOfFile: "\(out)/train/metrics.jsonl", encoding: .utf8)
        XCTAssertTrue(metrics.contains("\"validation\""), metrics)
    }

    func testARunResumedWithAnotherThreadCountIsBitIdentical() throws {
        // Issue #14: reductions are split into a fixed number of parts, not by the worker count, so a run
        // interrupted on two threads and resumed on one ends with the weights of a one-thread run.
        let dir = try temporaryDirectory()
        let small = ["--set", "run.batch=16", "--set", "data.train_per_class=3", "--set", "data.valid_per_class=1",
                     "--set", "data.test_per_class=1", "--set", "data.steps=30", "--set", "network.encoding=24",
                     "--set", "network.hidden=[96]", "--set", "felif.fine_steps=10", "--set", "run.epochs=3"]
        let straight = dir.appendingPathComponent("straight"), split = dir.appendingPathComponent("split")
        let a = try Self.bruno(["train"] + small + ["--out", straight.path], environment: ["BRUNO_THREADS": "1"])
        XCTAssertEqual(a.status, 0, a.stderr)
        let p = Process()
        p.executableURL = Self.executable
        p.arguments = ["train"] + small + ["--out", split.path]
        p.currentDirectoryURL = Self.packageRoot
        p.environment = ProcessInfo.processInfo.environment.merging(["BRUNO_THREADS": "2"]) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date(timeIntervalSinceNow: 120)
        while !FileManager.default.fileExists(atPath: split.appendingPathComponent("checkpoint.json").path) && Date() < deadline && p.isRunning {
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTAssertTrue(p.isRunning, "the run ended before it could be interrupted")
        p.interrupt()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130)
        let b = try Self.bruno(["train"] + small + ["--out", split.path, "--resume"], environment: ["BRUNO_THREADS": "1"])
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(b.stderr.contains("resuming") || b.stdout.contains("resuming"), b.stdout + b.stderr)
        func parameters(_ run: URL) throws -> [[Double]] {
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("checkpoint.json"))) as? [String: Any]
            return try XCTUnwrap(object?["parameters"] as? [[Double]])
        }
        let x = try parameters(straight).joined(), y = try parameters(split).joined()
        let differing = zip(x, y).filter { $0 != $1 }.count
        XCTAssertTrue(x.count == y.count && differing == 0, "resumed on another thread count: \(differing) of \(x.count) weights differ")
    }

    func testSigintStopsTrainingCleanlyAndTheRunResumes() throws {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("run")
        let small = ["--set", "run.batch=16", "--set", "data.train_per_class=3", "--set", "data.valid_per_class=1",
                     "--set", "data.test_per_class=1", "--set", "data.steps=30", "--set", "network.encoding=24",
                     "--set", "network.hidden=[16]", "--set", "felif.fine_steps=10", "--set", "run.epochs=12"]
        let p = Process()
        p.executableURL = Self.executable
        p.arguments = ["train"] + small + ["--out", out.path]
        p.currentDirectoryURL = Self.packageRoot
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        // Interrupt once the first epoch is on disk, i.e. during a later epoch.
        let checkpoint = out.appendingPathComponent("checkpoint.json")
        let deadline = Date(timeIntervalSinceNow: 120)
        while !FileManager.default.fileExists(atPath: checkpoint.path) && Date() < deadline && p.isRunning {
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertTrue(p.isRunning, "the run ended before it could be interrupted")
        p.interrupt()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130, stderr)
        XCTAssertTrue(stderr.contains("SIGINT received"), stderr)
        XCTAssertTrue(stderr.contains("nothing of it was written") && stderr.contains("--resume"), stderr)
        // What is on disk is a whole run of the finished epochs: it resumes to the end.
        let lines = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        XCTAssertGreaterThanOrEqual(lines.count, 1)
        XCTAssertLessThan(lines.count, 12)
        let resumed = try Self.bruno(["train"] + small + ["--out", out.path, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let all = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        XCTAssertEqual(all.split(separator: "\n").count, 12)
    }
}
