import BrunoCards
import BrunoData
import BrunoSupport
import BrunoSurrogates
import Foundation
import XCTest
@testable import BrunoTraining

final class TrainerTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let experiment = root.appendingPathComponent("experiments/braille-synthetic.toml")

    /// A small version of the default experiment (seconds, not minutes).
    static let small = ["run.epochs=2", "run.batch=16", "data.train_per_class=2", "data.valid_per_class=1", "data.test_per_class=1",
                        "data.steps=30", "network.encoding=24", "network.hidden=[16]", "felif.fine_steps=10"]

    func temporaryFolder() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-train-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testResumeContinuesBitForBit() async throws {
        let config = try TrainingConfig.load(Self.experiment, overrides: Self.small)
        let straight = temporaryFolder(), interrupted = temporaryFolder()
        var a = try Trainer(config: config)
        let ha = try await a.run(out: straight, resume: false) { _ in }
        // Stop after one epoch (a run killed during epoch 2), then resume.
        var b = try Trainer(config: try TrainingConfig.load(Self.experiment, overrides: Self.small + ["run.epochs=1"]))
        b.config.resolvedText = config.resolvedText   // same run identity, fewer epochs requested
        b.config.epochs = 1
        try await b.run(out: interrupted, resume: false) { _ in }
        var c = try Trainer(config: config)
        let hc = try await c.run(out: interrupted, resume: true) { _ in }
        XCTAssertEqual(a.network.parameters, c.network.parameters)
        XCTAssertEqual(ha.count, 2)
        XCTAssertEqual(hc.count, 2)
        for (x, y) in zip(ha, hc) {
            XCTAssertEqual(x.trainLoss, y.trainLoss)
            XCTAssertEqual(x.testLoss, y.testLoss)
            XCTAssertEqual(x.validAccuracy, y.validAccuracy)
        }
        let lines = try String(contentsOf: interrupted.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        for f in ["config.toml", "run.json", "checkpoint.json", "learning-curves.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: interrupted.appendingPathComponent(f).path), f)
        }
        let run = try JSONSerialization.jsonObject(with: Data(contentsOf: interrupted.appendingPathComponent("run.json"))) as! [String: Any]
        XCTAssertEqual(run["seed"] as? Int, 1)
        XCTAssertNotNil((run["rram_card"] as? [String: Any])?["sha256"])
    }

    func testTrainingLearnsTheSmallBrailleTask() async throws {
        // Float synapses, LIF outputs, a few epochs on 4 classes' worth of samples per letter: training accuracy
        // must rise well above chance (1/27), i.e. the gradients point somewhere useful.
        let c = try TrainingConfig.load(Self.experiment, overrides: Self.small + ["run.epochs=20", "data.train_per_class=4", "data.steps=60", "network.encoding=48",
                                                                                   "network.hidden=[64]", "network.synapses=\"float\"", "network.output=\"lif\"",
                                                                                   "network.init_gain=3", "optimizer.learning_rate=2e-2"])
        var t = try Trainer(config: c)
        let h = try await t.run(out: temporaryFolder(), resume: false) { _ in }
        XCTAssertGreaterThan(h.last!.trainAccuracy!, 0.5)
        XCTAssertGreaterThan(h.last!.testAccuracy!, 0.25)
        XCTAssertLessThan(h.last!.trainLoss, h.first!.trainLoss)
    }

    func testARecalibratedCardFromTheHookIsUsedAndSurvivesResume() async throws {
        let out = temporaryFolder()
        let config = try TrainingConfig.load(Self.experiment, overrides: Self.small)
        var first = try Trainer(config: config)
        first.config.epochs = 1
        let hook: Trainer.EpochHook = { _, _, _, out in
            var card = try DeviceCard.load(Self.root.appendingPathComponent("calibration/felif.card.json"))
            let i = card.parameters.firstIndex { $0.name == "threshold" }!
            card.parameters[i].value = 2.3
            let url = out.appendingPathComponent("recalibration-epoch1/felif.card.json")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try card.encoded().write(to: url)
            return Trainer.EpochCheck(metrics: ["passed": 0, "recalibrated": 1], felifCard: url)
        }
        let h = try await first.run(out: out, resume: false, afterEpoch: hook) { _ in }
        XCTAssertEqual(h.last?.validation?["recalibrated"], 1)
        XCTAssertTrue(first.cards.felif!.hasSuffix("recalibration-epoch1/felif.card.json"))
        guard case .felif(let f, _)? = first.network.layers.last else { return XCTFail("no FeLIF output layer") }
        XCTAssertEqual(f.devices[0].threshold, 2.3)
        // Resuming (same config) continues with the recalibrated card.
        var resumed = try Trainer(config: config)
        let h2 = try await resumed.run(out: out, resume: true) { _ in }
        XCTAssertEqual(h2.count, 2)
        guard case .felif(let g, _)? = resumed.network.layers.last else { return XCTFail("no FeLIF output layer") }
        XCTAssertEqual(g.devices[0].threshold, 2.3)
        // So do the readers of the folder (export, evaluate, validate).
        var reader = try Trainer(config: try TrainingConfig.load(out.appendingPathComponent("config.toml")))
        XCTAssertEqual(try reader.loadCheckpoint(from: out), 2)
        guard case .felif(let r, _)? = reader.network.layers.last else { return XCTFail("no FeLIF output layer") }
        XCTAssertEqual(r.devices[0].threshold, 2.3)
    }

    func testConfigErrorsNameTheKeyAndWhatWasExpected() {
        func message(_ overrides: [String]) -> String {
            do { _ = try TrainingConfig.load(Self.experiment, overrides: overrides); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(["optimizer.learning_rat=1e-3"]).contains("did you mean 'learning_rate'"))
        XCTAssertTrue(message(["run.epochs=\"ten\""]).contains("'epochs' must be an integer"))
        XCTAssertTrue(message(["felif.mode=\"fast\""]).contains("one of bruno, bptt, bptt_checkpointed, coarse_only"))
        XCTAssertTrue(message(["felif.integrator=\"exponential\"", "felif.mode=\"bptt\""]).contains("forward option of bruno"))
        XCTAssertTrue(message(["nonsense"]).contains("expected table.key=value"))
        XCTAssertTrue(message(["network.synapses=\"analog\""]).contains("float, uniform or rram"))
        XCTAssertTrue(message(["optimizer.readout_learning_rate=1e-2"]).contains("[network] readout = true"))
        XCTAssertEqual(try TrainingConfig.load(Self.experiment, overrides: [
            "network.readout=true", "loss.kind=\"bce\"", "optimizer.readout_learning_rate=2e-2",
        ]).readoutLearningRate, 2e-2)
        XCTAssertTrue(message(["optimizer.readout_only_epochs=2"]).contains("[network] readout = true"))
    }

    /// The readout's own rate and the readout-only epochs as per-tensor scales: the readout is the last two tensors,
    /// every other tensor is frozen (scale 0) in the first epochs, and a frozen tensor does not move in an update.
    func testReadoutOnlyEpochsFreezeEverythingButTheReadout() throws {
        let c = try TrainingConfig.load(Self.experiment, overrides: [
            "network.readout=true", "loss.kind=\"bce\"", "optimizer.learning_rate=1e-3",
            "optimizer.readout_learning_rate=4e-3", "optimizer.readout_only_epochs=2",
        ])
        XCTAssertEqual(Trainer.rateScales(c, tensors: 6, epoch: 1), [0, 0, 0, 0, 4, 4])
        XCTAssertEqual(Trainer.rateScales(c, tensors: 6, epoch: 2), [0, 0, 0, 0, 4, 4])
        XCTAssertEqual(Trainer.rateScales(c, tensors: 6, epoch: 3), [1, 1, 1, 1, 4, 4])
        let plain = try TrainingConfig.load(Self.experiment, overrides: ["network.readout=true", "loss.kind=\"bce\""])
        XCTAssertNil(Trainer.rateScales(plain, tensors: 6, epoch: 1))
        var opt = Optimizer(kind: .adam, learningRate: 0.1)
        opt.rateScales = Trainer.rateScales(c, tensors: 6, epoch: 1)
        var p: [[Float]] = (0..<6).map { _ in [1] }
        opt.update(&p, gradients: (0..<6).map { _ in [0.5] })
        XCTAssertEqual(p[0..<4].map { $0[0] }, [1, 1, 1, 1])
        XCTAssertEqual(p[5][0], 0.6, accuracy: 1e-5)
    }

    func testResumeRefusesAChangedConfigAndAMissingCheckpoint() async throws {
        let out = temporaryFolder()
        var t = try Trainer(config: try TrainingConfig.load(Self.experiment, overrides: Self.small + ["run.epochs=1"]))
        await assertThrows(try await t.run(out: out, resume: true) { _ in }, containing: "no checkpoint.json")
        try await t.run(out: out, resume: false) { _ in }
        await assertThrows(try await t.run(out: out, resume: false) { _ in }, containing: "--resume")
        var changed = try Trainer(config: try TrainingConfig.load(Self.experiment, overrides: Self.small + ["run.epochs=1", "optimizer.learning_rate=1e-4"]))
        await assertThrows(try await changed.run(out: out, resume: true) { _ in }, containing: "config")
    }

    func testReadersRefuseARunFolderMixedFromTwoRunsOrAnEditedCard() async throws {
        // Issue #14: export/evaluate/validate load a run through loadCheckpoint, which must refuse a folder whose
        // config.toml, run.json and checkpoint.json come from different runs, or whose card changed since.
        let a = temporaryFolder(), b = temporaryFolder(), cards = temporaryFolder()
        try FileManager.default.createDirectory(at: cards, withIntermediateDirectories: true)
        let rram = cards.appendingPathComponent("rram.card.json")
        try FileManager.default.copyItem(at: Self.root.appendingPathComponent("calibration/rram.card.json"), to: rram)
        let base = Self.small + ["run.epochs=1", "devices.rram_card=\"\(rram.path)\""]
        var first = try Trainer(config: try TrainingConfig.load(Self.experiment, overrides: base))
        try await first.run(out: a, resume: false) { _ in }
        var second = try Trainer(config: try TrainingConfig.load(Self.experiment, overrides: base + ["optimizer.learning_rate=1e-4"]))
        try await second.run(out: b, resume: false) { _ in }
        func load() throws -> Int {
            var reader = try Trainer(config: try TrainingConfig.load(a.appendingPathComponent("config.toml")))
            return try reader.loadCheckpoint(from: a)
        }
        XCTAssertEqual(try load(), 1, "a consistent folder loads")
        let fm = FileManager.default
        for (file, expected) in [("config.toml", "is not the config checkpoint.json was trained with"), ("run.json", "run.json records config")] {
            let kept = try Data(contentsOf: a.appendingPathComponent(file))
            try fm.removeItem(at: a.appendingPathComponent(file))
            try fm.copyItem(at: b.appendingPathComponent(file), to: a.appendingPathComponent(file))
            XCTAssertThrowsError(try load(), file) { XCTAssertTrue("\($0)".contains(expected), "\($0)") }
            try kept.write(to: a.appendingPathComponent(file))
        }
        XCTAssertEqual(try load(), 1)
        var card = try String(contentsOf: rram, encoding: .utf8)
        card += "\n"
        try card.write(to: rram, atomically: true, encoding: .utf8)
        var reader = try Trainer(config: try TrainingConfig.load(a.appendingPathComponent("config.toml")))
        XCTAssertThrowsError(try reader.loadCheckpoint(from: a)) {
            XCTAssertTrue("\($0)".contains("is not the file the checkpoint trained on"), "\($0)")
        }
        try fm.removeItem(at: rram)
        XCTAssertThrowsError(try load()) { XCTAssertTrue("\($0)".contains("rram.card.json"), "\($0)") }
    }

    func testACardThatFailedItsQualityGateIsRefusedUnlessAccepted() throws {
        let folder = temporaryFolder()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var card = try DeviceCard.load(Self.root.appendingPathComponent("calibration/felif.card.json"))
        card.statistics["quality_gate_passed"] = 0
        card.statistics["quality_gate_max_heldout_nrmse"] = 0.001
        let url = folder.appendingPathComponent("failed.card.json")
        try card.encoded().write(to: url)
        let base = Self.small + ["devices.felif_card=\"\(url.path)\""]
        XCTAssertThrowsError(try Trainer(config: try TrainingConfig.load(Self.experiment, overrides: base))) {
            XCTAssertTrue("\($0)".contains("failed its calibration quality gate") && "\($0)".contains("accept_failed_card"), "\($0)")
        }
        XCTAssertNoThrow(try Trainer(config: try TrainingConfig.load(Self.experiment, overrides: base + ["devices.accept_failed_card=true"])))
    }

    func testCardWithWrongUnitsIsRefused() throws {
        var card = try DeviceCard.load(Self.root.appendingPathComponent("calibration/felif.card.json"))
        let i = card.parameters.firstIndex { $0.name == "saturationPolarization" }!
        card.parameters[i].unit = "uC/cm^2"
        XCTAssertThrowsError(try FeLIFTraceSimulation(card: card)) {
            XCTAssertTrue("\($0)".contains("'saturationPolarization' is in 'uC/cm^2', expected 'C/m^2'"), "\($0)")
        }
    }

    func testNonFiniteDataIsRefusedWithItsLocation() throws {
        let folder = temporaryFolder()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let train = folder.appendingPathComponent("X_TRAIN.ts"), test = folder.appendingPathComponent("X_TEST.ts")
        let header = "@problemName X\n@timeStamps false\n@univariate true\n@classLabel true a b\n@data\n"
        try (header + "1,2,3:a\n4,NaN,6:b\n1,1,1:a\n2,2,2:b\n3,3,3:a\n").write(to: train, atomically: true, encoding: .utf8)
        try (header + "1,2,3:a\n").write(to: test, atomically: true, encoding: .utf8)
        let cfg = folder.appendingPathComponent("uea.toml")
        try """
        [data]
        kind = "uea"
        path = "X_TRAIN.ts"
        test_path = "X_TEST.ts"
        [network]
        encoding = 0
        output = "lif"
        synapses = "float"
        """.write(to: cfg, atomically: true, encoding: .utf8)
        do {
            _ = try Trainer(config: try TrainingConfig.load(cfg))
            XCTFail("NaN accepted")
        } catch {
            XCTAssertTrue("\(error)".lowercased().contains("nan") || "\(error)".contains("finite"), "\(error)")
        }
    }

    func assertThrows<T>(_ body: @autoclosure () async throws -> T, containing text: String, file: StaticString = #filePath, line: UInt = #line) async {
        do {
            _ = try await body()
            XCTFail("no error (expected one mentioning '\(text)')", file: file, line: line)
        } catch {
            XCTAssertTrue("\(error)".contains(text), "\(error)", file: file, line: line)
        }
    }
}
