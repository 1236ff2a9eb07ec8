// Compiled twice, like FeLIFFloatBlock.swift (AVX2 + FMA and AVX-512 builds through a symbolic link): scalar
// Double arithmetic in plain loops, fused multiply-adds only where written, so both builds agree bit for bit.

/// The Box–Muller transform √(−2 ln u)·cos 2πv over arrays of uniform pairs, in code the loop vectorizer turns
/// into full-width vectors.
///
/// Why: read noise needs one normal value per layer output and time step — 3.3 million per Braille training
/// step — and the C library's `log` and `cos` (≈ 40 ns per pair, one value at a time) took 40 % of that step.
/// Here ln u is 2·atanh((m − 1)/(m + 1)) after splitting off the exponent and cos 2πv a Taylor polynomial after
/// reduction to ±π/4 around the nearest quarter turn; both truncations are below 10⁻¹⁸, so a value differs from
/// the C library's by a few units in the last place of a Double (the tests bound it) and, once rounded to the
/// Float the noise is added in, almost never at all.
public enum GaussianBlock {
    /// y[i] += σ·√variance[i]·Float(√(−2 ln u[i])·cos 2πv[i]) for i in 0 ..< count. `u` must lie in (0, 1), `v`
    /// in [0, 1) (what `SeededRandom.gaussianUniforms` returns).
    public static func addNoise(
        _ y: UnsafeMutablePointer<Float>, variance: UnsafePointer<Float>, u: UnsafePointer<Double>,
        v: UnsafePointer<Double>, count: Int, sigma: Float
    ) {
        for i in 0..<count {
            y[i] += sigma * Float(squareRoot(Double(variance[i]))) * Float(normal(u[i], v[i]))
        }
    }

    /// out[i] = √(−2 ln u[i])·cos 2πv[i] (for the tests and for callers that want the Double values).
    public static func fill(_ out: UnsafeMutablePointer<Double>, u: UnsafePointer<Double>, v: UnsafePointer<Double>,
                            count: Int) {
        for i in 0..<count { out[i] = normal(u[i], v[i]) }
    }

    @inline(__always) static func normal(_ u: Double, _ v: Double) -> Double {
        squareRoot(-2 * log(u)) * cosTwoPi(v)
    }

    /// √x for x ≥ 0 (normal or zero), to within an ulp of the correctly rounded root, so that rounded to Float
    /// it is Float's own root. Why not `squareRoot()`: the standard library's lowers to a square-root instruction
    /// followed by a branch to the C library for negative input (errno), and that branch kept the loop vectorizer
    /// from the whole loop. Here: the 1/√x bit estimate, four Newton steps (error ≈ 3·10⁻² → 10⁻²⁰ before
    /// rounding), then one fused correction of the root itself.
    @inline(__always) public static func squareRoot(_ x: Double) -> Double {
        let half = 0.5 * x
        var y = Double(bitPattern: 0x5FE6_EB50_C7B5_37A9 &- (x.bitPattern &>> 1))
        y = y * (1.5 - half * y * y)
        y = y * (1.5 - half * y * y)
        y = y * (1.5 - half * y * y)
        y = y * (1.5 - half * y * y)
        let s = x * y
        let root = s.addingProduct(0.5 * y, x.addingProduct(-s, s))
        return x == 0 ? 0 : root
    }

    /// ln u for normal u > 0.
    @inline(__always) static func log(_ u: Double) -> Double {
        let bits = u.bitPattern
        // The unbiased exponent as a Double without an integer conversion (AVX2 has no packed Int64 → Double):
        // (2⁵² + biased) − (2⁵² + 1023).
        let e0 = Double(bitPattern: 0x4330_0000_0000_0000 | (bits &>> 52)) - 4_503_599_627_371_519
        let m0 = Double(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000)   // [1, 2)
        let large = m0 > 1.414_213_562_373_095_1
        let m = large ? m0 * 0.5 : m0, e = large ? e0 + 1 : e0   // m in [√½, √2]
        // ln m = 2·atanh s = 2(s + s³/3 + s⁵/5 + …), |s| ≤ 0.1716: the term after s²¹/21 is below 3·10⁻¹⁹.
        let s = (m - 1) / (m + 1), z = s * s
        var q = 1.0 / 21
        q = (1.0 / 19).addingProduct(q, z)
        q = (1.0 / 17).addingProduct(q, z)
        q = (1.0 / 15).addingProduct(q, z)
        q = (1.0 / 13).addingProduct(q, z)
        q = (1.0 / 11).addingProduct(q, z)
        q = (1.0 / 9).addingProduct(q, z)
        q = (1.0 / 7).addingProduct(q, z)
        q = (1.0 / 5).addingProduct(q, z)
        q = (1.0 / 3).addingProduct(q, z)
        let twoS = s + s
        let lnM = twoS.addingProduct(twoS * z, q)
        // e·ln 2 in two parts (fdlibm's split: the high part has 32 trailing zero bits, so e·high is exact).
        return e * 6.931_471_803_691_238_164_90e-01 + lnM.addingProduct(e, 1.908_214_929_270_587_700_02e-10)
    }

    /// cos 2πv for v in [0, 1).
    @inline(__always) static func cosTwoPi(_ v: Double) -> Double {
        // Nearest quarter turn q = round(4v) by the 1.5·2⁵² shift (its low bits hold q); 4v − q is exact.
        let t = 4 * v, magic = 6_755_399_441_055_744.0
        let shifted = t + magic
        let quarter = shifted.bitPattern & 3
        let r = (t - (shifted - magic)) * 1.570_796_326_794_896_619_2   // ±π/4
        let z = r * r
        // Taylor polynomials to r¹⁷ and r¹⁸: the next terms are below 10⁻¹⁹ at |r| = π/4.
        var sq = -1.0 / 355_687_428_096_000                                   // −1/17!
        sq = (1.0 / 1_307_674_368_000).addingProduct(sq, z)                  // 1/15!
        sq = (-1.0 / 6_227_020_800).addingProduct(sq, z)
        sq = (1.0 / 39_916_800).addingProduct(sq, z)
        sq = (-1.0 / 362_880).addingProduct(sq, z)
        sq = (1.0 / 5_040).addingProduct(sq, z)
        sq = (-1.0 / 120).addingProduct(sq, z)
        sq = (1.0 / 6).addingProduct(sq, z)
        let sine = r.addingProduct(-(r * z), sq)
        var cq = 1.0 / 6_402_373_705_728_000                                   // 1/18!
        cq = (-1.0 / 20_922_789_888_000).addingProduct(cq, z)                 // −1/16!
        cq = (1.0 / 87_178_291_200).addingProduct(cq, z)
        cq = (-1.0 / 479_001_600).addingProduct(cq, z)
        cq = (1.0 / 3_628_800).addingProduct(cq, z)
        cq = (-1.0 / 40_320).addingProduct(cq, z)
        cq = (1.0 / 720).addingProduct(cq, z)
        cq = (-1.0 / 24).addingProduct(cq, z)
        let cosine = (1 - 0.5 * z).addingProduct(-(z * z), cq)
        // cos(qπ/2 + r): +cos r, −sin r, −cos r, +sin r for q mod 4 = 0, 1, 2, 3.
        let value = quarter & 1 == 0 ? cosine : sine
        let negate = ((quarter &+ 1) & 2) &<< 62
        return Double(bitPattern: value.bitPattern ^ negate)
    }
}
