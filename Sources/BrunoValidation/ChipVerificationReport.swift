import BrunoScaleOut
import BrunoSupport
import BrunoTraining
import Foundation

/// What whole-chip verification found: the circuit's test accuracy and confusion matrix beside the surrogate's,
/// how often the two decide alike, the distribution of per-column spike-count errors (not only its mean), the
/// worst columns, failed decks and what it cost. Written as `chip-verification.json`, `chip-verification.md` and
/// two plots.
public struct ChipVerificationReport: Codable, Sendable, Equatable {
    public var run: String
    public var epoch: Int
    public var layer: Int
    public var readout: String
    public var samples: Int
    public var columns: Int
    public var decks: Int
    public var failedDecks: Int
    /// Samples whose decision could not be made in the circuit (a deck failed).
    public var undecidedSamples: [Int]
    /// Test accuracy of the circuit's decisions and of the surrogate's on the same chip and samples (silent outputs
    /// and undecided samples count as wrong, as in training).
    public var circuitAccuracy: Double
    public var surrogateAccuracy: Double
    /// Fraction of samples where circuit and surrogate pick the same class.
    public var decisionAgreement: Double
    /// `[true label][predicted]`, the last column "no decision" (silent output or failed deck).
    public var circuitConfusion: [[Int]]
    public var surrogateConfusion: [[Int]]
    /// Spike-count error (SPICE − surrogate) over every simulated column-sample: counts per error value.
    public var spikeCountErrorHistogram: [String: Int]
    public var meanAbsoluteSpikeCountError: Double
    public var fractionExact: Double
    public var fractionWithinOne: Double
    /// Quantiles of |Δ spike count|: 50 %, 90 %, 99 %, max.
    public var absoluteErrorQuantiles: [String: Double]
    public struct Column: Codable, Sendable, Equatable {
        public var column: Int
        public var meanAbsoluteError: Double
        public var maxAbsoluteError: Int
        public var meanSurrogateCount: Double
        public var meanSpiceCount: Double
    }
    /// The five columns with the largest mean |Δ spike count|.
    public var worstColumns: [Column]
    public var perColumn: [Column]
    public var layersWithoutCircuit: [String]
    public var ngspice: String

    public init(plan: ChipVerification.Plan, outcomes: [ChipVerification.ColumnOutcome], ngspice: String) {
        precondition(outcomes.count == plan.itemCount)
        let readout = plan.readout.readout
        let k = plan.columns
        let labelCount = max(k, (plan.labels.compactMap { $0 }.max() ?? -1) + 1)
        var circuitConfusion = [[Int]](repeating: [Int](repeating: 0, count: k + 1), count: labelCount)
        var surrogateConfusion = circuitConfusion
        var circuitCorrect = 0, surrogateCorrect = 0, agree = 0
        var undecided: [Int] = []
        for s in 0..<plan.samples {
            let cols = Array(outcomes[(s * k)..<((s + 1) * k)])
            let surrogate = readout.logits(counts: cols.map { Double($0.surrogateCount) }, membrane: cols.map { $0.surrogateMembrane ?? [] },
                                           thresholds: plan.thresholds)
            let surrogateDecision = ClassReadout.decision(surrogate)
            var circuitDecision: Int?
            if cols.contains(where: { $0.spiceCount == nil }) {
                undecided.append(s)
            } else {
                let spice = readout.logits(counts: cols.map { Double($0.spiceCount!) }, membrane: cols.map { $0.spiceMembrane ?? [] },
                                           thresholds: plan.thresholds)
                circuitDecision = ClassReadout.decision(spice)
            }
            if circuitDecision == surrogateDecision { agree += 1 }
            if let label = plan.labels[s] {
                circuitConfusion[label][circuitDecision ?? k] += 1
                surrogateConfusion[label][surrogateDecision ?? k] += 1
                if circuitDecision == label { circuitCorrect += 1 }
                if surrogateDecision == label { surrogateCorrect += 1 }
            }
        }
        let judged = outcomes.filter { $0.spiceCount != nil }
        let errors = judged.map { $0.spiceCount! - $0.surrogateCount }
        let absolute = errors.map { abs($0) }.sorted()
        var histogram: [String: Int] = [:]
        for e in errors { histogram["\(e)", default: 0] += 1 }
        /// The smallest |Δ| with at least a fraction q of the column-samples at or below it.
        func quantile(_ q: Double) -> Double {
            absolute.isEmpty ? .nan : Double(absolute[max(0, Int((q * Double(absolute.count)).rounded(.up)) - 1)])
        }
        let perColumn = (0..<k).map { j -> Column in
            let mine = (0..<plan.samples).map { outcomes[$0 * k + j] }.filter { $0.spiceCount != nil }
            let e = mine.map { abs($0.spiceCount! - $0.surrogateCount) }
            let n = Double(max(mine.count, 1))
            return Column(column: j, meanAbsoluteError: Double(e.reduce(0, +)) / n, maxAbsoluteError: e.max() ?? 0,
                          meanSurrogateCount: Double(mine.map(\.surrogateCount).reduce(0, +)) / n,
                          meanSpiceCount: Double(mine.map { $0.spiceCount! }.reduce(0, +)) / n)
        }
        let labelled = Double(max(plan.labels.compactMap { $0 }.count, 1))
        run = plan.run
        epoch = plan.epoch
        layer = plan.layer
        self.readout = plan.readout.name
        samples = plan.samples
        columns = k
        decks = outcomes.count
        failedDecks = outcomes.count - judged.count
        undecidedSamples = undecided
        circuitAccuracy = Double(circuitCorrect) / labelled
        surrogateAccuracy = Double(surrogateCorrect) / labelled
        decisionAgreement = Double(agree) / Double(plan.samples)
        self.circuitConfusion = circuitConfusion
        self.surrogateConfusion = surrogateConfusion
        spikeCountErrorHistogram = histogram
        let count = Double(max(absolute.count, 1))
        meanAbsoluteSpikeCountError = Double(absolute.reduce(0, +)) / count
        fractionExact = Double(absolute.filter { $0 == 0 }.count) / count
        fractionWithinOne = Double(absolute.filter { $0 <= 1 }.count) / count
        absoluteErrorQuantiles = ["p50": quantile(0.5), "p90": quantile(0.9), "p99": quantile(0.99), "max": Double(absolute.last ?? 0)]
        self.perColumn = perColumn
        worstColumns = Array(perColumn.sorted { ($0.meanAbsoluteError, -$0.column) > ($1.meanAbsoluteError, -$1.column) }.prefix(5))
        layersWithoutCircuit = plan.layersWithoutCircuit
        self.ngspice = ngspice
    }

