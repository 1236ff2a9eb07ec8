import BrunoCards
import BrunoDevices
import BrunoSpice
import BrunoSupport
import BrunoSurrogates
import Foundation

/// An RRAM calibration protocol (`calibration/rram.toml`).
public struct RRAMProtocol: Sendable {
    public var file: URL
    public var netlist: URL
    /// The protocol's read voltage; nil (the default) reads the netlist's `vread`.
    public var readVoltage: Double?
    public var variability: RRAMVariability
    /// Which of the variability's sigmas the protocol set itself (the netlist's `.param`s win over defaults only).
    public var variabilityGiven: Set<String> = []
    public var devices: Int
    public var cycles: Int
    public var heldOutDevices: Int
    public var heldOutSeed: UInt64
    /// Incremental programming with verify; nil for one RESET + SET per programming.
    public var incremental: RRAMIncrementalProgramming?

    public static func load(_ url: URL) throws -> RRAMProtocol {
        let file = url.path
        let root = try StrictTable(try StrictTable.parse(url), path: "top level", file: file, allowed: ["simulation", "variability", "monte_carlo", "programming"])
        guard let sim = try root.subtable("simulation", allowed: ["netlist", "read_voltage"]) else { throw ProtocolError(file: file, "missing [simulation] table") }
        let path = try sim.string("netlist")
        let netlist = StrictTable.resolve(path, relativeTo: url)
        let v = try root.subtable("variability", allowed: ["device_sigma", "device_gamma_sigma", "cycle_nu_sigma", "cycle_gamma_sigma", "seed"])
        let mc = try root.subtable("monte_carlo", allowed: ["devices", "cycles", "held_out_devices", "held_out_seed"])
        let variability = RRAMVariability(
            deviceSigma: try v?.double("device_sigma", default: 0.02) ?? 0.02, deviceGammaSigma: try v?.double("device_gamma_sigma", default: 0.01) ?? 0.01,
            cycleNuSigma: try v?.double("cycle_nu_sigma", default: 0.1) ?? 0.1, cycleGammaSigma: try v?.double("cycle_gamma_sigma", default: 0.01) ?? 0.01,
            seed: UInt64(try v?.int("seed", default: 1) ?? 1))
        let devices = try mc?.int("devices", default: 50) ?? 50, cycles = try mc?.int("cycles", default: 4) ?? 4
        guard devices >= 2, cycles >= 2 else { throw ProtocolError(file: file, "[monte_carlo] needs devices ≥ 2 and cycles ≥ 2 to separate device and cycle spreads") }
        var incremental: RRAMIncrementalProgramming?
        if let pr = try root.subtable("programming", allowed: ["method", "tolerance", "max_pulses", "start_fraction", "step_pulse"]) {
            switch try pr.string("method", default: "single") {
            case "single": break
            case "ispp":
                var ispp = RRAMIncrementalProgramming(tolerance: try pr.positive("tolerance", default: 0.05), maxPulses: try pr.int("max_pulses", default: 24))
                ispp.startFraction = try pr.positive("start_fraction", default: ispp.startFraction)
                ispp.stepPulse = try pr.positive("step_pulse", default: ispp.stepPulse)
                guard ispp.startFraction < 1 else { throw ProtocolError(file: file, "[programming] start_fraction must be below 1 (the first SET approaches the window from below)") }
                guard ispp.maxPulses >= 1 else { throw ProtocolError(file: file, "[programming] max_pulses must be at least 1") }
                incremental = ispp
            case let other:
                throw ProtocolError(file: file, "[programming] unknown method '\(other)'; expected single or ispp")
            }
        }
        let readVoltage = sim.table["read_voltage"] == nil ? nil : try sim.positive("read_voltage")
        var p = RRAMProtocol(file: url, netlist: netlist, readVoltage: readVoltage, variability: variability,
                             devices: devices, cycles: cycles, heldOutDevices: try mc?.int("held_out_devices", default: devices) ?? devices,
                             heldOutSeed: UInt64(try mc?.int("held_out_seed", default: 2) ?? 2), incremental: incremental)
        p.variabilityGiven = Set(["device_sigma", "device_gamma_sigma", "cycle_nu_sigma", "cycle_gamma_sigma"].filter { v?.table[$0] != nil })
        if p.heldOutSeed == p.variability.seed { throw ProtocolError(file: file, "[monte_carlo] held_out_seed must differ from [variability] seed") }
        return p
    }
}

