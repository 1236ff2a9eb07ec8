import BrunoDevices
import BrunoSpice
import BrunoSupport
import Foundation

/// One FeLIF neuron's energy over the f–I range of the calibration protocol, measured in ngspice.
///
/// Static power is what the neuron draws with no input once settled (every supply, over the second half of a rest
/// window as long as the longest stimulus). Every bench starts with all nodes at 0 V, so its supplies also charge
/// the neuron's capacitances once: that power-up energy E_0 is the rest window's excess over P_static·T. The
/// dynamic energy per spike at a current is (E_window − E_0 − P_static·T)/N_spikes. Each point is kept both ways —
/// what the supplies delivered and what the parts absorbed — so the bookkeeping checks itself.
public struct NeuronEnergy: Sendable, Equatable, Codable {
    public struct Point: Sendable, Equatable, Codable {
        /// Input current [A] and window [s].
        public var current: Double
        public var duration: Double
        public var spikes: Int
        /// Energy [J] the supplies (input included) delivered over the window, and what the parts absorbed.
        public var supplied: Double
        public var absorbed: Double
        /// (supplied − P_static·T)/N [J]; nil without spikes.
        public var dynamicPerSpike: Double?
        /// Per spike [J], the static share of each part removed: where the dynamic energy goes, and where from.
        public var partsPerSpike: EnergyParts?
        public var suppliesPerSpike: EnergyParts?

        /// Firing rate [Hz].
        public var rate: Double { Double(spikes) / duration }
        /// |supplied − absorbed| / supplied.
        public var imbalance: Double { abs(supplied - absorbed) / max(abs(supplied), .leastNormalMagnitude) }
    }

    /// What was simulated, in words (parameters that differ from the shipped subcircuit).
    public var conditions: String
    /// Power [W] with no input, and its parts.
    public var staticPower: Double
    public var staticParts: EnergyParts
    /// Energy [J] the supplies deliver once, charging the neuron from 0 V at power-up (not per inference).
    public var powerUpEnergy: Double
    public var points: [Point]
    /// Electrode area [m²] (the card's), for energy per area.
    public var area: Double

    /// The points with spikes, by rate.
    public var firing: [Point] { points.filter { $0.dynamicPerSpike != nil }.sorted { $0.rate < $1.rate } }

    /// Dynamic energy per spike [J] at `rate` [Hz], linear between the measured rates and held at the ends.
    public func dynamicEnergy(atRate rate: Double) -> Double? { interpolate(atRate: rate) { $0.dynamicPerSpike! } }

    /// What the neuron's own supplies (reset, logic) add per spike [J] at `rate`: the dynamic energy less what the
    /// bench's input delivered into the membrane. An inference prices its input energy from its own currents and
    /// membrane instead (`InferenceEnergy.inputEnergy`), since a column's input is not the bench's constant current.
    public func supplyEnergy(atRate rate: Double) -> Double? {
        interpolate(atRate: rate) { $0.dynamicPerSpike! - ($0.suppliesPerSpike?[FeLIFEnergyProbes.inputLabel] ?? 0) }
    }

    func interpolate(atRate rate: Double, _ value: (Point) -> Double) -> Double? {
        let f = firing
        guard let first = f.first, let last = f.last else { return nil }
        if rate <= first.rate { return value(first) }
        if rate >= last.rate { return value(last) }
        let k = f.firstIndex { $0.rate >= rate }!
        let a = f[k - 1], b = f[k], w = (rate - a.rate) / (b.rate - a.rate)
        return value(a) + w * (value(b) - value(a))
    }

    /// Measures `parameters` at each constant current (with its window) and at rest.
    public static func measure(parameters: FeLIFParameters, currents: [(current: Double, duration: Double)], area: Double,
                               conditions: String, on pool: SpicePool, library: DeviceLibrary,
                               progress: ((String) -> Void)? = nil) async throws -> NeuronEnergy {
        guard !currents.isEmpty else { throw EnergyError("no f–I currents to measure the neuron at") }
        let rest = currents.map(\.duration).max()!
        let benches = [FeLIFEnergyBench(parameters: parameters, current: 0, duration: rest)]
            + currents.map { FeLIFEnergyBench(parameters: parameters, current: $0.current, duration: $0.duration) }
        var results: [FeLIFEnergyMeasurement] = []
        try await withThrowingTaskGroup(of: (Int, FeLIFEnergyMeasurement).self) { group in
            for (k, b) in benches.enumerated() { group.addTask { (k, try await b.run(on: pool, library: library)) } }
            var out = [FeLIFEnergyMeasurement?](repeating: nil, count: benches.count)
            for try await (k, m) in group {
                out[k] = m
                progress?(k == 0 ? "neuron at rest: \(m.spikes) spikes" : "neuron at \(m.current) A: \(m.spikes) spikes")
            }
            results = out.map { $0! }
        }
        let atRest = results[0]
        let staticPower = atRest.settledPower
        var points: [Point] = []
        for m in results.dropFirst() {
            var p = Point(current: m.current, duration: m.duration, spikes: m.spikes, supplied: m.supplies.total,
                          absorbed: m.sinks.total)
            if m.spikes > 0 {
                // What the same window would have cost at rest: the rest run, its settled power extended or cut
                // to this window's length.
                let n = Double(m.spikes), extra = m.duration - atRest.duration
                let restSupplies = atRest.supplies.adding(atRest.settledSupplies, scaledBy: extra)
                let restSinks = atRest.sinks.adding(atRest.settledSinks, scaledBy: extra)
                p.dynamicPerSpike = (m.supplies.total - restSupplies.total) / n
                p.partsPerSpike = m.sinks.adding(restSinks, scaledBy: -1).scaled(by: 1 / n)
                p.suppliesPerSpike = m.supplies.adding(restSupplies, scaledBy: -1).scaled(by: 1 / n)
            }
            points.append(p)
        }
        return NeuronEnergy(conditions: conditions, staticPower: staticPower, staticParts: atRest.settledSinks,
                            powerUpEnergy: atRest.powerUpEnergy, points: points, area: area)
    }
}

/// Why an energy figure cannot be computed.
public struct EnergyError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
