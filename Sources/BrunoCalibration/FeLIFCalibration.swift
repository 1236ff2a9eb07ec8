import BrunoCards
import BrunoDevices
import BrunoSpice
import BrunoSupport
import BrunoSurrogates
import Foundation

/// A surrogate quantity calibration may fit, with its unit and default bounds.
public enum FeLIFFitQuantity: String, Sendable, Codable, CaseIterable {
    case saturationPolarization, activationField, alpha, tau0, parasiticCapacitance, dischargeCurrent
    case leakCurrentDensity, leakVoltage, threshold, resetVoltage, deadTime, resetPolarization

    public var parameter: FitParameter {
        switch self {
        case .saturationPolarization: FitParameter(rawValue, unit: "C/m^2", lower: 0.02, upper: 0.6)
        case .activationField: FitParameter(rawValue, unit: "V/m", lower: 3e8, upper: 4e9)
        case .alpha: FitParameter(rawValue, unit: "1", lower: 0.6, upper: 3, logScale: false)
        case .tau0: FitParameter(rawValue, unit: "s", lower: 1e-16, upper: 1e-8)
        case .parasiticCapacitance: FitParameter(rawValue, unit: "F", lower: 1e-17, upper: 1e-12)
        case .dischargeCurrent: FitParameter(rawValue, unit: "A", lower: 1e-14, upper: 1e-9)
        case .leakCurrentDensity: FitParameter(rawValue, unit: "A/m^2", lower: 1e-9, upper: 10)
        case .leakVoltage: FitParameter(rawValue, unit: "V", lower: 0.03, upper: 3)
        case .threshold: FitParameter(rawValue, unit: "V", lower: 0.5, upper: 6, logScale: false)
        case .resetVoltage: FitParameter(rawValue, unit: "V", lower: -5, upper: 0.5, logScale: false)
        case .deadTime: FitParameter(rawValue, unit: "s", lower: 1e-8, upper: 1e-3)
        // −1 (complete re-polarization) is the physical limit, not a failed fit.
        case .resetPolarization: FitParameter(rawValue, unit: "1", lower: -1, upper: -0.3, logScale: false)
        }
    }

    func get(_ s: FeLIFTraceSimulation) -> Double {
        switch self {
        case .saturationPolarization: s.surrogate.saturationPolarization
        case .activationField: s.surrogate.activationField
        case .alpha: s.surrogate.alpha
        case .tau0: s.surrogate.tau0
        case .parasiticCapacitance: s.surrogate.parasiticCapacitance
        case .dischargeCurrent: s.surrogate.dischargeCurrent
        case .leakCurrentDensity: s.surrogate.leakCurrentDensity
        case .leakVoltage: s.surrogate.leakVoltage
        case .threshold: s.surrogate.threshold
        case .resetVoltage: s.surrogate.resetVoltage
        case .deadTime: s.deadTime
        case .resetPolarization: s.surrogate.resetPolarization
        }
    }

    func set(_ s: inout FeLIFTraceSimulation, _ x: Double) {
        switch self {
        case .saturationPolarization: s.surrogate.saturationPolarization = x
        case .activationField: s.surrogate.activationField = x
        case .alpha: s.surrogate.alpha = x
        case .tau0: s.surrogate.tau0 = x
        case .parasiticCapacitance: s.surrogate.parasiticCapacitance = x
        case .dischargeCurrent: s.surrogate.dischargeCurrent = x
        case .leakCurrentDensity: s.surrogate.leakCurrentDensity = x
        case .leakVoltage: s.surrogate.leakVoltage = x
        case .threshold: s.surrogate.threshold = x
        case .resetVoltage: s.surrogate.resetVoltage = x
        case .deadTime: s.deadTime = x
        case .resetPolarization: s.surrogate.resetPolarization = x
        }
    }
}

/// What SPICE did under one stimulus, on the calibration's sample grid.
public struct FeLIFReference: Sendable, Equatable, Codable {
    public var stimulus: FeLIFStimulus
    /// Membrane voltage [V] at t = k·sampleInterval.
    public var membrane: [Double]
    public var spikes: [Double]
}

