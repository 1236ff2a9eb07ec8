import BrunoCards
import BrunoSupport
import Foundation
import XCTest
@testable import BrunoTraining

/// Config values and run-folder situations that used to trap, hang or silently lose a run (issue #14): each is
/// a clear error naming the file and key, or is handled without losing anything.
final class HostileConfigTests: XCTestCase {
    private var experiment: URL { TrainerTests.experiment }

    func testOutOfRangeValuesAreErrorsNamingTheKey() throws {
        // Each of these trapped (UInt64(-1), Int(1e30), negative array sizes) or allocated without bound.
        let cases: [(String, String)] = [
            ("run.seed=-1", "[run] 'seed'"),
            ("data.seed=-1", "[data] 'seed'"),
            ("network.hidden=[1e30]", "[network] 'hidden'"),
            ("network.hidden=[-5]", "[network] 'hidden'"),
            ("network.hidden=[0]", "[network] 'hidden'"),
            ("network.hidden=[2.5]", "[network] 'hidden'"),
            ("network.output_size=0", "[network] 'output_size'"),
            ("network.output_size=-1", "[network] 'output_size'"),
            ("data.steps=-1", "[data] 'steps'"),
            ("data.steps=0", "[data] 'steps'"),
            ("data.taxel_rows=0", "[data] 'taxel_rows'"),
            ("data.train_per_class=-1", "[data] 'train_per_class'"),
            ("felif.fine_steps=1000000000", "[felif] 'fine_steps'"),
            ("felif.coarse_step=1e9", "[felif] 'coarse_step'"),
            ("optimizer.learning_rate=1e30", "[optimizer] 'learning_rate'"),
            ("loss.warmup=-5", "[loss] 'warmup'"),
            ("devices.felif_variation=10", "[devices] 'felif_variation'"),
            ("network.read_noise=-0.1", "[network] 'read_noise'"),
            ("network.hidden_beta=2", "[network] 'hidden_beta'"),
            ("validation.instances=0", "[validation] 'instances'"),
            ("run.epochs=0", "[run] 'epochs'"),
            ("run.batch=-3", "[run] 'batch'"),
        ]
        for (override, key) in cases {
            XCTAssertThrowsError(try TrainingConfig.load(experiment, overrides: [override]), override) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(key), "\(override): \(text)")
                XCTAssertTrue(text.contains(experiment.path), "\(override): the error names the file: \(text)")
            }
        }
        let jsb = TrainerTests.root.appendingPathComponent("experiments/jsb.toml")
        XCTAssertThrowsError(try TrainingConfig.load(jsb, overrides: ["data.max_sequences=-1"])) {
            XCTAssertTrue("\($0)".contains("[data] 'max_sequences'"), "\($0)")
        }
    }

    func testRunsThatWouldNotFitInMemoryAreRefusedBeforeAllocating() async throws {
        for overrides in [["felif.mode=\"bptt\"", "felif.fine_steps=100000"], ["network.hidden=[65536, 65536]"]] {
            let config = try TrainingConfig.load(experiment, overrides: overrides)
            XCTAssertThrowsError(try Trainer(config: config), "\(overrides)") { error in
                guard case .tooLarge(let estimate, _)? = error as? TrainingError else { return XCTFail("\(error)") }
                XCTAssertGreaterThan(estimate.totalBytes, MemoryEstimate.availableBytes * 0.8)
                XCTAssertTrue("\(error)".contains("GB"), "\(error)")
            }
        }
        // The estimate bounds what a run really keeps for its backward pass (fine-grid BPTT, where it matters).
        let small = try TrainingConfig.load(experiment, overrides: TrainerTests.small + ["felif.mode=\"bptt\"", "run.epochs=1"])
        var trainer = try Trainer(config: small)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-mem-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let metrics = try await trainer.run(out: out, resume: false) { _ in }
        let estimate = MemoryEstimate(small, data: trainer.data)
        XCTAssertGreaterThan(estimate.fineTapeBytes, 0)
        XCTAssertGreaterThanOrEqual(estimate.fineTapeBytes + estimate.activationBytes, metrics[0].backwardStoreMB * 1e6)
        // And the default experiment is far from the limit.
        let standard = try TrainingConfig.load(experiment)
        XCTAssertLessThan(MemoryEstimate(standard, data: try ExperimentData.load(standard)).totalBytes, 4e9)
    }

    func testASyntheticDataSetThatWouldNotFitIsRefusedBeforeItIsGenerated() throws {
        let config = try TrainingConfig.load(experiment, overrides: ["data.train_per_class=1000000", "data.steps=100000"])
        XCTAssertThrowsError(try Trainer(config: config)) { error in
            guard case .dataTooLarge(_, let bytes, _)? = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(bytes, MemoryEstimate.availableBytes * 0.5)
            XCTAssertTrue("\(error)".contains("data.train_per_class"), "\(error)")
        }
    }

    func testNulBytesAndInvalidUTF8InATomlAreErrorsWithTheLine() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-toml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = try String(contentsOf: experiment, encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        for (name, bytes) in [("nul", [UInt8(0)]), ("latin1", [UInt8(0xE9)])] {
            var edited = lines
            edited[2] += String(decoding: [UInt8(ascii: "#")], as: UTF8.self)
            var data = Data(edited.joined(separator: "\n").utf8)
            let offset = edited[0..<2].map { $0.utf8.count + 1 }.reduce(0, +) + edited[2].utf8.count
            data.insert(contentsOf: bytes, at: offset)
            let url = folder.appendingPathComponent("\(name).toml")
            try data.write(to: url)
            XCTAssertThrowsError(try TrainingConfig.load(url)) { error in
                XCTAssertTrue("\(error)".contains("line 3"), "\(name): \(error)")
                XCTAssertTrue("\(error)".contains(url.path), "\(name): \(error)")
            }
        }
    }

    func testASecondWriterOfARunFolderIsRefused() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-lock-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let holder = try RunFolderLock(out)
        var trainer = try Trainer(config: try TrainingConfig.load(experiment, overrides: TrainerTests.small))
        do {
            try await trainer.run(out: out, resume: false) { _ in }
            XCTFail("a second writer was let in")
        } catch let error as RunFolderLockError {
            XCTAssertEqual(error, .held(out.path, owner: getpid()))
            XCTAssertTrue("\(error)".contains("process \(getpid())"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("config.toml").path))
        holder.release()
        // Released (or its holder killed, which the kernel releases the same way): the run proceeds.
        let one = try TrainingConfig.load(experiment, overrides: TrainerTests.small + ["run.epochs=1"])
        var again = try Trainer(config: one)
        try await again.run(out: out, resume: false) { _ in }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint.json").path))
    }

    func testNonFiniteParametersStopTheRunBeforeAnythingIsWritten() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-nan-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        // One batch per epoch and a NaN learning rate, as a diverged schedule leaves it: the loss of that batch is
        // still finite, so only the state check sees it (it used to write metrics, then fail encoding them).
        var trainer = try Trainer(config: try TrainingConfig.load(experiment, overrides: TrainerTests.small + ["run.batch=1000"]))
        var poisoned = trainer.network.parameters
        poisoned[0][3] = .nan
        let clean = trainer.network.parameters
        trainer.network.parameters = poisoned
        XCTAssertEqual(trainer.network.firstNonFiniteParameter()?.0.hasPrefix("weights of layer"), true)
        trainer.network.parameters = clean
        XCTAssertNil(trainer.network.firstNonFiniteParameter())
        trainer.config.learningRate = .nan
        do {
            try await trainer.run(out: out, resume: false) { _ in }
            XCTFail("a NaN network trained on")
        } catch let error as TrainingError {
            guard case .nonFiniteParameters(let epoch, let tensor, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(epoch, 1)
            XCTAssertTrue(tensor.contains("learning rate") || tensor.contains("layer"), tensor)
            XCTAssertTrue("\(error)".contains("last checkpoint is kept"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint.json").path))
        let metrics = (try? String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)) ?? ""
        XCTAssertTrue(metrics.isEmpty, "no epoch line was written: \(metrics)")
    }

    func testStaleTemporariesOfAKilledWriterAreRemoved() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-tmp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // pid 2^22 + 1 is above Linux's largest pid, so no process has it.
        let dead = folder.appendingPathComponent(".checkpoint.json.tmp-4194305-17")
        let live = folder.appendingPathComponent(".metrics.jsonl.tmp-1-17")
        for url in [dead, live] { try Data(count: 1 << 20).write(to: url) }
        XCTAssertEqual(AtomicFile.removeStaleTemporaries(in: folder), 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live.path), "pid 1 is alive: its file stays")
    }
}
