import BrunoData
import BrunoSupport
import Foundation
import XCTest
@testable import BrunoTraining

/// Issue #13: what training on the user's own recordings relies on — signed encoders, the schedule, balanced
/// batches, the membrane terms of the loss (finite-difference checked), the derived sample period, the
/// normalisation record, package cards for experiments kept elsewhere, and the best-epoch restore.
final class RecordedDataTests: XCTestCase {
    /// The BCE readout's starting bias is each target channel's log-odds over the counted steps: warm-up steps
    /// are left out, a channel never on is clamped at p = 10⁻³ instead of −∞.
    func testReadoutPriorIsTheTargetsLogOddsAfterWarmup() throws {
        // 2 channels, 4 steps; warm-up 1: channel 0 on in 2 of the 5 counted steps, channel 1 never (its step 0 is warm-up).
        let a = SequenceDataset.Sample(values: [Float](repeating: 0, count: 4), steps: 4, targets: [0, 1, 1, 0, 0, 0, 0, 0])
        let b = SequenceDataset.Sample(values: [Float](repeating: 0, count: 3), steps: 3, targets: [1, 0, 0, 0, 1, 0])
        let data = SequenceDataset(name: "t", channels: 1, classes: [], samples: [a, b])
        let prior = try XCTUnwrap(data.targetLogOdds(skippingFirst: 1))
        XCTAssertEqual(Double(prior[0]), log((2.0 / 5) / (3.0 / 5)), accuracy: 1e-6)
        XCTAssertEqual(Double(prior[1]), log(1e-3 / (1 - 1e-3)), accuracy: 1e-5)
        XCTAssertNil(SequenceDataset(name: "c", channels: 1, classes: ["x"], samples: [.init(values: [0], steps: 1, label: 0)])
            .targetLogOdds(skippingFirst: 0))
    }