/// Fits the continuous-time FeLIF surrogate to SPICE transients of a neuron netlist.
public struct FeLIFCalibration: Sendable {
    public var netlist: Netlist
    public var stimuli: [FeLIFStimulus]
    public var quantities: [FeLIFFitQuantity]
    /// Starting point (and the value of everything not fitted).
    public var start: FeLIFTraceSimulation
    /// Membrane samples spacing [s].
    public var sampleInterval = 1e-4
    /// ngspice's largest time step [s] (see `FeLIFStimulus.deck(from:maxStep:)`).
    public var maxStep = FeLIFStimulus.defaultMaxStep
    /// Membrane residuals are divided by this [V].
    public var voltageScale = 1.0
    /// Spike-time residuals are divided by this [s]: 1 ms of spike-time error weighs like 1 V of membrane error
    /// at one sample, times `spikeWeight`.
    public var spikeTimeScale = 1e-3
    public var spikeWeight = 3.0
    /// Membrane samples this long after a SPICE spike are not compared: the circuit's reset pulse (vpol, then
    /// vreset) is not part of the surrogate, which holds V_reset for its dead time [s].
    public var resetWindow = 50e-6
    /// The netlist's own values (recorded in the card with their places); `start` should already hold them.
    public var netlistParameters: FeLIFNetlistParameters?

    public init(netlist: Netlist, stimuli: [FeLIFStimulus], quantities: [FeLIFFitQuantity], start: FeLIFTraceSimulation = FeLIFTraceSimulation()) {
        self.netlist = netlist
        self.stimuli = stimuli
        self.quantities = quantities
        self.start = start
    }

