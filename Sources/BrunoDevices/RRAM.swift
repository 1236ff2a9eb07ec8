import BrunoSpice
import BrunoSupport
import Foundation

/// Device-to-device factors of one RRAM cell (fixed for its life), 1 = nominal; see `models/rram.lib`.
public struct RRAMDeviceFactors: Sendable, Equatable, Codable {
    /// Current prefactor I0.
    public var i0 = 1.0
    /// Current decay length g0 of the gap.
    public var g0 = 1.0
    /// Field enhancement γ0.
    public var gamma = 1.0

    public init(i0: Double = 1, g0: Double = 1, gamma: Double = 1) {
        self.i0 = i0
        self.g0 = g0
        self.gamma = gamma
    }

    public static let nominal = RRAMDeviceFactors()
}

/// Cycle-to-cycle factors of one programming operation, 1 = nominal.
public struct RRAMCycleFactors: Sendable, Equatable, Codable {
    /// Gap-velocity prefactor ν0.
    public var nu = 1.0
    /// Field enhancement γ0.
    public var gamma = 1.0

    public init(nu: Double = 1, gamma: Double = 1) {
        self.nu = nu
        self.gamma = gamma
    }

    public static let nominal = RRAMCycleFactors()
}

/// How much RRAM cells vary, as relative standard deviations; every draw comes from a seeded generator.
///
/// Device-to-device draws depend only on (seed, device index); cycle-to-cycle draws only on (seed, device
/// index, cycle index), so results do not depend on the order in which cells are programmed.
public struct RRAMVariability: Sendable, Equatable, Codable {
    /// σ of the device factors on I0 and g0 (γ0 uses `deviceGammaSigma`).
    public var deviceSigma: Double
    public var deviceGammaSigma: Double
    /// σ of the cycle factors on ν0 and γ0.
    public var cycleNuSigma: Double
    public var cycleGammaSigma: Double
    public var seed: UInt64

    public init(deviceSigma: Double = 0, deviceGammaSigma: Double = 0, cycleNuSigma: Double = 0, cycleGammaSigma: Double = 0, seed: UInt64 = 1) {
        self.deviceSigma = deviceSigma
        self.deviceGammaSigma = deviceGammaSigma
        self.cycleNuSigma = cycleNuSigma
        self.cycleGammaSigma = cycleGammaSigma
        self.seed = seed
    }

    /// No variability at all.
    public static let none = RRAMVariability()

    /// Defaults of the shipped preset: 2 % on I0/g0, 1 % on γ0 between devices; 10 % (log-normal) on ν0 and 1 %
    /// on γ0 between cycles. With 30 % on ν0 the programmed levels' cycle-to-cycle spreads reached 12–30 % and
    /// adjacent levels overlapped; see docs/devices.md.
    public static func typical(seed: UInt64) -> RRAMVariability {
        RRAMVariability(deviceSigma: 0.02, deviceGammaSigma: 0.01, cycleNuSigma: 0.1, cycleGammaSigma: 0.01, seed: seed)
    }

    public func device(_ index: Int) -> RRAMDeviceFactors {
        var rng = SeededRandom(seed: seed).derived(UInt64(index) &* 2 &+ 1)
        return RRAMDeviceFactors(i0: 1 + deviceSigma * rng.gaussian(), g0: 1 + deviceSigma * rng.gaussian(),
                                 gamma: 1 + deviceGammaSigma * rng.gaussian())
    }

    public func cycle(device index: Int, cycle: Int) -> RRAMCycleFactors {
        var rng = SeededRandom(seed: seed).derived(UInt64(index) &* 2).derived(UInt64(cycle) &+ 0x5EED)
        // ν0 varies over orders of magnitude in real cells: log-normal keeps it positive.
        return RRAMCycleFactors(nu: exp(cycleNuSigma * rng.gaussian()), gamma: 1 + cycleGammaSigma * rng.gaussian())
    }
}

/// The outcome of programming one cell.
public struct RRAMProgramResult: Sendable, Equatable, Codable {
    public var level: Int
    /// Read current at the read voltage [A].
    public var readCurrent: Double
    /// Read conductance I/V at the read voltage [S].
    public var conductance: Double
    /// Final filament gap [nm].
    public var gap: Double
    /// Energy [J] the bit-line source delivered over the whole run (RESET, SET and the verify read); nil when the
    /// netlist does not save v(bl).
    public var energy: Double? = nil
}

