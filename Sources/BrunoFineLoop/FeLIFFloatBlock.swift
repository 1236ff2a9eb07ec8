// This file is compiled twice, into `BrunoFineLoop` (-march=x86-64-v3: AVX2 + FMA) and into
// `BrunoFineLoopAVX512` (-march=x86-64-v4) through a symbolic link; `FineLoopKernel` in BrunoTraining picks one
// at run time. It uses nothing but scalar Float arithmetic in loops over a block's lanes, so both builds (and a
// scalar evaluation) compute bit-identical results: no reassociation, fused multiply-adds only where written.

/// The FeLIF fine forward in Float32 on a block of up to 64 neurons: the same clipped Euler (or exponential)
/// sub-step as `FeLIFLanes` in BrunoTraining, the same freezing at threshold, detached reset and spike.
///
/// Why Float32: a 1 µs sub-step moves the state by ≥ 1e-4 of itself, so 24 mantissa bits keep the trajectory
/// (spike trains and threshold-crossing sub-steps against the Double kernel: FineLoopTests, docs/training.md),
/// and a register holds twice as many lanes.
///
/// Why scalar code in lane loops and not SIMD types: Swift's lane-wise SIMD arithmetic reaches LLVM as one
/// scalar operation per lane, which the SLP vectorizer regroups 4 lanes wide at best (a Float SIMD16 version ran
/// slower than the Double SIMD8 kernel). A loop over the block's lanes is what LLVM's loop vectorizer handles
/// best: the whole sub-step, transcendentals included, becomes full-width vector code, unrolled so that
/// independent lanes' dependency chains interleave (the C model in `../shared/peers/eleanor-harness/limit/`
/// showed the latency chain is the limit otherwise).
public enum FeLIFFloatBlock {
    /// Lanes per block.
    public static let width = 64
    /// Per-lane device coefficients, in this order, each `width` floats (`coefficients[k * width + lane]`).
    public static let coefficientNames = [
        "c", "d", "ps", "logEa", "alpha", "esoft", "invTau0", "i0a", "invVt", "idsc", "area", "invC", "vlimit",
        "threshold", "resetVoltage", "resetPolarization",
    ]

    /// Runs lanes `lo ..< lo + count` of a layer with `lanes` lanes through `steps` coarse steps of `subSteps`
    /// sub-steps of `subStep` seconds each (a lane freezes once its membrane reaches threshold; the block leaves
    /// the sub-step loop when every lane froze). `v`, `p` are `[steps + 1][lanes]` (row 0 read as the initial
    /// state), `spikes` `[steps][lanes]`, `currents` `[steps][lanes]` in amperes; `executed`, if given, gets how
    /// many sub-steps each lane ran in each step before it froze (`[steps][lanes]`, as the Double BPTT tape's
    /// `executed`: the threshold crossing is sub-step `executed − 1`).
    public static func run(
        coefficients: UnsafePointer<Float>, lo: Int, count: Int, lanes: Int, steps: Int, subSteps: Int,
        subStep h: Float, exponential: Bool, currents: UnsafePointer<Float>,
        v vOut: UnsafeMutablePointer<Double>, p pOut: UnsafeMutablePointer<Double>,
        spikes: UnsafeMutablePointer<Float>, executed: UnsafeMutablePointer<Int32>? = nil
    ) {
        precondition(count > 0 && count <= width, "a block holds 1…\(width) lanes")
        let n = width
        // Working rows: membrane and polarization (block state), their fine copies, current, still-running flag
        // (1 or 0), previous spike.
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: 8 * n)
        defer { rows.deallocate() }
        rows.initialize(repeating: 0, count: 8 * n)
        let v = rows, p = rows + n, fv = rows + 2 * n, fp = rows + 3 * n, current = rows + 4 * n
        let active = rows + 5 * n, previous = rows + 6 * n, ran = rows + 7 * n
        let k = Coefficients(coefficients)
        for i in 0..<count {
            v[i] = Float(vOut[lo + i])
            p[i] = Float(pOut[lo + i])
        }
        // Padding lanes hold the block's first device at rest and start every step frozen.
        for i in count..<n { p[i] = -k.ps[i] }
        for t in 0..<steps {
            for i in 0..<n {
                current[i] = i < count ? currents[t * lanes + lo + i] : 0
                fv[i] = v[i]
                fp[i] = p[i]
                active[i] = i < count ? 1 : 0
                ran[i] = 0
            }
            for _ in 0..<subSteps {
                let live = exponential ? k.exponentialSubStep(fv, fp, current, active, ran, h)
                    : k.eulerSubStep(fv, fp, current, active, ran, h)
                if !live { break }
            }
            if let executed {
                for i in 0..<count { executed[t * lanes + lo + i] = Int32(ran[i]) }
            }
            // Detached reset from the previous step's spike, then this step's spike.
            for i in 0..<n {
                let keep = 1 - previous[i]
                v[i] = keep * fv[i] + previous[i] * k.resetVoltage[i]
                p[i] = keep * fp[i] + previous[i] * k.resetPolarization[i]
                previous[i] = v[i] >= k.threshold[i] ? 1 : 0
            }
            let row = (t + 1) * lanes + lo
            for i in 0..<count {
                vOut[row + i] = Double(v[i])
                pOut[row + i] = Double(p[i])
                spikes[t * lanes + lo + i] = previous[i]
            }
        }
    }

    /// One Euler (or exponential) sub-step of 64 lanes from (v, p) under `current`, for the kernel tests.
    public static func subStep(
        coefficients: UnsafePointer<Float>, v: inout [Float], p: inout [Float], current: [Float], h: Float,
        exponential: Bool
    ) {
        precondition(v.count == width && p.count == width && current.count == width)
        let k = Coefficients(coefficients)
        var active = [Float](repeating: 1, count: width), ran = active
        v.withUnsafeMutableBufferPointer { vb in
            p.withUnsafeMutableBufferPointer { pb in
                current.withUnsafeBufferPointer { cb in
                    active.withUnsafeMutableBufferPointer { ab in
                        ran.withUnsafeMutableBufferPointer { rb in
                            let c = UnsafeMutablePointer(mutating: cb.baseAddress!), a = ab.baseAddress!, r = rb.baseAddress!
                            _ = exponential ? k.exponentialSubStep(vb.baseAddress!, pb.baseAddress!, c, a, r, h)
                                : k.eulerSubStep(vb.baseAddress!, pb.baseAddress!, c, a, r, h)
                        }
                    }
                }
            }
        }
    }

    /// e^x and ln x as this build computes them, for the error-bound tests.
    public static func exp(_ x: Float) -> Float { FloatMath.exp(x) }
    public static func log(_ x: Float) -> Float { FloatMath.log(x) }
}

/// A block's coefficient rows (`FeLIFFloatBlock.coefficientNames`).
private struct Coefficients {
    let c, d, ps, logEa, alpha, esoft, invTau0, i0a, invVt, idsc, area, invC, vlimit: UnsafePointer<Float>
    let threshold, resetVoltage, resetPolarization: UnsafePointer<Float>

    init(_ k: UnsafePointer<Float>) {
        let n = FeLIFFloatBlock.width
        c = k; d = k + n; ps = k + 2 * n; logEa = k + 3 * n; alpha = k + 4 * n; esoft = k + 5 * n
        invTau0 = k + 6 * n; i0a = k + 7 * n; invVt = k + 8 * n; idsc = k + 9 * n; area = k + 10 * n
        invC = k + 11 * n; vlimit = k + 12 * n; threshold = k + 13 * n; resetVoltage = k + 14 * n
        resetPolarization = k + 15 * n
    }

    /// 1/τ(E) of lane i. Rates below e⁻⁶⁴/τ₀ ≈ 1e-15 /s (weak fields) are zero: they move P by nothing a run can
    /// see, and their products with the FeCap area would be subnormal floats, which cost ≈ 100× a normal operation.
    @inline(__always) func switchingRate(_ e: Float, _ i: Int) -> Float {
        let ae = e.magnitude + esoft[i]
        let x = FloatMath.exp(alpha[i] * (logEa[i] - FloatMath.log(ae)))
        let rate = FloatMath.exp(-x) * invTau0[i]   // computed in every lane, then selected: no branch
        return x > 64 ? 0 : rate
    }

    @inline(__always) func leak(_ v: Float, _ i: Int) -> Float {
        sign(v) * (i0a[i] * (FloatMath.exp(v.magnitude * invVt[i]) - 1) + idsc[i])
    }

    /// One clipped Euler sub-step of every running lane (`FeLIFLanes.euler`); lanes that reach threshold stop.
    /// Returns whether any lane is still running.
    @inline(__always) func eulerSubStep(
        _ v: UnsafeMutablePointer<Float>, _ p: UnsafeMutablePointer<Float>, _ current: UnsafeMutablePointer<Float>,
        _ active: UnsafeMutablePointer<Float>, _ ran: UnsafeMutablePointer<Float>, _ h: Float
    ) -> Bool {
        var live: UInt32 = 0
        for i in 0..<FeLIFFloatBlock.width {
            let vi = v[i], pi = p[i]
            let e = c[i] * vi - d[i] * pi
            let dp = (sign(e) * ps[i] - pi) * switchingRate(e, i)
            let dv = (current[i] - leak(vi, i) - area[i] * dp) * invC[i]
            let vn = clamp(vi.addingProduct(h, dv), vlimit[i]), pn = clamp(pi.addingProduct(h, dp), ps[i])
            let running = active[i] > 0
            ran[i] += active[i]
            let vNext = running ? vn : vi
            v[i] = vNext
            p[i] = running ? pn : pi
            // Selects, not `&&` (a branch), and an integer OR as the "any lane running" reduction: both keep
            // the loop vectorizable.
            let still: Float = vNext < threshold[i] ? active[i] : 0
            active[i] = still
            live |= still.bitPattern
        }
        return live != 0
    }