/// The whole RRAM calibration as `bruno calibrate rram` runs it.
public struct RRAMCalibrationRun: Sendable {
    /// Variability a netlist may declare as top-level `.param`s (relative standard deviations); where it does,
    /// they replace the protocol's `[variability]` values.
    static var variabilityParameters: [
        (netlist: String, protocolKey: String, keyPath: WritableKeyPath<RRAMVariability, Double>)
    ] {
        [
            ("sigma_dev", "device_sigma", \.deviceSigma), ("sigma_dev_gamma", "device_gamma_sigma", \.deviceGammaSigma),
            ("sigma_cyc_nu", "cycle_nu_sigma", \.cycleNuSigma), ("sigma_cyc_gamma", "cycle_gamma_sigma", \.cycleGammaSigma),
        ]
    }

    public var protocolFile: RRAMProtocol
    public var netlistOverride: URL?

    public init(protocolFile: RRAMProtocol, netlistOverride: URL? = nil) {
        self.protocolFile = protocolFile
        self.netlistOverride = netlistOverride
    }

    public struct Outcome: Sendable {
        public var card: DeviceCard
        public var surrogate: RRAMSynapse
        public var fitted: [RRAMLevelFit]
        public var heldOut: [RRAMLevelFit]
    }

    /// Plans, programs every item on `pool` and merges, in this process (the same card as any sharded run).
    public func run(pool: SpicePool, library: DeviceLibrary, out: URL, log: @escaping @Sendable (String) -> Void) async throws -> Outcome {
        // One writer per output folder; temporaries of a killed earlier run are removed first.
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let lock = try RunFolderLock(out)
        defer { lock.release() }
        let stale = AtomicFile.removeStaleTemporaries(in: out)
        if stale > 0 { log("removed \(stale) temporary file(s) left by an interrupted write") }
        let plan = try RRAMCalibrationJob.plan(protocolFile, netlistOverride: netlistOverride, library: library, out: out,
                                               spice: pool.instances[0], log: log)
        log("programming 8 levels × \(plan.devices) devices × \(plan.cycles) cycles = \(8 * plan.devices * plan.cycles) programmings "
            + "(\(plan.incremental == nil ? "one RESET + SET each" : "incremental pulses with verify")), and \(8 * plan.heldOutDevices * plan.cycles) "
            + "on held-out devices (seed \(plan.heldOutSeed)), on \(pool.count) ngspice instance(s)…")
        let t0 = Date()
        let total = plan.itemCount
        let step = max(1, total / 10)
        let results = try await RRAMCalibrationJob.program(0..<total, of: plan, on: pool) { done, all in
            if done % step == 0 || done == all { log("  programmed \(done)/\(all)") }
        }
        log(String(format: "done in %.0f s", Date().timeIntervalSince(t0)))
        return try RRAMCalibrationJob.merge(plan, results: results, log: log)
    }

    static func totalSpread(_ f: RRAMLevelFit) -> Double {
        let m = f.conductance
        return (f.values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(max(f.values.count - 1, 1))).squareRoot() / m
    }

    /// Sampling variance of the relative standard deviation of `f.values`: Var(s)/s² ≈ (κ − 1)/(4n).
    static func spreadSamplingVariance(_ f: RRAMLevelFit) -> Double {
        let n = Double(f.values.count), m = f.values.reduce(0, +) / n
        let m2 = f.values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / n
        let m4 = f.values.map { let d = ($0 - m) * ($0 - m); return d * d }.reduce(0, +) / n
        guard m2 > 0 else { return 0 }
        return max(m4 / (m2 * m2) - 1, 0) / (4 * n)
    }

    /// A histogram as a step curve over [lo, hi) (values outside go to the end bins); counts, or fractions of all
    /// values with `normalise`; empty bins away from occupied ones are left out unless `allBins`.
    static func stepHistogram(_ values: [Double], lo: Double, hi: Double, bins: Int, normalise: Bool = false, allBins: Bool = false) -> (x: [Double], y: [Double]) {
        let width = (hi - lo) / Double(bins)
        var counts = [Double](repeating: 0, count: bins)
        for v in values where v.isFinite { counts[min(bins - 1, max(0, Int((v - lo) / width)))] += 1 }
        let scale = normalise && !values.isEmpty ? 1 / Double(values.count) : 1
        var x: [Double] = [], y: [Double] = []
        for b in 0..<bins where allBins || counts[b] > 0 || (b > 0 && counts[b - 1] > 0) {
            x.append(lo + Double(b) * width); y.append(counts[b] * scale)
            x.append(lo + Double(b + 1) * width); y.append(counts[b] * scale)
        }
        return (x, y)
    }