    /// Writes the JSON (the findings: the same bytes for any shard count), the cost, the Markdown summary and the
    /// plots into `folder` (each atomically).
    public func write(to folder: URL, cost: ChipVerificationCost) throws {
        try AtomicFile.write(try ShardJSON.encode(self), to: folder.appendingPathComponent("chip-verification.json"))
        try AtomicFile.write(try ShardJSON.encode(cost), to: folder.appendingPathComponent("chip-verification-cost.json"))
        try AtomicFile.write(Data(markdown(cost: cost).utf8), to: folder.appendingPathComponent("chip-verification.md"))
        let labels = (0..<circuitConfusion.count).map(String.init)
        let heat = SVGHeatmap(title: String(format: "Circuit (ngspice) decisions on %d test samples: accuracy %.3f (surrogate %.3f)", samples,
                                            circuitAccuracy, surrogateAccuracy),
                              rowLabel: "true class", columnLabel: "class decided by the circuit (last column: no decision)",
                              rows: labels, columns: (0..<columns).map(String.init) + ["–"], values: circuitConfusion.map { $0.map(Double.init) })
        try AtomicFile.write(Data(heat.render().utf8), to: folder.appendingPathComponent("chip-confusion.svg"))
        let keys = spikeCountErrorHistogram.keys.compactMap(Int.init).sorted()
        let lo = (keys.first ?? 0) - 1, hi = (keys.last ?? 0) + 1
        var x: [Double] = [], y: [Double] = []
        for e in lo...hi {
            let f = Double(spikeCountErrorHistogram["\(e)"] ?? 0) / Double(max(decks - failedDecks, 1))
            x += [Double(e) - 0.5, Double(e) + 0.5]
            y += [f, f]
        }
        let plot = SVGPlot(title: "Spike-count error per column and sample (\(decks - failedDecks) decks)",
                           xLabel: "spike count in ngspice − spike count of the surrogate", panels: [
                               .init(yLabel: "fraction of column-samples", series: [.init(label: "all columns", x: x, y: y)]),
                               .init(yLabel: "mean |error| per column", series: [
                                   .init(label: "column j at x = j", x: perColumn.map { Double($0.column) }, y: perColumn.map(\.meanAbsoluteError),
                                         markers: true),
                               ]),
                           ])
        try AtomicFile.write(Data(plot.render().utf8), to: folder.appendingPathComponent("chip-spike-errors.svg"))
    }

