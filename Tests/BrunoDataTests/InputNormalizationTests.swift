import BrunoData
import Foundation
import XCTest

final class InputNormalizationTests: XCTestCase {
    func set(_ samples: [[Float]], channels: Int) -> SequenceDataset {
        SequenceDataset(name: "s", channels: channels, classes: ["a"],
                        samples: samples.map { .init(values: $0, steps: $0.count / channels, label: 0) })
    }

    func testStatisticsComeFromTheTrainingSplitAndStandardiseIt() {
        // Channel 0 around 30 with sd 2, channel 1 around −1 with sd 0.5, over samples of different lengths.
        var samples: [[Float]] = []
        for k in 0..<20 {
            var values: [Float] = []
            for t in 0..<(50 + k) {
                let a: Double = 30 + 2 * sin(Double(7 * t + k))
                let b: Double = -1 + 0.5 * cos(Double(3 * t + 2 * k))
                values += [Float(a), Float(b)]
            }
            samples.append(values)
        }
        let train = set(samples, channels: 2)
        let n = InputNormalization(fittedOn: train)
        let z = n.apply(to: train)
        for ch in 0..<2 {
            var v: [Double] = []
            for s in z.samples { for t in 0..<s.steps { v.append(Double(s.values[t * 2 + ch])) } }
            let mean: Double = v.reduce(0, +) / Double(v.count)
            let square: Double = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
            let sd = (square / Double(v.count)).squareRoot()
            XCTAssertEqual(mean, 0, accuracy: 1e-5)
            XCTAssertEqual(sd, 1, accuracy: 1e-5)
        }
        // Another split gets the training split's numbers, not its own.
        let other = set([[40, 0, 40, 0]], channels: 2)
        let zo = n.apply(to: other)
        XCTAssertEqual(Double(zo.samples[0].values[0]), (40 - n.mean[0]) / n.scale[0], accuracy: 1e-4)
        XCTAssertEqual(Double(zo.samples[0].values[1]), (0 - n.mean[1]) / n.scale[1], accuracy: 1e-4)
        XCTAssertTrue(n.constantChannels.isEmpty)
    }

    func testAConstantChannelIsCentredNotDividedByZero() {
        let train = set([[5, 1, 5, 2, 5, 3], [5, 4, 5, 5]], channels: 2)
        let n = InputNormalization(fittedOn: train)
        XCTAssertEqual(n.constantChannels, [0])
        XCTAssertEqual(n.scale[0], 1)
        let z = n.apply(to: train)
        XCTAssertTrue(z.samples.allSatisfy { s in (0..<s.steps).allSatisfy { s.values[$0 * 2] == 0 } })
        XCTAssertTrue(z.samples.flatMap(\.values).allSatisfy(\.isFinite))
    }

    func testChannelsOfDifferentLengthsInOneCaseAreRefusedWithTheLine() {
        let text = "@problemName m\n@timeStamps false\n@classLabel true a b\n@data\n1,2,3:4,5,6:a\n1,2,3:4,5:b\n"
        XCTAssertThrowsError(try UEATimeSeries.parse(text, file: "m.ts")) { error in
            let e = "\(error)"
            XCTAssertTrue(e.contains("m.ts") && e.contains("line 6") && e.contains("dimension 1") && e.contains("2 samples"), e)
        }
        // With time stamps, dimensions sampled differently are interpolated onto their common span.
        let stamped = "@timeStamps true\n@classLabel true a\n@data\n(0,1),(0.002,3):(0,0),(0.001,1),(0.002,2):a\n"
        let d = try? UEATimeSeries.parse(stamped, file: "t.ts")
        XCTAssertEqual(d?.samples.first?.steps, 3)
        XCTAssertEqual(d?.samples.first?.values, [1, 0, 2, 1, 3, 2])
    }

    func testDelayDifferencesAreLocalSlopesBesideTheSeries() {
        // Two channels, 5 steps: x0 = t², x1 = −t.
        let values: [Float] = (0..<5).flatMap { t in [Float(t * t), Float(-t)] }
        let set = SequenceDataset(name: "d", channels: 2, classes: ["a"], samples: [.init(values: values, steps: 5, label: 0)])
        let front = DelayDifferences(delays: [1, 3])
        let out = front.apply(to: set)
        XCTAssertEqual(out.channels, 6)
        let v = out.samples[0].values
        for t in 0..<5 {
            let row = Array(v[(t * 6)..<(t * 6 + 6)])
            let x0 = Float(t * t), x1 = Float(-t)
            let back1 = max(0, t - 1), back3 = max(0, t - 3)
            XCTAssertEqual(row, [x0, x1, x0 - Float(back1 * back1), x1 + Float(back1), x0 - Float(back3 * back3), x1 + Float(back3)], "step \(t)")
        }
    }

    func testDilatedKernelsAreCausalTappedDelayLinesDrawnFromTheirSeed() {
        let bank = DilatedKernels(count: 12, sourceChannels: 1, length: 200, seed: 5)
        // Same seed, same bank; another seed, another bank.
        XCTAssertEqual(bank, DilatedKernels(count: 12, sourceChannels: 1, length: 200, seed: 5))
        XCTAssertNotEqual(bank.kernels, DilatedKernels(count: 12, sourceChannels: 1, length: 200, seed: 6).kernels)
        for k in bank.kernels {
            XCTAssertTrue([7, 9, 11].contains(k.weights.count))
            XCTAssertEqual(Double(k.weights.reduce(0, +)), 0, accuracy: 1e-5, "weights centred")
            // The widest kernel spans at most the typical length.
            XCTAssertLessThanOrEqual((k.weights.count - 1) * k.dilation, 199)
            XCTAssertGreaterThanOrEqual(k.dilation, 1)
        }
        XCTAssertGreaterThan(Set(bank.kernels.map(\.dilation)).count, 2, "many time scales")
        // An impulse at t0 on channel 0 (channel 1 is another input the bank does not read): kernel k's output is
        // its weight j at t0 + j·d, zero elsewhere — and a constant input gives 0 (centred weights).
        let steps = 200, t0 = 40
        var values = [Float](repeating: 0, count: steps * 2)
        values[t0 * 2] = 1
        for t in 0..<steps { values[t * 2 + 1] = 3 }
        let set = SequenceDataset(name: "k", channels: 2, classes: ["a"], samples: [.init(values: values, steps: steps, label: 0)])
        let out = bank.apply(to: set)
        XCTAssertEqual(out.channels, 2 + 12)
        let v = out.samples[0].values
        for (k, kernel) in bank.kernels.enumerated() {
            for t in 0..<steps {
                var expected: Float = 0
                for (j, w) in kernel.weights.enumerated() where t - j * kernel.dilation == t0 { expected = w }
                XCTAssertEqual(v[t * 14 + 2 + k], expected, accuracy: 1e-6, "kernel \(k), step \(t)")
            }
        }
        for t in 0..<steps { XCTAssertEqual(Array(v[(t * 14)..<(t * 14 + 2)]), [values[t * 2], 3], "own channels kept") }
        let flat = SequenceDataset(name: "c", channels: 1, classes: ["a"],
                                   samples: [.init(values: [Float](repeating: 2.5, count: 50), steps: 50, label: 0)])
        for x in bank.apply(to: flat).samples[0].values.enumerated() where x.offset % 13 != 0 {
            XCTAssertEqual(x.element, 0, accuracy: 1e-5)
        }
    }
}