    /// Two-sample Kolmogorov–Smirnov test: the largest distance D between the two empirical distribution
    /// functions and its asymptotic p-value (Stephens' small-sample correction). It compares the shape of the
    /// fitted and held-out distributions, which one spread cannot; it treats programmings as independent, which
    /// holds here because the device-to-device part is small next to the cycle-to-cycle part at levels 1–7.
    static func kolmogorovSmirnov(_ a: [Double], _ b: [Double]) -> (d: Double, p: Double) {
        let x = a.sorted(), y = b.sorted()
        var i = 0, j = 0, d = 0.0
        while i < x.count && j < y.count {
            let v = min(x[i], y[j])
            while i < x.count && x[i] <= v { i += 1 }
            while j < y.count && y[j] <= v { j += 1 }
            d = max(d, abs(Double(i) / Double(x.count) - Double(j) / Double(y.count)))
        }
        let ne = Double(x.count * y.count) / Double(x.count + y.count)
        let lambda = (ne.squareRoot() + 0.12 + 0.11 / ne.squareRoot()) * d
        guard lambda > 0.3 else { return (d, 1) }   // the series below converges slowly there; Q(0.3) = 1 − 1e-5
        var q = 0.0
        for k in 1...100 {
            let term = exp(-2 * Double(k * k) * lambda * lambda)
            q += (k % 2 == 1 ? 2 : -2) * term
            if term < 1e-12 { break }
        }
        return (d, min(1, max(0, q)))
    }

    static func report(surrogate: RRAMSynapse, fitted: [RRAMLevelFit], heldOut: [RRAMLevelFit], card: DeviceCard, to folder: URL) throws {
        var md = "# RRAM calibration report\n\n"
        md += "Netlist `\(card.provenance.netlist)` (SHA-256 `\(card.provenance.netlistSHA256.prefix(16))…`), \(card.provenance.ngspice), protocol `\(card.provenance.protocolFile)`, \(card.provenance.date). "
        md += "Read nonlinearity V0 = \(String(format: "%.4f", surrogate.nonlinearity)) V.\n\n"
        md += "| level | G (µS) | ± | device spread | cycle spread | held-out G (µS) | mean error | ± sampling | spread fit / held out | spread error | ± sampling | KS D (p) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        for (f, h) in zip(fitted, heldOut) {
            let s = surrogate.levels[f.level].totalSpread, hs = totalSpread(h)
            // Relative standard error of a standard deviation from n samples, ½·√((κ − 1)/n) with each set's own
            // kurtosis κ (ISPP's window-truncated levels with restart outliers are not Gaussian, κ ≠ 3); two sets.
            let sampling = (spreadSamplingVariance(f) + spreadSamplingVariance(h)).squareRoot()
            let meanSampling = (f.conductanceError * f.conductanceError + h.conductanceError * h.conductanceError).squareRoot() / h.conductance
            let ks = kolmogorovSmirnov(f.values, h.values)
            md += String(format: "| %d | %.2f | %.2f | %.2f %% | %.2f %% | %.2f | %.2f %% | %.2f %% | %.2f %% / %.2f %% | %.1f %% | %.1f %% | %.3f (%.2f) |\n",
                         f.level, f.conductance * 1e6, f.conductanceError * 1e6, f.deviceSpread * 100, f.cycleSpread * 100, h.conductance * 1e6,
                         abs(f.conductance - h.conductance) / h.conductance * 100, meanSampling * 100, s * 100, hs * 100, abs(s - hs) / hs * 100, sampling * 100,
                         ks.d, ks.p)
        }
        if let ispp = (try? RRAMIncrementalProgramming(recipeOf: card)) ?? nil {
            md += String(format: "\nProgramming: ISPP, first SET at %.0f %% of the level's compliance, then SET pulses of %.2g–%.2g µs from below until the read is within ±%.0f %% of the target; %.2f pulses per programming on average, %.0f of %d programmings unverified.\n\n",
                         ispp.startFraction * 100, ispp.stepPulse * 1e6, 8 * ispp.stepPulse * 1e6, ispp.tolerance * 100,
                         card.statistics["ispp_mean_pulses"] ?? .nan, card.statistics["ispp_unverified"] ?? .nan, fitted.map(\.samples).reduce(0, +))
        }
        md += "\nThe ± sampling columns are the standard errors expected from sampling alone when comparing two independent sets of this size (for the spread, from each set's own kurtosis): a difference smaller than about twice that is not evidence of model error. KS: the two-sample Kolmogorov–Smirnov distance between the fitted and held-out distributions and its p-value (a small p says the shapes differ). Every programmed conductance is in `rram-samples.csv` (device-major: sample = device × programmings + programming).\n\n![level histograms](rram-levels.svg)\n\n![level shapes, fitted vs held out](rram-level-shapes.svg)\n"
        var rows: [[Double]] = []
        for (set, fits) in [(0.0, fitted), (1.0, heldOut)] {
            for f in fits {
                for (i, v) in f.values.enumerated() { rows.append([set, Double(f.level), Double(i), v]) }
            }
        }
        let table = Table(columns: [.init(name: "held_out", values: rows.map { $0[0] }), .init(name: "level", values: rows.map { $0[1] }),
                                    .init(name: "sample", values: rows.map { $0[2] }), .init(name: "conductance", unit: "S", values: rows.map { $0[3] })])
        try AtomicFile.write(table.csv(), to: folder.appendingPathComponent("rram-samples.csv"))
        // Histograms of every level's conductance, as step curves: where the levels sit.
        let all = fitted.flatMap(\.values)
        let lo = all.min() ?? 0, hi = all.max() ?? 1, bins = 120
        var series: [SVGPlot.Series] = []
        for f in fitted {
            let h = stepHistogram(f.values, lo: lo, hi: hi, bins: bins)
            series.append(.init(label: "level \(f.level)", x: h.x.map { $0 * 1e6 }, y: h.y))
        }
        // Level 0 (the high-resistance state) is a narrow peak: its own panel keeps the others readable.
        try AtomicFile.write(SVGPlot(title: "Programmed read conductance per level (SPICE Monte Carlo)", xLabel: "conductance at read voltage [µS]",
                                     panels: [.init(yLabel: "count (level 0)", series: Array(series.prefix(1))),
                                              .init(yLabel: "count (levels 1–7)", series: Array(series.dropFirst()))]).render(),
                             to: folder.appendingPathComponent("rram-levels.svg"))
        // The shape of each level, fitted set against held-out set, on one axis: the deviation from the level's fitted
        // mean in units of its fitted spread (the levels are 0.5–15 % wide, so a common % axis would hide most).
        var shapes: [SVGPlot.Panel] = []
        for (f, h) in zip(fitted, heldOut) {
            let sigma = surrogate.levels[f.level].totalSpread * f.conductance
            guard sigma > 0 else { continue }
            let z = { (v: [Double]) in v.map { ($0 - f.conductance) / sigma } }
            let a = stepHistogram(z(f.values), lo: -4, hi: 4, bins: 32, normalise: true, allBins: true)
            let b = stepHistogram(z(h.values), lo: -4, hi: 4, bins: 32, normalise: true, allBins: true)
            let color = SVGPlot.palette[f.level % SVGPlot.palette.count]
            shapes.append(.init(yLabel: String(format: "level %d (σ %.2f %%)", f.level, surrogate.levels[f.level].totalSpread * 100),
                                series: [.init(label: "fitted set", x: a.x, y: a.y.map { $0 * 100 }, color: color),
                                         .init(label: "held-out set", x: b.x, y: b.y.map { $0 * 100 }, color: color, dashed: true)]))
        }
        var shapePlot = SVGPlot(title: "Programmed conductance per level: fitted vs held-out set (% of the set per bin of σ/4)",
                                xLabel: "deviation from the level's fitted mean [fitted σ]", panels: shapes)
        shapePlot.panelHeight = 120
        try AtomicFile.write(shapePlot.render(), to: folder.appendingPathComponent("rram-level-shapes.svg"))
        try AtomicFile.write(md, to: folder.appendingPathComponent("rram-report.md"))
    }
}

extension RRAMIncrementalProgramming {
    /// The programming recipe an RRAM card was calibrated with (its `ispp_*` statistics); the defaults where a card
    /// predates a field. Nil for a card calibrated with one RESET + SET per programming.
    public init?(recipeOf card: DeviceCard) throws {
        try card.requireDevice("rram")
        guard let tolerance = card.statistics["ispp_tolerance"] else { return nil }
        self.init(tolerance: tolerance, maxPulses: card.statistics["ispp_max_pulses"].map { Int($0) } ?? RRAMIncrementalProgramming().maxPulses)
        if let f = card.statistics["ispp_start_fraction"] { startFraction = f }
        if let t = card.statistics["ispp_step_pulse"] { stepPulse = t }
    }
}
