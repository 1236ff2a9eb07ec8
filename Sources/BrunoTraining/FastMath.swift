/// Vectorised exp and log on eight doubles.
///
/// Why: the FeLIF fine loop evaluates four transcendental functions per neuron and 1 µs sub-step (the switching
/// law's power and exponential, the leak's exponential); one libm call per element costs 3–4 ns, these
/// polynomials a fraction of that. Both are accurate to a few ulp over the ranges the neuron uses (checked
/// against Foundation in the tests), so the batched layer follows the scalar reference `FeLIFNeuron`.
public enum FastMath {
    public typealias V = SIMD8<Double>

    /// eˣ. Below −708 the result is 0 (the switching rate underflows there, as in libm to within 1e-308);
    /// above 709 it is +∞.
    @inline(__always)
    public static func exp(_ x: V) -> V {
        let log2e = 1.4426950408889634, ln2hi = 0.6931471803691238, ln2lo = 1.9082149292705877e-10
        // pointwiseMin/Max, not `clamped`: the latter compiles to an out-of-line call (cpu-performance notes).
        let xc = vmax(vmin(x, V(repeating: 709.7)), V(repeating: -708))
        // Round to an integer with the 1.5·2⁵² trick: the sum's low mantissa bits hold n. (Converting through
        // SIMD8<Int64>(…) compiled to a per-lane checked conversion and took half of the FeLIF loop's time.)
        let magic = V(repeating: 6755399441055744.0)
        let shifted = xc * log2e + magic
        let n = shifted - magic
        let r = (xc - n * ln2hi) - n * ln2lo          // |r| ≤ ln2/2
        // Taylor series to r¹³/13! (truncation < 2e-16 on |r| ≤ 0.347), Horner with fused multiply-adds.
        var p = V(repeating: 1.0 / 6227020800)
        p = V(repeating: 1.0 / 479001600).addingProduct(p, r)
        p = V(repeating: 1.0 / 39916800).addingProduct(p, r)
        p = V(repeating: 1.0 / 3628800).addingProduct(p, r)
        p = V(repeating: 1.0 / 362880).addingProduct(p, r)
        p = V(repeating: 1.0 / 40320).addingProduct(p, r)
        p = V(repeating: 1.0 / 5040).addingProduct(p, r)
        p = V(repeating: 1.0 / 720).addingProduct(p, r)
        p = V(repeating: 1.0 / 120).addingProduct(p, r)
        p = V(repeating: 1.0 / 24).addingProduct(p, r)
        p = V(repeating: 1.0 / 6).addingProduct(p, r)
        p = V(repeating: 0.5).addingProduct(p, r)
        p = V(repeating: 1).addingProduct(p, r)
        p = V(repeating: 1).addingProduct(p, r)
        // 2ⁿ from the exponent bits.
        let bits = (unsafeBitCast(shifted, to: SIMD8<Int64>.self) &- unsafeBitCast(magic, to: SIMD8<Int64>.self) &+ 1023) &<< 52
        var y = p * unsafeBitCast(bits, to: V.self)
        y.replace(with: 0, where: x .< -708)
        y.replace(with: .infinity, where: x .> 709.7)
        return y
    }

    /// ln x for positive, normal x (the only arguments the neuron produces).
    @inline(__always)
    public static func log(_ x: V) -> V {
        let bits = unsafeBitCast(x, to: SIMD8<Int64>.self)
        // The biased exponent k = bits >> 52 as a double without an integer conversion: 2⁵² + k, minus 2⁵² + 1023.
        let two52 = SIMD8<Int64>(repeating: 0x4330_0000_0000_0000)
        var e = unsafeBitCast(two52 | (bits &>> 52), to: V.self) - 4503599627371519.0
        var m = unsafeBitCast((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000, to: V.self)   // [1, 2)
        let big = m .> 1.4142135623730951
        m.replace(with: m * 0.5, where: big)
        e.replace(with: e + 1, where: big)
        // ln m = 2·atanh(s), s = (m − 1)/(m + 1), |s| ≤ 0.1716: odd series to s¹⁹ (truncation < 1e-16).
        let s = (m - 1) / (m + 1), s2 = s * s
        var q = V(repeating: 2.0 / 19)
        q = V(repeating: 2.0 / 17).addingProduct(q, s2)
        q = V(repeating: 2.0 / 15).addingProduct(q, s2)
        q = V(repeating: 2.0 / 13).addingProduct(q, s2)
        q = V(repeating: 2.0 / 11).addingProduct(q, s2)
        q = V(repeating: 2.0 / 9).addingProduct(q, s2)
        q = V(repeating: 2.0 / 7).addingProduct(q, s2)
        q = V(repeating: 2.0 / 5).addingProduct(q, s2)
        q = V(repeating: 2.0 / 3).addingProduct(q, s2)
        q = V(repeating: 2).addingProduct(q, s2)
        return (e * 0.6931471805599453).addingProduct(q, s)
    }
}

/// Lane-wise minimum and maximum that inline to one blend (the generic `pointwiseMin/Max` did not).
@inline(__always) func vmin(_ a: SIMD8<Double>, _ b: SIMD8<Double>) -> SIMD8<Double> { a.replacing(with: b, where: b .< a) }
@inline(__always) func vmax(_ a: SIMD8<Double>, _ b: SIMD8<Double>) -> SIMD8<Double> { a.replacing(with: b, where: b .> a) }
