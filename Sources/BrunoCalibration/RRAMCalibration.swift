import BrunoDevices
import BrunoSpice
import BrunoSupport
import BrunoSurrogates
import Foundation

/// Per-level statistics of a Monte-Carlo programming experiment.
public struct RRAMLevelFit: Sendable, Equatable, Codable {
    public var level: Int
    public var samples: Int
    /// Mean read conductance [S] and its standard error.
    public var conductance: Double
    public var conductanceError: Double
    public var deviceSpread: Double
    public var cycleSpread: Double
    /// All measured conductances [S], device-major.
    public var values: [Double]
}

/// Calibrates the RRAM synapse surrogate from SPICE: every level is programmed on `devices` devices,
/// `cycles` times each (RESET, SET with the level's compliance, read), with the variability of the netlist's
/// factors drawn from `variability`; a one-way analysis of variance splits the spread into device-to-device
/// and cycle-to-cycle parts.
public struct RRAMCalibration: Sendable {
    public var programmer: RRAMProgrammer
    public var variability: RRAMVariability
    public var devices: Int
    public var cycles: Int
    /// Incremental programming with verify instead of one RESET + SET per programming.
    public var incremental: RRAMIncrementalProgramming?

    public init(programmer: RRAMProgrammer, variability: RRAMVariability, devices: Int, cycles: Int, incremental: RRAMIncrementalProgramming? = nil) {
        self.programmer = programmer
        self.variability = variability
        self.devices = devices
        self.cycles = cycles
        self.incremental = incremental
    }

    /// Pulses per programming and how many programmings ended outside the window (incremental programming).
    public struct ProgrammingStatistics: Sendable, Equatable, Codable {
        public var meanPulses: Double
        public var unverified: Int
        /// Programmings that ended outside the window, per level.
        public var unverifiedPerLevel: [Int] = []
    }

