import BrunoSupport

/// Device-to-device variation of one FeLIF neuron: multiplicative factors (1 = nominal) on the quantities the
/// reference work varies (A, Ea, Ps, I0, t_fe, t_int), plus the discharge current.
public struct FeLIFVariation: Sendable, Equatable, Codable {
    public var area = 1.0, activationField = 1.0, saturationPolarization = 1.0
    public var leak = 1.0, tFe = 1.0, tInt = 1.0, discharge = 1.0

    public init() {}

    public static let nominal = FeLIFVariation()

    /// Each factor 1 + σ·ε with ε ~ N(0, 1), drawn in a fixed order from `rng`.
    public static func sample(sigma: Double, using rng: inout SeededRandom) -> FeLIFVariation {
        var v = FeLIFVariation()
        v.area = 1 + sigma * rng.gaussian()
        v.activationField = 1 + sigma * rng.gaussian()
        v.saturationPolarization = 1 + sigma * rng.gaussian()
        v.leak = 1 + sigma * rng.gaussian()
        v.tFe = 1 + sigma * rng.gaussian()
        v.tInt = 1 + sigma * rng.gaussian()
        v.discharge = 1 + sigma * rng.gaussian()
        return v
    }
}