    func temporaryFolder() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-rec-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testTheShippedUEAExamplesLoad() throws {
        let folder = TrainerTests.root.appendingPathComponent("experiments")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("uea-") }.sorted()
        XCTAssertEqual(names.count, 5, "\(names)")
        for name in names {
            let c = try TrainingConfig.load(folder.appendingPathComponent(name))
            XCTAssertEqual(c.data, .uea, name)
            XCTAssertTrue(c.normalize && c.encodingOnOff && c.restoreBest && c.balancedBatches && c.cosine != nil, name)
            XCTAssertFalse(c.delayDifferences.isEmpty, name)
            // Every encoder block reads one channel: 8 per channel after the front end.
            let channels = 1 + c.delayDifferences.count + c.randomKernels
            XCTAssertTrue(c.randomKernels == 0 || c.encoding == 8 * channels, "\(name): \(c.encoding) encoders, \(channels) channels")
            XCTAssertEqual(c.loss, .countMembrane, name)
            XCTAssertTrue(c.dataPath!.lastPathComponent.hasSuffix("_TRAIN.ts") && c.testPath!.lastPathComponent.hasSuffix("_TEST.ts"), name)
        }
    }

    func testOnOffEncodersSeeBothSigns() {
        let positive = EncodingLayer(channels: 1, neurons: 8, gainRange: 0.5...2)
        let onOff = EncodingLayer(channels: 1, neurons: 8, gainRange: 0.5...2, onOff: true)
        XCTAssertTrue(positive.gains.allSatisfy { $0 > 0 })
        XCTAssertEqual(onOff.gains.filter { $0 < 0 }.count, 4)
        // Each sign gets the whole gain range, in half as many levels.
        XCTAssertEqual(Set(onOff.gains.filter { $0 > 0 }).count, 4)
        XCTAssertEqual(onOff.gains.filter { $0 > 0 }.min()!, 0.5, accuracy: 1e-6)
        XCTAssertEqual(onOff.gains.filter { $0 > 0 }.max()!, 2, accuracy: 1e-6)
        XCTAssertEqual(onOff.gains.filter { $0 < 0 }.map { -$0 }.sorted(), onOff.gains.filter { $0 > 0 }.sorted())
        let steps = 40
        let negative = [Float](repeating: -1, count: steps)
        // A negative input: the positive-only encoders stay silent, the "off" cells fire and the "on" cells do not.
        XCTAssertEqual(positive.forward(negative, steps: steps, batch: 1).reduce(0, +), 0)
        let s = onOff.forward(negative, steps: steps, batch: 1)
        for j in 0..<8 {
            let count = (0..<steps).map { s[$0 * 8 + j] }.reduce(0, +)
            if onOff.gains[j] < 0 { XCTAssertGreaterThan(count, 0, "off cell \(j)") } else { XCTAssertEqual(count, 0, "on cell \(j)") }
        }
    }

    func testCosineScheduleWarmsUpThenDecaysToTheMinimum() {
        let c = CosineSchedule(peak: 1e-2, minimum: 1e-4, warmupEpochs: 3, epochs: 20)
        XCTAssertEqual(c.rate(epoch: 1), 2.5e-3, accuracy: 1e-12)
        XCTAssertEqual(c.rate(epoch: 3), 7.5e-3, accuracy: 1e-12)
        XCTAssertEqual(c.rate(epoch: 4), 1e-2, accuracy: 1e-12)
        let after = (4...20).map { c.rate(epoch: $0) }
        XCTAssertTrue(zip(after, after.dropFirst()).allSatisfy { $0 > $1 })
        XCTAssertEqual(c.rate(epoch: 20), 1e-4 + (1e-2 - 1e-4) * 0.5 * (1 + cos(Double.pi * 16 / 17)), accuracy: 1e-12)
    }

    func testBalancedOrderPutsEveryClassInEveryBatch() {
        // 2 samples of class 0, 10 of class 1: a plain shuffle leaves batches without class 0.
        let labels: [Int?] = [0, 0] + [Int?](repeating: 1, count: 10)
        let plain = Trainer.epochOrder(labels: labels, epoch: 3, seed: 9, balanced: false)
        XCTAssertEqual(plain.sorted(), Array(0..<12))
        let balanced = Trainer.epochOrder(labels: labels, epoch: 3, seed: 9, balanced: true)
        XCTAssertEqual(balanced.count, 12)
        for b in stride(from: 0, to: 12, by: 2) {
            XCTAssertEqual(Set(balanced[b..<(b + 2)].map { labels[$0]! }), [0, 1], "batch at \(b)")
        }
        XCTAssertEqual(balanced, Trainer.epochOrder(labels: labels, epoch: 3, seed: 9, balanced: true))
        XCTAssertNotEqual(balanced, Trainer.epochOrder(labels: labels, epoch: 4, seed: 9, balanced: true))
    }

    func testMembraneTermsOfTheLossMatchFiniteDifferences() {
        let steps = 5, batch = 3, classes = 4
        let n = steps * batch * classes
        var spikes = (0..<n).map { Float(($0 * 7) % 5 == 0 ? 1 : 0) }
        // Sample 1's target (class 2) is silent.
        for t in 0..<steps { spikes[(t * batch + 1) * classes + 2] = 0 }
        let membrane = (0..<n).map { Float(sin(Double($0)) * 2) }
        let labels = [0, 2, 3], theta = [2.5, 2.4, 2.6, 2.5]
        let r = Loss.countMembraneCrossEntropy(spikes: spikes, membrane: membrane, thresholds: theta, steps: steps, batch: batch,
                                               classes: classes, labels: labels, membraneWeight: 0.7)
        func loss(_ s: [Float], _ v: [Float]) -> Double {
            Loss.countMembraneCrossEntropy(spikes: s, membrane: v, thresholds: theta, steps: steps, batch: batch, classes: classes,
                                           labels: labels, membraneWeight: 0.7).loss
        }
        let h: Float = 1e-2
        for i in stride(from: 0, to: n, by: 7) {
            var up = membrane, down = membrane
            up[i] += h; down[i] -= h
            XCTAssertEqual(Double(r.membraneGradient[i]), (loss(spikes, up) - loss(spikes, down)) / Double(2 * h), accuracy: 2e-4, "dL/dV[\(i)]")
            var su = spikes, sd = spikes
            su[i] += h; sd[i] -= h
            XCTAssertEqual(Double(r.spikeGradient[i]), (loss(su, membrane) - loss(sd, membrane)) / Double(2 * h), accuracy: 2e-4, "dL/ds[\(i)]")
        }
        var counts = [Float](repeating: 0, count: batch * classes)
        for (k, s) in spikes.enumerated() { counts[k % counts.count] += s }
        let s = Loss.silentTarget(membrane: membrane, counts: counts, thresholds: theta, steps: steps, batch: batch, classes: classes,
                                  labels: labels, weight: 2)
        XCTAssertGreaterThan(s.loss, 0)
        for i in 0..<n {
            var up = membrane, down = membrane
            up[i] += h; down[i] -= h
            func l(_ v: [Float]) -> Double {
                Loss.silentTarget(membrane: v, counts: counts, thresholds: theta, steps: steps, batch: batch, classes: classes,
                                  labels: labels, weight: 2).loss
            }
            XCTAssertEqual(Double(s.gradient[i]), (l(up) - l(down)) / Double(2 * h), accuracy: 2e-4, "silent dL/dV[\(i)]")
        }
        // Only the silent target (sample 1, class 2) has a membrane gradient.
        let nonzero = Set((0..<n).filter { s.gradient[$0] != 0 }.map { ($0 / classes) % batch * 10 + $0 % classes })
        XCTAssertEqual(nonzero, [12])
    }

    /// A two-class recording in the UEA format: class a a negative level, class b a positive one, with noise.
    func writeToy(_ folder: URL, length: Int, cases: Int) throws -> (URL, URL) {
        var urls: [URL] = []
        for (name, offset) in [("TRAIN", 0), ("TEST", 1000)] {
            var text = "@problemName toy\n@timeStamps false\n@univariate true\n@classLabel true a b\n@data\n"
            for i in 0..<cases {
                let sign = i % 2 == 0 ? -1.0 : 1.0
                let values = (0..<length).map { String(format: "%.3f", 20 + sign * 3 + sin(Double(7 * $0 + i + offset))) }
                text += values.joined(separator: ",") + (i % 2 == 0 ? ":a\n" : ":b\n")
            }
            let url = folder.appendingPathComponent("toy_\(name).ts")
            try text.write(to: url, atomically: true, encoding: .utf8)
            urls.append(url)
        }
        return (urls[0], urls[1])
    }

    func testARecordingKeptElsewhereTrainsWithDerivedPeriodNormalisationAndTheBestEpoch() async throws {
        let folder = temporaryFolder()
        let (train, test) = try writeToy(folder, length: 24, cases: 24)
        // The experiment file lives outside the package: its cards still resolve to the package's.
        let experiment = folder.appendingPathComponent("mine.toml")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var text = try String(contentsOf: root.appendingPathComponent("experiments/uea-gunpoint.toml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "../../shared/data/uea/GunPoint_TRAIN.ts", with: train.path)
            .replacingOccurrences(of: "../../shared/data/uea/GunPoint_TEST.ts", with: test.path)
        try text.write(to: experiment, atomically: true, encoding: .utf8)
        let config = try TrainingConfig.load(experiment, overrides: ["run.epochs=4", "network.encoding=16", "network.hidden=[12]",
                                                                     "felif.fine_steps=10"])
        XCTAssertEqual(config.felifCard.standardizedFileURL.path, root.appendingPathComponent("calibration/felif.card.json").standardizedFileURL.path)
        XCTAssertTrue(config.normalize && config.encodingOnOff && config.restoreBest)
        var t = try Trainer(config: config)
        // 24 samples per series → 5 coarse steps each, 120 steps.
        XCTAssertEqual(t.data.samplePeriod, 5e-3)
        XCTAssertEqual(t.data.train.samples[0].steps, 116)
        XCTAssertTrue(t.data.notes.first?.contains("chose 0.005 s") == true, "\(t.data.notes)")
        // The recording's offset of 20 is gone after normalisation.
        let values = t.data.train.samples.flatMap(\.values)
        XCTAssertEqual(Double(values.reduce(0, +)) / Double(values.count), 0, accuracy: 1e-4)
        let out = folder.appendingPathComponent("run")
        let history = try await t.run(out: out, resume: false) { _ in }
        let run = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("run.json"))) as! [String: Any]
        let input = try XCTUnwrap(run["input"] as? [String: Any])
        let mean = try XCTUnwrap((input["normalization"] as? [String: Any])?["mean"] as? [Double])
        XCTAssertEqual(mean[0], 20, accuracy: 0.5)
        XCTAssertEqual(input["sample_period_s"] as? Double, 5e-3)
        // The example's front end: the series, 4 delay differences and 50 random kernels, described in run.json.
        XCTAssertEqual(t.data.channels, 1 + 4 + 50)
        let kernels = try XCTUnwrap(input["random_kernels"] as? [String: Any])
        XCTAssertEqual(kernels["count"] as? Int, 50)
        XCTAssertEqual((kernels["dilations"] as? [Int])?.count, 50)
        // best.json holds the epoch of the best selection accuracy; readers of the run folder get it.
        let best = try XCTUnwrap(Trainer.readBest(of: out, configSHA256: SHA256.hex(Data(config.resolvedText.utf8))))
        let figures = history.map { Trainer.selectionFigure(Trainer.Evaluation(loss: $0.validLoss, accuracy: $0.validAccuracy, nll: nil, spikesPerSample: [:])) }
        XCTAssertEqual(best.epoch, figures.indices.max { figures[$0] < figures[$1] || (figures[$0] == figures[$1] && $0 > $1) }! + 1)
        var reader = try Trainer(config: try TrainingConfig.load(out.appendingPathComponent("config.toml")))
        XCTAssertEqual(try reader.loadCheckpoint(from: out), best.epoch)
        XCTAssertEqual(reader.network.parameters, best.parameters)
        // Whoever reopens the run (evaluate, validate, export) sees the same inputs: same kernels, same statistics.
        XCTAssertEqual(reader.data.kernels, t.data.kernels)
        XCTAssertEqual(reader.data.test.samples.map(\.values), t.data.test.samples.map(\.values))
    }
}
