import BrunoSupport
import Foundation

/// Synthetic tactile Braille: a fingertip with a grid of taxels slides over an embossed Braille cell.
///
/// The real recordings of the reference work (12 taxels, 27 letters) are not available, so this generator
/// stands in for them with the same shape: 27 classes (space, a–z) from the real 6-dot patterns, 12 taxels
/// (4 rows × 3 columns, 1.2 mm pitch), one reading per 1 ms step. Each sample draws, from its own seeded
/// stream, a sliding speed, a pressure, a start offset and a vertical misalignment; taxel signals are the
/// pressure-weighted sum of Gaussian contact blobs of the dots under the taxel, plus a baseline and sensor
/// noise. Everything is in millimetres and seconds.
public struct BrailleGenerator: Sendable, Equatable, Codable {
    public var steps = 102                      // 1 ms steps per sample (the reference uses 102)
    public var speedRange = 40.0...70.0         // sliding speed [mm/s]
    public var pressureRange = 0.7...1.3        // relative contact pressure
    public var startJitter = 0.8                // start-position jitter (± mm)
    public var verticalJitter = 0.4             // vertical misalignment (± mm)
    public var dotPitch = 2.5                   // Braille dot spacing [mm]
    public var contactRadius = 0.7              // σ of a dot's contact blob [mm]
    public var taxelRows = 4, taxelColumns = 3
    public var taxelPitch = 1.2                 // [mm]
    public var noise = 0.03                     // sensor noise σ (signal units; a dot under a taxel gives ≈ 1)
    public var baseline = 0.05                  // resting signal

    public init() {}

    public var channels: Int { taxelRows * taxelColumns }

    /// Class names in label order: "space", then "a" … "z".
    public static let classes = ["space"] + "abcdefghijklmnopqrstuvwxyz".map(String.init)

    /// Raised dots (1…6: left column top→bottom, then right column) of each letter.
    public static let dots: [Character: [Int]] = [
        "a": [1], "b": [1, 2], "c": [1, 4], "d": [1, 4, 5], "e": [1, 5], "f": [1, 2, 4], "g": [1, 2, 4, 5],
        "h": [1, 2, 5], "i": [2, 4], "j": [2, 4, 5], "k": [1, 3], "l": [1, 2, 3], "m": [1, 3, 4], "n": [1, 3, 4, 5],
        "o": [1, 3, 5], "p": [1, 2, 3, 4], "q": [1, 2, 3, 4, 5], "r": [1, 2, 3, 5], "s": [2, 3, 4], "t": [2, 3, 4, 5],
        "u": [1, 3, 6], "v": [1, 2, 3, 6], "w": [2, 4, 5, 6], "x": [1, 3, 4, 6], "y": [1, 3, 4, 5, 6], "z": [1, 3, 5, 6],
    ]

    /// Dot centres [mm] of class `label` (0 = space), with x along the sliding direction.
    public func dotPositions(label: Int) -> [(x: Double, y: Double)] {
        guard label > 0 else { return [] }
        let letter = Character(BrailleGenerator.classes[label])
        return (BrailleGenerator.dots[letter] ?? []).map { d in
            (x: d <= 3 ? 0 : dotPitch, y: Double((d - 1) % 3) * dotPitch)
        }
    }

    /// One sample of class `label`, fully determined by (seed, index).
    public func sample(label: Int, seed: UInt64, index: Int) -> SequenceDataset.Sample {
        var rng = SeededRandom(seed: seed).derived(UInt64(index))
        let speed = speedRange.lowerBound + rng.uniform() * (speedRange.upperBound - speedRange.lowerBound)
        let pressure = pressureRange.lowerBound + rng.uniform() * (pressureRange.upperBound - pressureRange.lowerBound)
        let x0 = -dotPitch * 0.9 + (2 * rng.uniform() - 1) * startJitter
        let dy = (2 * rng.uniform() - 1) * verticalJitter
        let dots = dotPositions(label: label)
        // Taxel grid centred on the cell's vertical middle.
        let rowOffset = dotPitch - Double(taxelRows - 1) * taxelPitch / 2
        let colOffset = -Double(taxelColumns - 1) * taxelPitch / 2
        var values = [Float](repeating: 0, count: steps * channels)
        let inv2s2 = 1 / (2 * contactRadius * contactRadius)
        for s in 0..<steps {
            let fingertip = x0 + speed * Double(s) * 1e-3
            for r in 0..<taxelRows {
                for c in 0..<taxelColumns {
                    let tx = fingertip + colOffset + Double(c) * taxelPitch
                    let ty = rowOffset + Double(r) * taxelPitch + dy
                    var signal = 0.0
                    for d in dots {
                        let ex = tx - d.x, ey = ty - d.y
                        signal += exp(-(ex * ex + ey * ey) * inv2s2)
                    }
                    values[s * channels + r * taxelColumns + c] = Float(baseline + pressure * signal + noise * rng.gaussian())
                }
            }
        }
        return SequenceDataset.Sample(values: values, steps: steps, label: label)
    }

    /// `perClass` samples of each of the 27 classes, interleaved by class, from `seed`.
    public func dataset(perClass: Int, seed: UInt64) -> SequenceDataset {
        var samples: [SequenceDataset.Sample] = []
        samples.reserveCapacity(perClass * 27)
        for k in 0..<perClass {
            for label in 0..<27 { samples.append(sample(label: label, seed: seed, index: k * 27 + label)) }
        }
        return SequenceDataset(name: "braille-synthetic", channels: channels, classes: BrailleGenerator.classes, samples: samples)
    }
}
