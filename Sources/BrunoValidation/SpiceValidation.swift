import BrunoData
import BrunoDevices
import BrunoSpice
import BrunoSupport
import BrunoTraining
import Foundation

/// Agreement of one column between the surrogate and ngspice.
public struct ColumnAgreement: Codable, Sendable, Equatable {
    public var sample: Int
    public var column: Int
    public var synapses: Int
    public var surrogateCount: Int
    public var spiceCount: Int?
    /// First spike [s]: the surrogate's at the middle of its spiking step.
    public var surrogateFirstSpike: Double?
    public var spiceFirstSpike: Double?
    /// van Rossum distance (τ = 10 ms; one unmatched spike gives ≈ 0.71).
    public var vanRossum: Double?
    /// Membrane NRMSE at the ends of the coarse steps, away from spikes (steps within one of a spike in either
    /// trace are left out: the surrogate holds a crossing neuron above threshold until the next step, the
    /// circuit resets at once), normalised by the circuit's membrane range (at least 0.5 V).
    public var traceNRMSE: Double?
    /// Why the deck failed (then the numbers above are nil).
    public var failure: String?
    /// The synaptic current into the neuron in each coarse step [A] (what the deck applies; recalibration's stimuli).
    public var inputCurrents: [Double]?
}

/// One validation: per-column agreement and the summary figures written into `metrics.jsonl`.
public struct ValidationReport: Codable, Sendable {
    public var epoch: Int
    public var layer: Int
    public var samples: Int
    public var columns: [ColumnAgreement]
    public var failedDecks: Int
    /// Fraction of samples whose predicted class is the same with SPICE counts (output layer only).
    public var classAgreement: Double?
    public var meanSpikeCountError: Double?
    public var fractionWithinOneSpike: Double?
    public var meanFirstSpikeError: Double?
    public var meanVanRossum: Double?
    public var meanTraceNRMSE: Double?
    public var seconds: Double
    public var passed: Bool
    public var warnings: [String]
    /// Layers before the validated one that ran on their trained model only (no circuit), one line each.
    public var layersWithoutCircuit: [String]?
    /// The class decision compared (`ClassReadout.name`; output layer only).
    public var readout: String?
    /// Per judged sample, the surrogate's winning logit minus the runner-up's: how far the circuit may differ
    /// before the decision flips (spike counts: whole spikes; membrane readouts: often fractions of a logit).
    public var decisionMargins: [Double]?
    /// Thresholds that failed by name (`class_agreement`, `spike_count_error`, `trace_nrmse`, `failed_decks`).
    public var failing: [String] = []

    /// The figures as a flat dictionary (metrics.jsonl's `validation` object).
    public var summary: [String: Double] {
        var d: [String: Double] = ["samples": Double(samples), "columns": Double(columns.count), "failed_decks": Double(failedDecks),
                                   "seconds": seconds, "passed": passed ? 1 : 0]
        if let x = classAgreement { d["class_agreement"] = x }
        if let x = meanSpikeCountError { d["spike_count_error"] = x }
        if let x = fractionWithinOneSpike { d["within_one_spike"] = x }
        if let x = meanFirstSpikeError { d["first_spike_error_s"] = x }
        if let x = meanVanRossum { d["van_rossum"] = x }
        if let x = meanTraceNRMSE { d["trace_nrmse"] = x }
        return d
    }
}

/// SPICE-in-the-loop validation of a trained network: builds one deck per (sample, column), simulates them in
/// parallel ngspice instances, compares with the surrogate and writes an SVG overlay.
public struct SpiceValidation: Sendable {
    public var settings: ValidationSettings
    public var library: DeviceLibrary

    public init(settings: ValidationSettings, library: DeviceLibrary) {
        self.settings = settings
        self.library = library
    }

    /// Validates `network` on the evaluation `chip` with the first `settings.samples` samples of `set`.
    /// `readout` is the class decision the network was trained to make: the circuit's decision is computed the
    /// same way from its spike counts and (membrane readouts) its simulated membrane.
    public func run(network: Network, chip: [Int: RealisedWeights], set: SequenceDataset, epoch: Int, pool: SpicePool,
                    readout: ClassReadout = .spikeCount, plot: URL?, log: @escaping @Sendable (String) -> Void) async throws -> ValidationReport {
        let t0 = Date()
        let l = try network.validationLayer(settings.layer)
        let outputLayer = l == network.layers.count - 1
        var cases: [ColumnCase] = []
        var surrogates: [SurrogateColumns] = []
        // The first samples whose columns receive input spikes (a silent sample, e.g. Braille's space, checks nothing).
        var used: [Int] = []
        for s in set.samples.indices where used.count < settings.samples {
            let sample = set.samples[s]
            let (c, surrogate) = try ColumnBuilder.cases(network: network, layer: l, chip: chip, x: sample.values, steps: sample.steps, sample: s,
                                                      label: sample.label, columns: settings.columns, seed: settings.seed)
            guard c.contains(where: { $0.synapsesInDeck > 0 }) else { continue }
            cases += c
            surrogates.append(surrogate)
            used.append(s)
        }
        let m = used.count
        guard m > 0 else { throw ValidationSetupError("no sample of the \(set.count) in \(set.name) drives layer \(l): nothing to validate") }
        var jobs: [(Netlist, Analysis)] = []
        var buildFailures: [Int: String] = [:]
        for (k, c) in cases.enumerated() {
            do { jobs.append((try c.circuit.netlist(library: library), .netlist)) } catch {
                buildFailures[k] = "\(error)"
                jobs.append((try Netlist(string: "failed deck\n.end\n", name: "failed.cir"), .netlist))
            }
        }
        log("validation: \(cases.count) deck(s) (\(m) sample(s), layer \(l), \(cases.map(\.synapsesInDeck).reduce(0, +)) synapses) on \(pool.count) ngspice instance(s)…")
        let results = await pool.simulateAll(jobs) { done, all in log("  SPICE deck \(done)/\(all) done") }
        var columns: [ColumnAgreement] = []
        var traces: [(ColumnCase, NeuronTrace)] = []
        // The circuit's end-of-step membrane per simulated (sample, column), for membrane readouts.
        var spiceMembrane: [Int: [Int: [Double]]] = [:]
        for (k, (c, r)) in zip(cases, results).enumerated() {
            var a = ColumnAgreement(sample: c.sample, column: c.column, synapses: c.synapsesInDeck, surrogateCount: c.surrogateSpikes.count,
                                    surrogateFirstSpike: c.surrogateSpikes.first.map { (Double($0) + 0.5) * c.coarseStep })
            a.inputCurrents = c.stepCurrents
            if let f = buildFailures[k] {
                a.failure = f
            } else {
                switch r {
                case .failure(let e): a.failure = e.description
                case .success(let result):
                    do {
                        let trace = try NeuronTrace(result)
                        let spikes = trace.spikeTimes
                        a.spiceCount = spikes.count
                        a.spiceFirstSpike = spikes.first
                        a.vanRossum = Agreement.vanRossum(spikes, c.surrogateSpikes.map { (Double($0) + 0.5) * c.coarseStep }, tau: 10e-3)
                        a.traceNRMSE = Agreement.traceNRMSE(surrogate: c.surrogateMembrane, spice: trace, step: c.coarseStep,
                                                            surrogateSpikes: c.surrogateSpikes, spiceSpikes: spikes)
                        traces.append((c, trace))
                        spiceMembrane[c.sample, default: [:]][c.column] = (0..<c.surrogateMembrane.count).map {
                            trace.membrane(at: Double($0 + 1) * c.coarseStep)
                        }
                    } catch {
                        a.failure = "\(error)"
                    }
                }
            }
            if let f = a.failure { log("  deck for sample \(c.sample), column \(c.column) failed: \(f)") }
            columns.append(a)
        }
        let ok = columns.filter { $0.failure == nil }
        func mean(_ xs: [Double]) -> Double? { xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count) }
        var report = ValidationReport(
            epoch: epoch, layer: l, samples: m, columns: columns, failedDecks: columns.count - ok.count, classAgreement: nil,
            meanSpikeCountError: mean(ok.map { Double(abs($0.spiceCount! - $0.surrogateCount)) }),
            fractionWithinOneSpike: mean(ok.map { abs($0.spiceCount! - $0.surrogateCount) <= 1 ? 1 : 0 }),
            meanFirstSpikeError: mean(ok.compactMap { a in a.spiceFirstSpike.flatMap { s in a.surrogateFirstSpike.map { abs(s - $0) } } }),
            meanVanRossum: mean(ok.compactMap(\.vanRossum)), meanTraceNRMSE: mean(ok.compactMap(\.traceNRMSE)),
            seconds: 0, passed: true, warnings: [])
        if outputLayer {
            // The SPICE prediction: the trained readout of the surrogate's columns with the simulated columns
            // replaced by the circuit's (spike counts, and the membrane where the readout reads it).
            var agree = 0, judged = 0
            var margins: [Double] = []
            for (k, s) in used.enumerated() {
                let mine = ok.filter { $0.sample == s }
                guard !mine.isEmpty else { continue }
                let judgement = ClassJudgement(surrogate: surrogates[k], spiceCounts: Dictionary(uniqueKeysWithValues: mine.map { ($0.column, $0.spiceCount!) }),
                                               spiceMembrane: spiceMembrane[s] ?? [:], readout: readout)
                judged += 1
                margins.append(judgement.surrogateMargin)
                if judgement.agrees { agree += 1 }
            }
            report.decisionMargins = margins
            report.readout = readout.name
            report.classAgreement = judged > 0 ? Double(agree) / Double(judged) : nil
        }
        if let c = report.classAgreement, c < settings.minClassAgreement {
            report.warnings.append(String(format: "class agreement %.2f is below %.2f", c, settings.minClassAgreement))
            report.failing.append("class_agreement")
        }
        if let e = report.meanSpikeCountError, e > settings.maxSpikeCountError {
            report.warnings.append(String(format: "mean spike-count error %.2f per column is above %.2f", e, settings.maxSpikeCountError))
            report.failing.append("spike_count_error")
        }
        if let e = report.meanTraceNRMSE, e > settings.maxTraceNRMSE {
            report.warnings.append(String(format: "membrane NRMSE %.3f is above %.3f", e, settings.maxTraceNRMSE))
            report.failing.append("trace_nrmse")
        }
        report.layersWithoutCircuit = network.layersRunWithoutCircuit(before: l)
        if let unsimulated = report.layersWithoutCircuit, !unsimulated.isEmpty {
            log("validation: not simulated as circuits (their spikes drive the decks as ideal sources): " + unsimulated.joined(separator: "; "))
        }
        if report.failedDecks > 0 { report.warnings.append("\(report.failedDecks) of \(columns.count) deck(s) failed in ngspice (reported per column)") }
        report.passed = report.warnings.isEmpty
        report.seconds = Date().timeIntervalSince(t0)
        if let plot, !traces.isEmpty { try Agreement.plot(traces, epoch: epoch, to: plot) }
        return report
    }
}

/// Comparison measures.
public enum Agreement {
    /// van Rossum distance with kernel e^{−t/τ}: D² = ½[Σe^{−|aᵢ−aⱼ|/τ} + Σe^{−|bᵢ−bⱼ|/τ} − 2Σe^{−|aᵢ−bⱼ|/τ}].
    public static func vanRossum(_ a: [Double], _ b: [Double], tau: Double) -> Double {
        func k(_ x: [Double], _ y: [Double]) -> Double { x.reduce(0) { acc, s in acc + y.reduce(0) { $0 + exp(-abs(s - $1) / tau) } } }
        return max(0, 0.5 * (k(a, a) + k(b, b) - 2 * k(a, b))).squareRoot()
    }

    /// NRMSE of the surrogate's end-of-step membrane against the circuit's, away from spikes.
    public static func traceNRMSE(surrogate: [Double], spice: NeuronTrace, step: Double, surrogateSpikes: [Int], spiceSpikes: [Double]) -> Double? {
        var excluded = Set<Int>()
        for s in surrogateSpikes { for d in -1...1 { excluded.insert(s + d) } }
        for t in spiceSpikes { let s = Int(t / step); for d in -1...1 { excluded.insert(s + d) } }
        var se = 0.0, n = 0
        for t in surrogate.indices where !excluded.contains(t) {
            let d = surrogate[t] - spice.membrane(at: Double(t + 1) * step)
            se += d * d
            n += 1
        }
        guard n > 0, let lo = spice.membrane.min(), let hi = spice.membrane.max() else { return nil }
        // Normalised by the circuit's range, at least 0.5 V (a nearly silent neuron's millivolt range would turn
        // microvolt differences into large ratios).
        return (se / Double(n)).squareRoot() / max(hi - lo, 0.5)
    }