/// Programs a 1T1R cell to one of 8 levels with the shipped `netlists/rram_program.cir` (RESET, then SET with
/// the level's compliance, then read) and reads the result back. The netlist is the physical truth; Swift only
/// sets its parameters.
public struct RRAMProgrammer: Sendable {
    public static let levels = 8
    public var library: DeviceLibrary
    /// The programming netlist (default: the shipped `netlists/rram_program.cir`). It must define the `.param`s
    /// level, vread, vi0, vg0, vgamma, cnu, cgamma and save `i(vbl)` and `v(xr.g)`.
    public var netlistURL: URL
    /// Read voltage [V] (the netlist's `vread`).
    public var readVoltage = 0.2
    /// Extra `.param` overrides (e.g. a different compliance table `ic3`, or `tset`).
    public var overrides: [String: String] = [:]

    public init(library: DeviceLibrary) {
        self.library = library
        netlistURL = library.netlist("rram_program.cir")
    }

    public func netlist(level: Int, device: RRAMDeviceFactors = .nominal, cycle: RRAMCycleFactors = .nominal) throws -> Netlist {
        guard (0..<Self.levels).contains(level) else {
            throw SpiceError.invalidRequest("RRAM level must be 0…\(Self.levels - 1) (got \(level)).")
        }
        var deck = try Netlist(contentsOf: netlistURL)
        try deck.setParameter("level", to: Double(level))
        try deck.setParameter("vread", to: readVoltage)
        try deck.setParameter("vi0", to: device.i0)
        try deck.setParameter("vg0", to: device.g0)
        try deck.setParameter("vgamma", to: device.gamma)
        try deck.setParameter("cnu", to: cycle.nu)
        try deck.setParameter("cgamma", to: cycle.gamma)
        for (k, v) in overrides.sorted(by: { $0.key < $1.key }) { try deck.setParameter(k, to: v) }
        return deck
    }

    public func result(_ sim: SimulationResult, level: Int) throws -> RRAMProgramResult {
        guard let i = sim["i(vbl)"]?.real.last, let g = sim["v(xr.g)"]?.real.last else {
            throw SpiceError.invalidRequest("The programming result lacks i(vbl) or v(xr.g); was rram_program.cir changed?")
        }
        let read = -i   // the source's current flows out of its + terminal into the cell
        var r = RRAMProgramResult(level: level, readCurrent: read, conductance: read / readVoltage, gap: g)
        if let plot = sim.plot("tran"), plot["v(bl)"] != nil {
            r.energy = try plot.deliveredEnergy(.source("bit line", name: "vbl", plus: "bl"))
        }
        return r
    }

    public func program(level: Int, device: RRAMDeviceFactors = .nominal, cycle: RRAMCycleFactors = .nominal, on spice: SpiceInstance) throws -> RRAMProgramResult {
        try result(spice.simulate(netlist(level: level, device: device, cycle: cycle)), level: level)
    }

    /// Programs device `device` of `variability` to `level` on its `cycle`-th programming operation.
    public func program(level: Int, device: Int, cycle: Int, variability: RRAMVariability, on pool: SpicePool) async throws -> RRAMProgramResult {
        let deck = try netlist(level: level, device: variability.device(device), cycle: variability.cycle(device: device, cycle: cycle))
        return try result(try await pool.simulate(deck), level: level)
    }
}

/// The frozen-state read model (`rram_read` in models/rram.lib): I = I0·exp(−g/g0)·sinh(V/V0).
public struct RRAMReadModel: Sendable, Equatable, Codable {
    public var i0 = 1e-3    // [A]
    public var g0 = 0.25    // [nm]
    public var v0 = 0.25    // [V]

    public init() {}

    public func current(voltage: Double, gap: Double, device: RRAMDeviceFactors = .nominal) -> Double {
        i0 * device.i0 * exp(-gap / (g0 * device.g0)) * sinh(voltage / v0)
    }

    /// The gap [nm] at which the cell has read conductance `conductance` [S] at `voltage`.
    public func gap(forConductance conductance: Double, at voltage: Double, device: RRAMDeviceFactors = .nominal) -> Double {
        -g0 * device.g0 * log(conductance * voltage / (i0 * device.i0 * sinh(voltage / v0)))
    }
}
