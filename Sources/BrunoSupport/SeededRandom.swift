/// A seeded, platform-independent random number generator (SplitMix64 seeding a xoshiro256**).
///
/// Every random draw in Bruno comes from one of these, created from a seed that is written into the run's
/// outputs, so that a run can be repeated exactly on any machine.
public struct SeededRandom: RandomNumberGenerator, Sendable, Codable, Equatable {
    private var s0, s1, s2, s3: UInt64
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Standard normal (Box–Muller; one value per call, so the sequence depends only on the seed and count).
    public mutating func gaussian() -> Double {
        var u = uniform()
        while u <= 0 { u = uniform() }
        let v = uniform()
        return (-2 * _log(u)).squareRoot() * _cos(2 * Double.pi * v)
    }

    /// The uniform pairs that `count` successive `gaussian()` calls consume, in the same order and with the same
    /// retry of u = 0, so the Box–Muller transform (≈ 45 ns of log and cos per value here) can run elsewhere —
    /// vectorized on several cores (`GaussianBlock` in BrunoFineLoop) — on `gaussian()`'s own uniforms.
    public mutating func gaussianUniforms(count: Int, u: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>) {
        for i in 0..<count {
            var a = uniform()
            while a <= 0 { a = uniform() }
            u[i] = a
            v[i] = uniform()
        }
    }

    /// Fills `out` with standard normal draws in single precision (Marsaglia and Tsang's ziggurat, 128 strips:
    /// ~99 % of draws cost one 64-bit draw, a table look-up, a compare and a multiply). Why: read noise needs one
    /// draw per output and step — 3.3 million per Braille training step — and `gaussian()` (double precision,
    /// log + cos per value) took half of that step. The strip index comes from the low 7 bits and the value from
    /// the high 32 bits of one draw (the original shared bits between the two, a known flaw). A different
    /// sequence from repeated `gaussian()` calls, equally determined by the seed and the count.
    public mutating func fillStandardNormal(_ out: inout [Float]) {
        out.withUnsafeMutableBufferPointer { fillStandardNormal($0) }
    }

    /// The same, into memory the caller owns.
    public mutating func fillStandardNormal(_ out: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<out.count { out[i] = Float(ziggurat()) }
    }

    /// Standard normal in double precision by the ziggurat (see `fillStandardNormal`): a fast alternative to
    /// `gaussian()` for hot paths (programming a chip draws four per synapse), with its own sequence.
    public mutating func normal() -> Double { ziggurat() }

    @inline(__always) mutating func ziggurat() -> Double {
        let z = Ziggurat.tables
        while true {
            let r = next()
            let strip = Int(r & 127)
            let hz = Int32(truncatingIfNeeded: r >> 32)
            let x = Double(hz) * z.w[strip]
            if hz.magnitude < z.k[strip] { return x }
            if strip == 0 {
                // The tail beyond r = 3.4426: Marsaglia's exponential-rejection sampler.
                var t: Double, y: Double
                repeat {
                    t = -_log(1 - uniform()) / Ziggurat.r
                    y = -_log(1 - uniform())
                } while y + y < t * t
                return hz > 0 ? Ziggurat.r + t : -Ziggurat.r - t
            }
            // The wedge between strips: accept under the density.
            if z.f[strip] + uniform() * (z.f[strip - 1] - z.f[strip]) < _exp(-0.5 * x * x) { return x }
        }
    }

    /// A generator for a sub-stream (e.g. one per device or per sample), independent of the draw order.
    public func derived(_ stream: UInt64) -> SeededRandom {
        SeededRandom(seed: seed ^ (stream &* 0x9E37_79B9_7F4A_7C15 &+ 0xD1B5_4A32_D192_ED03))
    }
}

@inline(__always) private func _log(_ x: Double) -> Double {
    #if canImport(Glibc)
    return Glibc.log(x)
    #else
    return Foundation.log(x)
    #endif
}

@inline(__always) private func _exp(_ x: Double) -> Double {
    #if canImport(Glibc)
    return Glibc.exp(x)
    #else
    return Foundation.exp(x)
    #endif
}

/// The ziggurat's tables for the standard normal (Marsaglia and Tsang 2000, "The ziggurat method for generating
/// random variables", 128 strips of equal area v): k[i] the acceptance bound for a 31-bit magnitude, w[i] the
/// scale of strip i, f[i] the density at its edge.
enum Ziggurat {
    static let r = 3.442619855899
    static let area = 9.91256303526217e-3

    struct Tables: Sendable {
        var k = [UInt32](repeating: 0, count: 128)
        var w = [Double](repeating: 0, count: 128)
        var f = [Double](repeating: 0, count: 128)
    }

    static let tables: Tables = {
        var t = Tables()
        let m = 2_147_483_648.0
        var d = r, edge = r
        let q = area / _exp(-0.5 * d * d)
        t.k[0] = UInt32(d / q * m)
        t.k[1] = 0
        t.w[0] = q / m
        t.w[127] = d / m
        t.f[0] = 1
        t.f[127] = _exp(-0.5 * d * d)
        for i in stride(from: 126, through: 1, by: -1) {
            d = (-2 * _log(area / d + _exp(-0.5 * d * d))).squareRoot()
            t.k[i + 1] = UInt32(d / edge * m)
            edge = d
            t.f[i] = _exp(-0.5 * d * d)
            t.w[i] = d / m
        }
        return t
    }()
}

@inline(__always) private func _cos(_ x: Double) -> Double {
    #if canImport(Glibc)
    return Glibc.cos(x)
    #else
    return Foundation.cos(x)
    #endif
}

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif
