import BrunoSurrogates
import Foundation

/// The FeLIF right-hand side, Euler step and vector–Jacobian product on eight neurons at once: the same
/// arithmetic as `FeLIFSurrogate.Coefficients.rates/euler` and `FeLIFNeuron.eulerVJP`, in SIMD lanes.
/// Each lane may hold a different neuron (device-to-device variation), so every coefficient is a vector.
struct FeLIFLanes {
    typealias V = SIMD8<Double>
    var c, d, ps, logEa, alpha, esoft, invTau0, i0a, invVt, idsc, area, invC, vlimit, threshold, resetVoltage, resetPolarization: V

    init(_ neurons: [FeLIFSurrogate], lanes: Range<Int>, neuronOf: (Int) -> Int) {
        func gather(_ f: (FeLIFSurrogate.Coefficients, FeLIFSurrogate) -> Double) -> V {
            var out = V()
            for (i, lane) in lanes.enumerated() {
                let s = neurons[neuronOf(lane)]
                out[i] = f(s.coefficients, s)
            }
            // Padding lanes (past the last neuron) repeat the first lane's device so they stay finite.
            for i in lanes.count..<8 { out[i] = out[0] }
            return out
        }
        c = gather { k, _ in k.c }
        d = gather { k, _ in k.d }
        ps = gather { k, _ in k.ps }
        logEa = gather { k, _ in Foundation.log(k.ea) }
        alpha = gather { k, _ in k.alpha }
        esoft = gather { k, _ in k.esoft }
        invTau0 = gather { k, _ in k.invTau0 }
        i0a = gather { k, _ in k.i0a }
        invVt = gather { k, _ in k.invVt }
        idsc = gather { k, _ in k.idsc }
        area = gather { k, _ in k.area }
        invC = gather { k, _ in k.invC }
        vlimit = gather { k, _ in k.vmax }
        threshold = gather { _, s in s.threshold }
        resetVoltage = gather { _, s in s.resetVoltage }
        resetPolarization = gather { _, s in s.polarizationAfterReset }
    }

    @inline(__always) static func sign(_ x: V) -> V {
        var s = V(repeating: 0)
        s.replace(with: 1, where: x .> 0)
        s.replace(with: -1, where: x .< 0)
        return s
    }

    /// 1/τ(E) and the pieces its derivative needs.
    @inline(__always) func switchingRate(_ e: V) -> (rate: V, x: V, ae: V) {
        let ae = vabs(e) + esoft
        let x = FastMath.exp(alpha * (logEa - FastMath.log(ae)))
        return (FastMath.exp(-x) * invTau0, x, ae)
    }

    /// One clipped Euler step of size h.
    @inline(__always) func euler(v: V, p: V, current: V, h: V) -> (V, V) {
        let e = c * v - d * p
        let r = switchingRate(e).rate
        let dp = (Self.sign(e) * ps - p) * r
        let leak = Self.sign(v) * (i0a * (FastMath.exp(vabs(v) * invVt) - 1) + idsc)
        let dv = (current - leak - area * dp) * invC
        let vn = vmax(vmin(v.addingProduct(h, dv), vlimit), -vlimit)
        let pn = vmax(vmin(p.addingProduct(h, dp), ps), -ps)
        return (vn, pn)
    }

    /// One sub-step with the polarization advanced exactly for the field at the step's start,
    /// P' = P∞ + (P − P∞)·e^{−h/τ(E)} with P∞ = sgn(E)·Ps, and the membrane charged by the current minus the
    /// leak and minus exactly the switching charge A·(P' − P). Unlike Euler this cannot overshoot when h ≫ τ(E)
    /// (τ is 40 ps at threshold), so fewer sub-steps follow the 1 µs Euler trajectory (docs/training.md).
    @inline(__always) func exponential(v: V, p: V, current: V, h: V) -> (V, V) {
        let e = c * v - d * p
        let r = switchingRate(e).rate
        let target = Self.sign(e) * ps
        let pn = vmax(vmin(target + (p - target) * FastMath.exp(-(r * h)), ps), -ps)
        let leak = Self.sign(v) * (i0a * (FastMath.exp(vabs(v) * invVt) - 1) + idsc)
        let vn = v + h * (current - leak) * invC - area * (pn - p) * invC
        return (vmax(vmin(vn, vlimit), -vlimit), pn)
    }

    /// Given dL/d(next state) of a clipped Euler step from (v, p), returns dL/d(v, p) and dL/dI.
    @inline(__always) func eulerVJP(v: V, p: V, current: V, h: V, gv: V, gp: V, detachTau: Bool, exponential: Bool = false) -> (V, V, V) {
        let e = c * v - d * p
        let (r, x, ae) = switchingRate(e)
        let sgnE = Self.sign(e)
        let target = sgnE * ps - p
        let dp = target * r
        let drdE = detachTau ? V(repeating: 0) : r * alpha * x / ae * sgnE
        let dpdv = target * drdE * c
        let dpdp = -r - target * drdE * d
        let sgnV = Self.sign(v)
        let ex = FastMath.exp(vabs(v) * invVt)
        let leak = sgnV * (i0a * (ex - 1) + idsc)
        let dleak = sgnV * sgnV * i0a * ex * invVt
        let dv = (current - leak - area * dp) * invC
        let dvdv = (-dleak - area * dpdv) * invC, dvdp = -area * dpdp * invC
        // See `FeLIFStepping.exponentialCoarseGradient`: per-component step h·φ₁(h·a).
        let hv = exponential ? h * Self.phi1(h * dvdv) : h
        let hp = exponential ? h * Self.phi1(h * dpdp) : h
        var gvn = gv, gpn = gp
        gvn.replace(with: 0, where: .!(vabs(v.addingProduct(hv, dv)) .< vlimit))
        gpn.replace(with: 0, where: .!(vabs(p.addingProduct(hp, dp)) .< ps))
        return (gvn.addingProduct(gvn * hv, dvdv).addingProduct(gpn * hp, dpdv),
                (gvn * hv * dvdp).addingProduct(gpn, 1 + hp * dpdp),
                gvn * hv * invC)
    }

    /// φ₁(z) = (e^z − 1)/z per lane (1 + z/2 near 0).
    @inline(__always) static func phi1(_ z: V) -> V {
        var out = (FastMath.exp(z) - 1) / z
        out.replace(with: 1 + z * 0.5, where: vabs(z) .< 1e-6)
        return out
    }
}

/// |x| per lane (the standard library has no SIMD abs).
@inline(__always) func vabs(_ x: SIMD8<Double>) -> SIMD8<Double> { vmax(x, -x) }