    public func markdown(cost: ChipVerificationCost) -> String {
        var md = "# Whole-chip verification\n\n"
        md += "Run `\(run)`, epoch \(epoch): FeLIF layer \(layer), \(columns) columns × \(samples) test samples = \(decks) ngspice decks "
        md += "(\(ngspice), \(cost.shards) shard(s)); readout `\(readout)`.\n\n"
        md += "| | circuit (ngspice) | surrogate |\n|---|---|---|\n"
        md += String(format: "| test accuracy | %.4f | %.4f |\n", circuitAccuracy, surrogateAccuracy)
        md += String(format: "\nThe circuit and the surrogate decide alike on %.1f %% of the samples. ", decisionAgreement * 100)
        md += "\(failedDecks) deck(s) failed" + (undecidedSamples.isEmpty ? "" : "; undecided samples (counted wrong): \(undecidedSamples.map(String.init).joined(separator: ", "))") + ".\n\n"
        md += "## Spike-count error per column and sample\n\n"
        md += String(format: "Mean |Δ| %.3f spikes; exact %.1f %%, within one spike %.1f %%; |Δ| quantiles: 50 %% %.0f, 90 %% %.0f, 99 %% %.0f, max %.0f.\n\n",
                     meanAbsoluteSpikeCountError, fractionExact * 100, fractionWithinOne * 100, absoluteErrorQuantiles["p50"] ?? .nan,
                     absoluteErrorQuantiles["p90"] ?? .nan, absoluteErrorQuantiles["p99"] ?? .nan, absoluteErrorQuantiles["max"] ?? .nan)
        md += "| Δ (SPICE − surrogate) | column-samples |\n|---|---|\n"
        for key in spikeCountErrorHistogram.keys.compactMap(Int.init).sorted() { md += "| \(key) | \(spikeCountErrorHistogram["\(key)"]!) |\n" }
        md += "\nWorst columns:\n\n| column | mean abs error | max abs error | mean spikes (surrogate) | mean spikes (SPICE) |\n|---|---|---|---|---|\n"
        for c in worstColumns {
            md += String(format: "| %d | %.3f | %d | %.2f | %.2f |\n", c.column, c.meanAbsoluteError, c.maxAbsoluteError, c.meanSurrogateCount, c.meanSpiceCount)
        }
        md += String(format: "\nCost: %.0f s of ngspice over all decks, %.2f s per column deck (median %.2f, 90 %% %.2f, max %.2f); "
                     + "the shards held %.0f core-seconds (wall × instances, including planning and idle instances).\n",
                     cost.deckSeconds, cost.meanDeckSeconds, cost.deckSecondsQuantiles["p50"] ?? .nan, cost.deckSecondsQuantiles["p90"] ?? .nan,
                     cost.deckSecondsQuantiles["max"] ?? .nan, cost.shardCoreSeconds)
        if !layersWithoutCircuit.isEmpty {
            md += "\nNot simulated as circuits (their surrogate spikes drive the decks as ideal sources): " + layersWithoutCircuit.joined(separator: "; ") + ".\n"
        }
        md += "\nPlots: `chip-confusion.svg` (the circuit's confusion matrix), `chip-spike-errors.svg` (error distribution, per column).\n"
        return md
    }
}

/// What a whole-chip verification cost (differs from run to run; kept apart from the findings).
public struct ChipVerificationCost: Codable, Sendable, Equatable {
    /// Σ of every deck's ngspice wall time [s] (one core each).
    public var deckSeconds: Double
    public var meanDeckSeconds: Double
    /// Per-deck seconds: 50 %, 90 %, max.
    public var deckSecondsQuantiles: [String: Double]
    /// Σ over shards of wall × ngspice instances [s].
    public var shardCoreSeconds: Double
    public var shards: Int

    public init(outcomes: [ChipVerification.ColumnOutcome], shardCoreSeconds: Double, shards: Int) {
        let s = outcomes.compactMap(\.seconds).sorted()
        deckSeconds = s.reduce(0, +)
        meanDeckSeconds = deckSeconds / Double(max(s.count, 1))
        func q(_ p: Double) -> Double { s.isEmpty ? .nan : s[max(0, Int((p * Double(s.count)).rounded(.up)) - 1)] }
        deckSecondsQuantiles = ["p50": q(0.5), "p90": q(0.9), "max": s.last ?? .nan]
        self.shardCoreSeconds = shardCoreSeconds
        self.shards = shards
    }
}
