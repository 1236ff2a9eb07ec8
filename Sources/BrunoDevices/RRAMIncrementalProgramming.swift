import BrunoSpice
import Foundation

/// Incremental-step-pulse programming (ISPP) with verify, as multi-level RRAM is written in practice.
///
/// RESET, then SET with a compliance below the level's (`startFraction` of it, 92 %) and read; while the read
/// conductance is below the target window, apply a short SET pulse (`stepPulse` long, at the level's
/// compliance) — without RESET, from the cell's present gap. Every pulse is a programming cycle with its own
/// cycle-to-cycle draws. Far below the window a pulse is lengthened to cover about half the remaining distance
/// (a device whose first SET lands low: seen at 30 % of the target); a pulse that gains less than 1 % raises the
/// compliance of the next by 5 % (a slow device);
/// an overshoot above the window restarts from RESET with a lower starting compliance.
///
/// Why short pulses: in the filament model SET is limited by time as much as by compliance. A second 10 µs pulse
/// from an already formed filament moved level 1 from 6.2 to 11.1 µA (target 8.3 µA) — past the window in one
/// step — while a 0.5 µs pulse adds ≈ 3.5 %. Re-trying RESET + SET with a corrected compliance did not converge
/// at level 1 either: each retry's own variation (≈ 17 %) is larger than the ±5 % window.
public struct RRAMIncrementalProgramming: Sendable, Equatable, Codable {
    /// Relative half-width of the accepted window around the level's target conductance.
    public var tolerance = 0.05
    /// Most SET pulses (including those after restarts) per programming.
    public var maxPulses = 24
    public var startFraction = 0.92
    /// Length of each incremental SET pulse [s].
    public var stepPulse = 0.5e-6
    /// Target read conductance of each level [S] and the level's compliance [A] (the netlist's ic0…ic7).
    public var targets = RRAMLevels.shipped.conductances
    public var compliances = [20e-6, 225e-6, 314e-6, 405e-6, 499e-6, 596e-6, 696e-6, 799e-6]

    public init(tolerance: Double = 0.05, maxPulses: Int = 24) {
        self.tolerance = tolerance
        self.maxPulses = maxPulses
    }

    public struct Outcome: Sendable, Equatable, Codable {
        public var result: RRAMProgramResult
        public var pulses: Int
        /// The final read lies in the window (always true for level 0, the reset state, which has no window).
        public var verified: Bool
    }

    /// Programs `device` to `level`; pulse k of this programming uses cycle `firstCycle + k`.
    public func program(level: Int, device: Int, firstCycle: Int, variability: RRAMVariability,
                        programmer: RRAMProgrammer, on pool: SpicePool) async throws -> Outcome {
        let deviceFactors = variability.device(device)
        func pulse(_ k: Int, compliance: Double?, fromGap gap: Double?, length: Double = 0) async throws -> RRAMProgramResult {
            var p = programmer
            if let compliance { p.overrides["icomp"] = Netlist.spiceNumber(compliance) }
            if let gap {
                p.overrides["doreset"] = "0"
                p.overrides["ginit"] = Netlist.spiceNumber(gap)
                p.overrides["tset"] = Netlist.spiceNumber(length)
            }
            let deck = try p.netlist(level: level, device: deviceFactors, cycle: variability.cycle(device: device, cycle: firstCycle + k))
            return try p.result(try await pool.simulate(deck), level: level)
        }
        if level == 0 {
            return Outcome(result: try await pulse(0, compliance: nil, fromGap: nil), pulses: 1, verified: true)
        }
        let target = targets[level], low = target * (1 - tolerance), high = target * (1 + tolerance)
        var start = startFraction
        var pulses = 0
        var last: RRAMProgramResult?
        while pulses < maxPulses {
            var r = try await pulse(pulses, compliance: start * compliances[level], fromGap: nil)
            pulses += 1
            var compliance = compliances[level]
            while r.conductance < low && pulses < maxPulses {
                let before = r.conductance
                // One step pulse adds ≈ 3.5 %: far below the window, lengthen the pulse to cover about half the
                // remaining distance (at most 8 steps' worth); near it, take single steps.
                let stepsNeeded = (low / max(before, 1e-12) - 1) / 0.035
                let length = stepPulse * min(8, max(1, stepsNeeded / 2))
                r = try await pulse(pulses, compliance: compliance, fromGap: r.gap, length: length)
                pulses += 1
                // A slow device (its own γ0, I0 draws) barely moves at the nominal compliance: step it up.
                if r.conductance < before * 1.01 { compliance *= 1.05 }
            }
            last = r
            if r.conductance <= high { break }
            start -= 0.1   // overshoot: RESET and approach again from lower
        }
        let r = last!
        return Outcome(result: r, pulses: pulses, verified: r.conductance >= low && r.conductance <= high)
    }
}