    /// Index of the largest count; ties go to the lowest index (as the loss's prediction does).
    public static func argmax(_ counts: [Int]) -> Int {
        var best = 0
        for i in counts.indices where counts[i] > counts[best] { best = i }
        return best
    }

    /// Every simulated column as a panel (small multiples past four), the membranes and both spike rasters above
    /// them: the circuit's threshold crossings and the surrogate's spike steps (at the end of the step).
    static func plot(_ traces: [(ColumnCase, NeuronTrace)], epoch: Int, to url: URL) throws {
        let ordered = traces.sorted { ($0.0.sample, $0.0.column) < ($1.0.sample, $1.0.column) }
        let panels = ordered.map { c, trace -> SVGPlot.Panel in
            let tSur = (0..<c.surrogateMembrane.count).map { Double($0 + 1) * c.coarseStep * 1e3 }
            let all = trace.membrane + c.surrogateMembrane
            let hi = all.max() ?? 1, span = max(hi - (all.min() ?? 0), 0.5)
            let spice = trace.spikeTimes
            return SVGPlot.Panel(yLabel: "sample \(c.sample), neuron \(c.column) [V]", series: [
                .init(label: "ngspice", x: trace.time.map { $0 * 1e3 }, y: trace.membrane),
                .init(label: "surrogate", x: tSur, y: c.surrogateMembrane, markers: true),
                .init(label: "ngspice spikes", x: spice.map { $0 * 1e3 }, y: spice.map { _ in hi + 0.12 * span }, markers: true),
                .init(label: "surrogate spikes", x: c.surrogateSpikes.map { Double($0 + 1) * c.coarseStep * 1e3 },
                      y: c.surrogateSpikes.map { _ in hi + 0.24 * span }, markers: true),
            ])
        }
        var figure = SVGPlot(title: "SPICE vs surrogate membrane, epoch \(epoch)", xLabel: "time [ms]", panels: panels)
        if panels.count > 4 { figure.panelHeight = 150 }
        try AtomicFile.write(figure.render(), to: url)
    }
}

/// The class decision on one sample, by the surrogate and by the circuit: the trained readout of the surrogate's
/// columns, and of the same columns with the simulated ones replaced by the circuit's spike counts and (membrane
/// readouts) its end-of-step membrane.
struct ClassJudgement {
    var surrogateLogits: [Double]
    var spiceLogits: [Double]

    init(surrogate: SurrogateColumns, spiceCounts: [Int: Int], spiceMembrane: [Int: [Double]], readout: ClassReadout) {
        var spice = surrogate
        for (column, count) in spiceCounts { spice.counts[column] = count }
        for (column, v) in spiceMembrane { spice.membrane[column] = v }
        func logits(_ c: SurrogateColumns) -> [Double] {
            readout.logits(counts: c.counts.map(Double.init), membrane: c.membrane, thresholds: c.thresholds)
        }
        surrogateLogits = logits(surrogate)
        spiceLogits = logits(spice)
    }

    var agrees: Bool { ClassReadout.decision(surrogateLogits) == ClassReadout.decision(spiceLogits) }

    /// Winning logit minus the runner-up's (0 with fewer than two columns or a tie).
    var surrogateMargin: Double {
        let sorted = surrogateLogits.sorted(by: >)
        return sorted.count > 1 ? sorted[0] - sorted[1] : 0
    }
}
