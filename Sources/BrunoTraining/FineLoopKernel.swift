import BrunoFineLoop
import BrunoSurrogates
import BrunoFineLoopAVX512
import Foundation

/// The arithmetic precision of the FeLIF fine forward (`[felif] precision`).
///
/// Float32 runs the 64-lane kernel of `BrunoFineLoop` (4–6× faster per neuron-sub-step on AVX-512); Double the
/// 8-lane `FeLIFLanes`, kept for checks and for fine-grid BPTT, which stores and differentiates every sub-step.
public enum FinePrecision: String, Sendable, CaseIterable {
    case float32, float64
}

/// Which build of the Float32 fine loop runs: the AVX-512 one on CPUs that have AVX-512 (F, BW, CD, DQ, VL:
/// `x86-64-v4`), the AVX2 + FMA one otherwise. `BRUNO_SIMD=avx2` or `avx512` overrides (the tests run both);
/// both compute bit-identical results.
public enum FineLoopKernel: String, Sendable, CaseIterable {
    case avx2, avx512

    public static let selected: FineLoopKernel = {
        if let s = ProcessInfo.processInfo.environment["BRUNO_SIMD"], let k = FineLoopKernel(rawValue: s) {
            precondition(k == .avx2 || cpuHasAVX512, "BRUNO_SIMD=avx512 on a CPU without AVX-512")
            return k
        }
        return cpuHasAVX512 ? .avx512 : .avx2
    }()

    /// The CPU's flags as Linux reports them in /proc/cpuinfo (no flags, e.g. on another OS: false).
    public static let cpuHasAVX512: Bool = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let flags = Set(line.split(separator: " ").map(String.init))
        return ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
    }()

    /// `FeLIFFloatBlock.run` of this build.
    func run(coefficients: UnsafePointer<Float>, lo: Int, count: Int, lanes: Int, steps: Int, subSteps: Int,
             subStep: Float, exponential: Bool, currents: UnsafePointer<Float>, v: UnsafeMutablePointer<Double>,
             p: UnsafeMutablePointer<Double>, spikes: UnsafeMutablePointer<Float>,
             executed: UnsafeMutablePointer<Int32>? = nil) {
        switch self {
        case .avx2:
            BrunoFineLoop.FeLIFFloatBlock.run(
                coefficients: coefficients, lo: lo, count: count, lanes: lanes, steps: steps, subSteps: subSteps,
                subStep: subStep, exponential: exponential, currents: currents, v: v, p: p, spikes: spikes,
                executed: executed)
        case .avx512:
            BrunoFineLoopAVX512.FeLIFFloatBlock.run(
                coefficients: coefficients, lo: lo, count: count, lanes: lanes, steps: steps, subSteps: subSteps,
                subStep: subStep, exponential: exponential, currents: currents, v: v, p: p, spikes: spikes,
                executed: executed)
        }
    }

    /// `GaussianBlock.addNoise` of this build.
    func addNoise(_ y: UnsafeMutablePointer<Float>, variance: UnsafePointer<Float>, u: UnsafePointer<Double>,
                  v: UnsafePointer<Double>, count: Int, sigma: Float) {
        switch self {
        case .avx2:
            BrunoFineLoop.GaussianBlock.addNoise(y, variance: variance, u: u, v: v, count: count, sigma: sigma)
        case .avx512:
            BrunoFineLoopAVX512.GaussianBlock.addNoise(y, variance: variance, u: u, v: v, count: count, sigma: sigma)
        }
    }

    /// Each block's per-lane coefficients in `FeLIFFloatBlock`'s layout (`coefficientNames`), padding lanes
    /// repeating the block's first device so they stay finite.
    static func coefficients(_ devices: [FeLIFSurrogate], lanes: Int) -> [Float] {
        let width = BrunoFineLoop.FeLIFFloatBlock.width, names = 16
        let blocks = (lanes + width - 1) / width
        var out = [Float](repeating: 0, count: blocks * names * width)
        for b in 0..<blocks {
            for i in 0..<width {
                let lane = b * width + i < lanes ? b * width + i : b * width
                let s = devices[lane % devices.count], c = s.coefficients
                let row = [c.c, c.d, c.ps, Foundation.log(c.ea), c.alpha, c.esoft, c.invTau0, c.i0a, c.invVt, c.idsc,
                           c.area, c.invC, c.vmax, s.threshold, s.resetVoltage, s.polarizationAfterReset]
                for k in 0..<names { out[(b * names + k) * width + i] = Float(row[k]) }
            }
        }
        return out
    }
}
