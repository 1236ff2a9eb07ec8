import BrunoTraining
import Foundation

/// Wall-clock timing with warm-up and medians; the machine is noisy, so ratios within one run matter most.
enum Harness {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Median and interquartile range (seconds) of `repeats` timed calls after `warmup` untimed ones.
    static func measure(warmup: Int = 3, repeats: Int, _ body: () throws -> Void) rethrows -> (median: Double, q1: Double, q3: Double) {
        for _ in 0..<warmup { try body() }
        var samples: [Double] = []
        for _ in 0..<repeats {
            let t0 = now()
            try body()
            samples.append(now() - t0)
        }
        samples.sort()
        let q = { (p: Double) in samples[min(samples.count - 1, Int(p * Double(samples.count - 1)))] }
        return (q(0.5), q(0.25), q(0.75))
    }

    static func ms(_ s: Double) -> String { String(format: "%.2f", s * 1e3) }

    static func peakRSSMegabytes() -> Double { Memory.peakResidentMB() }
}
