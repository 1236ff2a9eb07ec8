import Foundation

/// Surrogate derivatives of the Heaviside spike function, by name (as in snnTorch/Norse). The forward pass
/// always uses s = H(V − V_thr); backward replaces dH/dV by one of these.
public enum SpikeGradient: Sendable, Equatable, Codable {
    /// 1 / (1 + k·|x|), the reference's choice for Braille (k = 10).
    case fastSigmoid(slope: Double)
    /// 1 − tanh²(x), the reference's choice for JSB.
    case tanhSquared

    public static let braille = SpikeGradient.fastSigmoid(slope: 10)

    /// The surrogate derivative at x = V − V_thr.
    public func derivative(_ x: Double) -> Double {
        switch self {
        case .fastSigmoid(let k): return 1 / (1 + k * abs(x))
        case .tanhSquared:
            let t = tanh(x)
            return 1 - t * t
        }
    }

    /// A function whose derivative is `derivative(_:)`: the smooth stand-in for the Heaviside with which finite
    /// differences check a backward pass (sign(x)·ln(1 + k|x|)/k, or tanh x).
    public func antiderivative(_ x: Double) -> Double {
        switch self {
        case .fastSigmoid(let k): return (x < 0 ? -1 : 1) * log1p(k * abs(x)) / k
        case .tanhSquared: return tanh(x)
        }
    }
}