    /// One sub-step with the polarization advanced exactly for the field at its start (`FeLIFLanes.exponential`).
    @inline(__always) func exponentialSubStep(
        _ v: UnsafeMutablePointer<Float>, _ p: UnsafeMutablePointer<Float>, _ current: UnsafeMutablePointer<Float>,
        _ active: UnsafeMutablePointer<Float>, _ ran: UnsafeMutablePointer<Float>, _ h: Float
    ) -> Bool {
        var live: UInt32 = 0
        for i in 0..<FeLIFFloatBlock.width {
            let vi = v[i], pi = p[i]
            let e = c[i] * vi - d[i] * pi
            let target = sign(e) * ps[i]
            let pn = clamp(target + (pi - target) * FloatMath.exp(-(switchingRate(e, i) * h)), ps[i])
            let vn = clamp(vi + h * (current[i] - leak(vi, i)) * invC[i] - area[i] * (pn - pi) * invC[i], vlimit[i])
            let running = active[i] > 0
            ran[i] += active[i]
            let vNext = running ? vn : vi
            v[i] = vNext
            p[i] = running ? pn : pi
            // Selects, not `&&` (a branch), and an integer OR as the "any lane running" reduction: both keep
            // the loop vectorizable.
            let still: Float = vNext < threshold[i] ? active[i] : 0
            active[i] = still
            live |= still.bitPattern
        }
        return live != 0
    }
}

/// e^x and ln x in Float32 with Cephes's polynomials (exp: degree 5 after 2ⁿ range reduction; log: degree 9 on
/// [√½, √2)), branch-free so that the loop vectorizer can vectorize them; the tests bound their relative errors.
enum FloatMath {
    @inline(__always) static func exp(_ x: Float) -> Float {
        let magic: Float = 12_582_912   // 1.5 · 2²³: x·log₂e + magic holds round(x·log₂e) in its low bits
        let xc = x < -87.3 ? -87.3 : (x > 88.7 ? 88.7 : x)
        let shifted = magic.addingProduct(xc, 1.442_695_04)
        let n = shifted - magic
        let r = xc.addingProduct(n, -0.693_359_375).addingProduct(n, 2.121_944_4e-4)
        var q: Float = 1.987_569_15e-4
        q = Float(1.398_199_950_7e-3).addingProduct(q, r)
        q = Float(8.333_451_907_3e-3).addingProduct(q, r)
        q = Float(4.166_579_589_4e-2).addingProduct(q, r)
        q = Float(1.666_666_545_9e-1).addingProduct(q, r)
        q = Float(5.000_000_120_1e-1).addingProduct(q, r)
        let poly = (r + 1).addingProduct(q, r * r)
        let y = poly * Float(bitPattern: (shifted.bitPattern &- magic.bitPattern &+ 127) &<< 23)
        return x < -87.3 ? 0 : y
    }

    /// ln x for positive, normal x (the only arguments the neuron produces).
    @inline(__always) static func log(_ x: Float) -> Float {
        let bits = x.bitPattern
        // The biased exponent as a float without an integer conversion: (2²³ + k) − (2²³ + 126).
        let e0 = Float(bitPattern: 0x4B00_0000 | ((bits &>> 23) & 0xFF)) - 8_388_734
        let m0 = Float(bitPattern: (bits & 0x007F_FFFF) | 0x3F00_0000)   // [0.5, 1)
        let small = m0 < 0.707_106_781
        let e1 = e0 - 1, m1 = m0 + m0
        let e = small ? e1 : e0, m = small ? m1 : m0
        let z = m - 1, z2 = z * z
        var q: Float = 7.037_683_629_2e-2
        q = Float(-1.151_461_031_0e-1).addingProduct(q, z)
        q = Float(1.167_699_874_0e-1).addingProduct(q, z)
        q = Float(-1.242_014_084_6e-1).addingProduct(q, z)
        q = Float(1.424_932_278_7e-1).addingProduct(q, z)
        q = Float(-1.666_805_766_5e-1).addingProduct(q, z)
        q = Float(2.000_071_476_5e-1).addingProduct(q, z)
        q = Float(-2.499_999_399_3e-1).addingProduct(q, z)
        q = Float(3.333_333_117_4e-1).addingProduct(q, z)
        let tail = (q * z * z2).addingProduct(z2, -0.5)
        return (z + tail).addingProduct(e, 0.693_147_18)
    }
}

@inline(__always) func sign(_ x: Float) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }
@inline(__always) func clamp(_ x: Float, _ limit: Float) -> Float { x > limit ? limit : (x < -limit ? -limit : x) }