    /// Programs every (level, device, cycle) in SPICE, in parallel; a failed run is an error naming it.
    public func measure(on pool: SpicePool, deviceOffset: Int = 0, progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> [RRAMLevelFit] {
        try await measureWithStatistics(on: pool, deviceOffset: deviceOffset, progress: progress).levels
    }

    public func measureWithStatistics(on pool: SpicePool, deviceOffset: Int = 0, progress: (@Sendable (Int, Int) -> Void)? = nil) async throws
        -> (levels: [RRAMLevelFit], programming: ProgrammingStatistics?)
    {
        if let ispp = incremental {
            let cells = (0..<RRAMProgrammer.levels).flatMap { l in (0..<devices).flatMap { d in (0..<cycles).map { c in (l, d + deviceOffset, c) } } }
            let counter = AtomicCounter()
            // A programming is a sequence of dependent SPICE runs; keep two per instance in flight (one simulating, one
            // being prepared) so that programmings finish in order and the progress count means something — with
            // all of them started at once every one would finish near the end. Results do not depend on the order.
            let window = 2 * pool.count
            let outcomes = try await withThrowingTaskGroup(of: (Int, RRAMIncrementalProgramming.Outcome).self) { group in
                func start(_ i: Int) {
                    let cell = cells[i]
                    group.addTask {
                        do {
                            let o = try await ispp.program(level: cell.0, device: cell.1, firstCycle: cell.2 * ispp.maxPulses,
                                                           variability: self.variability, programmer: self.programmer, on: pool)
                            progress?(counter.increment(), cells.count)
                            return (i, o)
                        } catch let e as SpiceError {
                            throw CalibrationError.stimulusFailed(stimulus: "level \(cell.0), device \(cell.1), cycle \(cell.2)", reason: e.description)
                        }
                    }
                }
                var next = 0
                while next < min(window, cells.count) { start(next); next += 1 }
                var out = [RRAMIncrementalProgramming.Outcome?](repeating: nil, count: cells.count)
                for try await (i, o) in group {
                    out[i] = o
                    if next < cells.count { start(next); next += 1 }
                }
                return out.map { $0! }
            }
            var values = [[Double]](repeating: [], count: RRAMProgrammer.levels)
            for (cell, o) in zip(cells, outcomes) { values[cell.0].append(o.result.conductance) }
            var perLevel = [Int](repeating: 0, count: RRAMProgrammer.levels)
            for (cell, o) in zip(cells, outcomes) where !o.verified { perLevel[cell.0] += 1 }
            let stats = ProgrammingStatistics(meanPulses: Double(outcomes.map(\.pulses).reduce(0, +)) / Double(outcomes.count),
                                              unverified: outcomes.filter { !$0.verified }.count, unverifiedPerLevel: perLevel)
            return (values.enumerated().map { RRAMCalibration.analyse(level: $0.offset, values: $0.element, devices: devices, cycles: cycles) }, stats)
        }
        var jobs: [(Netlist, Analysis)] = []
        var labels: [(Int, Int, Int)] = []
        for level in 0..<RRAMProgrammer.levels {
            for d in 0..<devices {
                for c in 0..<cycles {
                    let device = d + deviceOffset
                    jobs.append((try programmer.netlist(level: level, device: variability.device(device), cycle: variability.cycle(device: device, cycle: c)), .netlist))
                    labels.append((level, device, c))
                }
            }
        }
        let results = await pool.simulateAll(jobs, progress: progress)
        var values = [[Double]](repeating: [], count: RRAMProgrammer.levels)
        for (label, result) in zip(labels, results) {
            switch result {
            case .failure(let e):
                throw CalibrationError.stimulusFailed(stimulus: "level \(label.0), device \(label.1), cycle \(label.2)", reason: e.description)
            case .success(let r):
                values[label.0].append(try programmer.result(r, level: label.0).conductance)
            }
        }
        return (values.enumerated().map { level, v in RRAMCalibration.analyse(level: level, values: v, devices: devices, cycles: cycles) }, nil)
    }

    /// One-way ANOVA with devices as groups: σ_c² = within-device variance, σ_d² = variance of device means − σ_c²/cycles.
    static func analyse(level: Int, values: [Double], devices: Int, cycles: Int) -> RRAMLevelFit {
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        var within = 0.0
        var deviceMeans: [Double] = []
        for d in 0..<devices {
            let group = values[(d * cycles)..<((d + 1) * cycles)]
            let m = group.reduce(0, +) / Double(cycles)
            deviceMeans.append(m)
            within += group.map { ($0 - m) * ($0 - m) }.reduce(0, +)
        }
        let cycleVar = cycles > 1 ? within / Double(devices * (cycles - 1)) : 0
        let betweenVar = devices > 1 ? deviceMeans.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(devices - 1) : 0
        let deviceVar = max(0, betweenVar - cycleVar / Double(cycles))
        let totalVar = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / max(n - 1, 1)
        return RRAMLevelFit(level: level, samples: values.count, conductance: mean, conductanceError: (totalVar / n).squareRoot(),
                            deviceSpread: deviceVar.squareRoot() / mean, cycleSpread: cycleVar.squareRoot() / mean, values: values)
    }

    /// V0 of the read nonlinearity, fitted to a DC sweep of the frozen read model at `gap` (I(V)/I(V_r) does not
    /// depend on the gap).
    public func readNonlinearity(on spice: SpiceInstance, library: DeviceLibrary) throws -> (v0: Double, error: Double?) {
        let deck = try Netlist(string: """
        RRAM read sweep (generated by Bruno)
        .include "\(library.model("rram.lib").path)"
        Vs a 0 DC 0
        XR a 0 rram_read gap=1.0
        .dc Vs 0.02 0.4 0.01
        .end
        """, name: "rram-read-sweep.cir")
        let r = try spice.simulate(deck)
        guard let v = r.mainPlot?.scale?.real, let i = r["i(vs)"]?.real.map({ -$0 }) else {
            throw CalibrationError.netlistShape("the read sweep produced no current vector")
        }
        let vr = programmer.readVoltage
        let ir = zip(v, i).min { abs($0.0 - vr) < abs($1.0 - vr) }!.1
        let fit = try LevenbergMarquardt().fit([FitParameter("nonlinearity", unit: "V", lower: 0.01, upper: 10)], initial: [0.3]) { p in
            zip(v, i).map { vv, ii in ii / ir - sinh(vv / p[0]) / sinh(vr / p[0]) }
        }
        return (fit.values[0], fit.standardErrors[0])
    }
}
