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
}
