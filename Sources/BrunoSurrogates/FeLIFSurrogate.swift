import Foundation

/// The FeLIF neuron's surrogate: the reference work's equations (see `docs/devices.md` and
/// `shared/reference/bruno-method.md` §1), with every constant a parameter so calibration can fit it to the
/// SPICE netlist. SI units.
public struct FeLIFSurrogate: Sendable, Equatable, Codable {
    public var area = 25e-12                 // A [m²]
    public var tFe = 10e-9                   // ferroelectric thickness [m]
    public var epsFe = 25.2                  // ferroelectric relative permittivity
    public var tInt = 1.375e-9               // interlayer thickness [m]
    public var epsInt = 33.0                 // interlayer relative permittivity
    public var saturationPolarization = 0.22 // Ps [C/m²]
    public var tau0 = 1e-13                  // [s]
    public var activationField = 1.27e9      // Ea [V/m]
    public var alpha = 1.3                   // switching-law exponent
    public var softField = 5e-6              // E_soft [V/m]
    public var leakCurrentDensity = 1e-4     // I0 [A/m²]
    public var leakVoltage = 0.32            // Vt [V]
    public var dischargeCurrent = 10e-12     // I_dsc [A]
    public var parasiticCapacitance = 15e-15 // C_par [F]
    public var threshold = 2.5               // V_thr [V]
    public var resetVoltage = -1.5           // [V]
    /// P/Ps right after a reset [1]: −1 is complete re-polarization. A circuit whose reset pulse is short
    /// against the switching time (high Ea, steep α) leaves part of the polarization unswitched, which shortens
    /// the next interspike interval; calibration fits it, the reset applies it.
    public var resetPolarization = -1.0
    /// Membrane clip [V] applied after every Euler step (the reference uses ±5 V).
    public var voltageLimit = 5.0

    public init() {}

    /// The polarization a reset leaves [C/m²].
    public var polarizationAfterReset: Double { resetPolarization * saturationPolarization }

    public static let reference = FeLIFSurrogate()

    public static let vacuumPermittivity = 8.8541878128e-12

    /// c in E = c·V − d·P [1/m].
    public var fieldPerVolt: Double { epsInt / (tFe * epsInt + tInt * epsFe) }
    /// d in E = c·V − d·P [V·m/C].
    public var fieldPerPolarization: Double { tInt / (FeLIFSurrogate.vacuumPermittivity * (tFe * epsInt + tInt * epsFe)) }
    /// C_tot = ε0·ε_fe·A/t_fe + C_par [F].
    public var totalCapacitance: Double { FeLIFSurrogate.vacuumPermittivity * epsFe * area / tFe + parasiticCapacitance }

    /// Constants of the right-hand side, computed once per step loop rather than per neuron and step.
    public struct Coefficients: Sendable {
        public let c, d, ps, ea, alpha, esoft, invTau0, i0a, invVt, idsc, area, invC, vmax: Double
    }

    public var coefficients: Coefficients {
        Coefficients(c: fieldPerVolt, d: fieldPerPolarization, ps: saturationPolarization, ea: activationField, alpha: alpha,
                     esoft: softField, invTau0: 1 / tau0, i0a: leakCurrentDensity * area, invVt: 1 / leakVoltage,
                     idsc: dischargeCurrent, area: area, invC: 1 / totalCapacitance, vmax: voltageLimit)
    }
}

/// A neuron's continuous state.
public struct FeLIFState: Sendable, Equatable, Codable {
    /// Membrane voltage [V].
    public var v: Double
    /// Polarization [C/m²].
    public var p: Double

    public init(v: Double, p: Double) {
        self.v = v
        self.p = p
    }
}

/// Right-hand side f(V, P, I) of the FeLIF equations and its partial derivatives.
public struct FeLIFRates: Sendable, Equatable {
    /// dV/dt [V/s] and dP/dt [C/m²/s].
    public var dv, dp: Double
    /// ∂(dV/dt)/∂V, ∂(dV/dt)/∂P, ∂(dP/dt)/∂V, ∂(dP/dt)/∂P. ∂(dV/dt)/∂I is 1/C_tot.
    public var dvdv, dvdp, dpdv, dpdp: Double
}

extension FeLIFSurrogate.Coefficients {
    /// f(V, P, I). With `detachTau` the switching rate 1/τ(E) is treated as a constant in the partials (the
    /// reference's first version); otherwise dτ/dE is kept. sgn(·) has zero derivative almost everywhere.
    public func rates(v: Double, p: Double, current: Double, detachTau: Bool = false) -> FeLIFRates {
        let e = c * v - d * p
        let ae = abs(e) + esoft
        let x = Foundation.pow(ea / ae, alpha)
        let r = Foundation.exp(-x) * invTau0            // 1/τ(E), never overflowing
        let sgnE: Double = e > 0 ? 1 : (e < 0 ? -1 : 0)
        let target = sgnE * ps - p
        let dp = target * r
        // dr/dE = r·α·x/(|E| + E_soft)·sgn(E)
        let drdE = detachTau ? 0 : r * alpha * x / ae * sgnE
        let dpdv = target * drdE * c
        let dpdp = -r + target * drdE * (-d)
        // Leak odd in V, as the netlist's stack leakage (models/fecap.lib): sgn(V)·(I0·A·(e^{|V|/Vt} − 1) + I_dsc).
        // (The reference writes e^{V/Vt}, which leaves negative membranes almost leak-free; the circuit is symmetric.)
        let sgnV: Double = v > 0 ? 1 : (v < 0 ? -1 : 0)
        let ex = Foundation.exp(abs(v) * invVt)
        let leak = sgnV * (i0a * (ex - 1) + idsc)
        let dleak = sgnV * sgnV * i0a * ex * invVt
        let dv = (current - leak - area * dp) * invC
        return FeLIFRates(dv: dv, dp: dp, dvdv: (-dleak - area * dpdv) * invC, dvdp: -area * dpdp * invC, dpdv: dpdv, dpdp: dpdp)
    }

    /// One explicit Euler step of size h, then the reference's clips (P to ±Ps, V to ±vmax).
    public func euler(_ s: FeLIFState, current: Double, h: Double) -> FeLIFState {
        let f = rates(v: s.v, p: s.p, current: current)
        return FeLIFState(v: min(max(s.v + h * f.dv, -vmax), vmax), p: min(max(s.p + h * f.dp, -ps), ps))
    }
}