    /// Simulates every stimulus in SPICE, in parallel; a failed stimulus is an error naming it.
    public func references(on pool: SpicePool, progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> [FeLIFReference] {
        let decks = try stimuli.map { try $0.deck(from: netlist, maxStep: maxStep) }
        let results = await pool.simulateAll(decks.map { ($0, Analysis.netlist) }, progress: progress)
        var out: [FeLIFReference] = []
        for (stimulus, result) in zip(stimuli, results) {
            switch result {
            case .failure(let e):
                throw CalibrationError.stimulusFailed(stimulus: stimulus.name, reason: e.description)
            case .success(let r):
                guard let t = r["time"]?.real, let v = r["v(mem)"]?.real, r["v(spk)"] != nil else {
                    throw CalibrationError.netlistShape("\(netlist.name) does not produce v(mem) and v(spk) (name the membrane node `mem` and the spike output `spk`, and .save them)")
                }
                let trace = try NeuronTrace(r)
                out.append(FeLIFReference(stimulus: stimulus, membrane: FeLIFCalibration.resample(t, v, interval: sampleInterval, duration: stimulus.duration),
                                          spikes: trace.spikeTimes))
            }
        }
        return out
    }

    /// Linear interpolation of (t, v) at k·interval, k = 0…duration/interval.
    static func resample(_ t: [Double], _ v: [Double], interval: Double, duration: Double) -> [Double] {
        let n = Int((duration / interval).rounded())
        return Resample.linear(x: t, y: v, at: (0...n).map { Double($0) * interval })
    }

    func simulation(_ values: [Double]) -> FeLIFTraceSimulation {
        var s = start
        s.sampleInterval = sampleInterval
        for (q, x) in zip(quantities, values) { q.set(&s, x) }
        return s
    }

    /// Residuals of one stimulus: one per membrane sample, then one per SPICE spike, then one for extra spikes.
    ///
    /// Membranes are compared segment by segment, each inter-spike segment aligned on its preceding spike:
    /// comparing at fixed times would make the cost jump whenever a reset moves across a sample, a landscape
    /// with no useful gradient. The timing itself is carried by the spike-time residuals. Samples past either
    /// model's next spike, or inside the circuit's reset pulse, count as zero (the residual count is fixed).
    func residuals(_ sim: FeLIFTraceSimulation, _ ref: FeLIFReference) -> [Double] {
        var fine = sim
        fine.sampleInterval = sim.step
        let trace = fine.run(currents: ref.stimulus.currents, window: ref.stimulus.window, duration: ref.stimulus.duration)
        let surrogateAt = { (t: Double) -> Double in
            let x = t / fine.step
            let k = min(max(Int(x), 0), trace.membrane.count - 2)
            let f = min(max(x - Double(k), 0), 1)
            return trace.membrane[k] + f * (trace.membrane[k + 1] - trace.membrane[k])
        }
        var r: [Double] = []
        r.reserveCapacity(ref.membrane.count + ref.spikes.count + 1)
        var segment = 0
        for (k, v) in ref.membrane.enumerated() {
            let t = Double(k) * sampleInterval
            while segment < ref.spikes.count && ref.spikes[segment] <= t { segment += 1 }
            var shift = 0.0
            if segment > 0 {
                guard segment - 1 < trace.spikes.count else { r.append((surrogateAt(t) - v) / voltageScale); continue }
                if t - ref.spikes[segment - 1] < resetWindow { r.append(0); continue }
                shift = trace.spikes[segment - 1] - ref.spikes[segment - 1]
            }
            let ts = t + shift
            let beyond = ts < 0 || ts > ref.stimulus.duration || (segment < trace.spikes.count && ts >= trace.spikes[segment])
            r.append(beyond ? 0 : (surrogateAt(ts) - v) / voltageScale)
        }
        let w = spikeWeight / spikeTimeScale
        for (i, t) in ref.spikes.enumerated() {
            // A missing spike counts as if it came at the end of the stimulus.
            r.append(w * ((i < trace.spikes.count ? trace.spikes[i] : ref.stimulus.duration) - t))
        }
        r.append(w * trace.spikes.dropFirst(ref.spikes.count).map { ref.stimulus.duration - $0 }.reduce(0, +))
        return r
    }

    /// `fit`, then, while two fitted quantities are more correlated than `maxCorrelation` (the stimuli cannot
    /// separate them, e.g. area·Ps), fixes one of them at the netlist's value and fits again. Which one: the one
    /// the netlist sets; of two, the later in the protocol's list. Each such finding is a note of the result.
    public func fitIdentifiable(_ references: [FeLIFReference], optimizer: LevenbergMarquardt, maxCorrelation: Double)
        throws -> FeLIFCalibrationResult
    {
        var current = self
        var notes: [String] = []
        while true {
            var result = try current.fit(references, optimizer: optimizer)
            let q = current.quantities, n = q.count
            var worst: (Int, Int, Double)?
            for i in 0..<n {
                for j in (i + 1)..<n {
                    guard let r = result.fit.correlation[i * n + j], abs(r) > maxCorrelation else { continue }
                    if worst == nil || abs(r) > abs(worst!.2) { worst = (i, j, r) }
                }
            }
            var drop: Int?
            if let (i, j, r) = worst {
                let pair = "\(q[i].rawValue) and \(q[j].rawValue) are not separable by these stimuli (correlation "
                    + String(format: "%.3f", r) + ")"
                drop = [j, i].first { netlistParameters?.readings[q[$0].rawValue] != nil }
                notes.append(pair + (drop.map { "; \(q[$0].rawValue) is fixed at the netlist's value and the rest refitted" }
                    ?? "; neither has a counterpart in the netlist, so both stay fitted (their errors are large)"))
            }
            // Done unless one quantity is fixed and some are left to fit.
            guard let drop, n > 1 else {
                result.notes = notes + result.notes
                return result
            }
            current.quantities.remove(at: drop)
        }
    }

    public func fit(_ references: [FeLIFReference], optimizer: LevenbergMarquardt = LevenbergMarquardt(maxIterations: 60)) throws -> FeLIFCalibrationResult {
        let fitted = references.filter { !$0.stimulus.heldOut }
        guard !fitted.isEmpty else { throw CalibrationError.invalidParameter("every stimulus is held out; nothing to fit") }
        let me = self
        let result = try optimizer.fit(quantities.map(\.parameter), initial: quantities.map { $0.get(start) }) { values in
            let sim = me.simulation(values)
            return fitted.flatMap { me.residuals(sim, $0) }
        }
        let sim = simulation(result.values)
        let perStimulus = references.map { ref -> FeLIFStimulusFit in
            let trace = sim.run(currents: ref.stimulus.currents, window: ref.stimulus.window, duration: ref.stimulus.duration)
            let n = min(trace.membrane.count, ref.membrane.count)
            // Excluded: from the earlier of two corresponding spikes to the later one plus the reset window; after
            // an unpaired spike, everything (the spike counts then differ, which the spike lists show).
            var excluded: [(Double, Double)] = []
            for i in 0..<max(ref.spikes.count, trace.spikes.count) {
                if i < ref.spikes.count && i < trace.spikes.count {
                    excluded.append((min(ref.spikes[i], trace.spikes[i]), max(ref.spikes[i], trace.spikes[i]) + 2 * resetWindow))
                } else {
                    excluded.append(((i < ref.spikes.count ? ref.spikes[i] : trace.spikes[i]), .infinity))
                }
            }
            var kept = 0.0, sum = 0.0, sumAll = 0.0
            var keptValues: [Double] = []
            for k in 0..<n {
                let e2 = pow(trace.membrane[k] - ref.membrane[k], 2)
                sumAll += e2
                let t = Double(k) * sampleInterval
                if !excluded.contains(where: { t >= $0.0 && t <= $0.1 }) { sum += e2; kept += 1; keptValues.append(ref.membrane[k]) }
            }
            let meanKept = keptValues.reduce(0, +) / Double(max(keptValues.count, 1))
            let total = keptValues.map { ($0 - meanKept) * ($0 - meanKept) }.reduce(0, +)
            func rate(_ spikes: [Double]) -> Double? { spikes.count >= 2 ? Double(spikes.count - 1) / (spikes.last! - spikes.first!) : nil }
            var rateError: Double?
            if ref.stimulus.currents.count == 1, let a = rate(trace.spikes), let b = rate(ref.spikes) { rateError = abs(a - b) / b }
            let range = max((ref.membrane.max() ?? 0) - (ref.membrane.min() ?? 0), 1e-12)
            let firstError = ref.spikes.first.map { t in abs((trace.spikes.first ?? ref.stimulus.duration) - t) / t }
            return FeLIFStimulusFit(name: ref.stimulus.name, heldOut: ref.stimulus.heldOut, nrmse: (sum / max(kept, 1)).squareRoot() / range,
                                    rawNRMSE: (sumAll / Double(max(n, 1))).squareRoot() / range,
                                    spiceSpikes: ref.spikes, surrogateSpikes: trace.spikes, firstSpikeError: firstError,
                                    rSquared: total > 0 ? 1 - sum / total : 1, rateError: rateError)
        }
        return FeLIFCalibrationResult(fit: result, simulation: sim, stimuli: perStimulus, netlistParameters: netlistParameters)
    }
}

/// A fitted FeLIF surrogate and how well it does.
public struct FeLIFCalibrationResult: Sendable {
    public var fit: FitResult
    public var simulation: FeLIFTraceSimulation
    public var stimuli: [FeLIFStimulusFit]
    /// What the netlist set (nil when the calibration was given its start by hand).
    public var netlistParameters: FeLIFNetlistParameters?
    /// Findings for the report (identifiability, quantities fixed from the netlist, the quality gate).
    public var notes: [String] = []

    public var surrogate: FeLIFSurrogate { simulation.surrogate }
    public var heldOutNRMSE: Double { stimuli.filter(\.heldOut).map(\.nrmse).max() ?? .nan }
    public var fittedNRMSE: Double { stimuli.filter { !$0.heldOut }.map(\.nrmse).max() ?? .nan }
    public var worstFirstSpikeError: Double { stimuli.compactMap(\.firstSpikeError).max() ?? 0 }
}
