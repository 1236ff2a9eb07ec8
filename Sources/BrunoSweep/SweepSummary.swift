import BrunoScaleOut
import BrunoSupport
import Foundation

/// The sweep's table and plot: every trial with its overrides, the judged metric and the other figures of its last
/// epoch, best first; the metric per trial (and, for a study, the best so far).
public struct SweepSummary: Codable, Sendable, Equatable {
    public var metric: String
    public var direction: String
    public var trials: [Sweep.TrialResult]
    public var best: Sweep.TrialResult?
    public var failed: Int

    public init(plan: Sweep.Plan, results: [Sweep.TrialResult]) {
        metric = plan.metric
        direction = plan.optuna?.direction ?? (plan.metric.contains("accuracy") ? "maximize" : "minimize")
        trials = results
        let ok = results.filter { $0.value != nil }
        best = direction == "maximize" ? ok.max { $0.value! < $1.value! } : ok.min { $0.value! < $1.value! }
        failed = results.count - ok.count
    }

    /// Writes `sweep.json`, `sweep.csv`, `sweep.md` and `sweep.svg` into `folder`.
    public func write(to folder: URL) throws {
        try AtomicFile.write(try ShardJSON.encode(self), to: folder.appendingPathComponent("sweep.json"))
        let figureNames = Set(trials.flatMap(\.figures.keys))
            .filter { $0.contains("accuracy") || $0.contains("nll") || $0.contains("loss") }.sorted()
        var csv = "slot,optuna_trial,overrides,\(metric),state," + figureNames.joined(separator: ",") + "\n"
        for t in trials { csv += Self.csvRow(t, figureNames: figureNames) + "\n" }
        try AtomicFile.write(Data(csv.utf8), to: folder.appendingPathComponent("sweep.csv"))
        var md = "# Sweep\n\n\(trials.count) trial(s), \(failed) failed; judged on `\(metric)` (\(direction)).\n\n"
        if let best { md += "Best: slot \(best.slot)\(best.optunaNumber.map { " (Optuna trial \($0))" } ?? ""), `\(best.overrides.joined(separator: " "))`: "
            + String(format: "%.4f", best.value!) + ".\n\n" }
        md += "| slot\(trials.contains { $0.optunaNumber != nil } ? " (Optuna #)" : "") | overrides | \(metric) | test accuracy | epochs | state |\n|---|---|---|---|---|---|\n"
        let order = trials.sorted { a, b in
            switch (a.value, b.value) {
            case let (x?, y?): return direction == "maximize" ? x > y : x < y
            case (.some, nil): return true
            default: return a.slot < b.slot
            }
        }
        for t in order {
            md += "| \(t.slot)\(t.optunaNumber.map { " (#\($0))" } ?? "") | `\(t.overrides.joined(separator: " "))` | \(t.value.map { String(format: "%.4f", $0) } ?? "—") | "
                + "\(t.figures["test_accuracy"].map { String(format: "%.4f", $0) } ?? "—") | \(t.epochs) | "
                + "\(t.failure.map { "failed: " + $0.prefix(80).replacingOccurrences(of: "|", with: "/") } ?? "complete") |\n"
        }
        md += "\nTable: `sweep.csv`; plot: `sweep.svg`; each trial's run folder: `trials/`.\n"
        try AtomicFile.write(Data(md.utf8), to: folder.appendingPathComponent("sweep.md"))
        let done = trials.filter { $0.value != nil }.sorted { ($0.optunaNumber ?? $0.slot) < ($1.optunaNumber ?? $1.slot) }
        var running: [Double] = []
        for t in done {
            let v = t.value!
            running.append(running.last.map { direction == "maximize" ? max($0, v) : min($0, v) } ?? v)
        }
        let x = done.map { Double($0.optunaNumber ?? $0.slot) }
        var series: [SVGPlot.Series] = [.init(label: "trial", x: x, y: done.map { $0.value! }, markers: true)]
        if trials.contains(where: { $0.optunaNumber != nil }) { series.append(.init(label: "best so far", x: x, y: running, dashed: true)) }
        let plot = SVGPlot(title: "Sweep: \(metric) per trial (\(done.count) complete, \(failed) failed)",
                           xLabel: trials.contains { $0.optunaNumber != nil } ? "Optuna trial number" : "trial (slot)",
                           panels: [.init(yLabel: metric.replacingOccurrences(of: "_", with: " "), series: series)])
        try AtomicFile.write(Data(plot.render().utf8), to: folder.appendingPathComponent("sweep.svg"))
    }
}

extension SweepSummary {
    static func csvRow(_ t: Sweep.TrialResult, figureNames: [String]) -> String {
        let overrides = t.overrides.joined(separator: " ").replacingOccurrences(of: "\"", with: "\"\"")
        var fields: [String] = ["\(t.slot)", t.optunaNumber.map(String.init) ?? "", "\"" + overrides + "\""]
        fields.append(t.value.map { "\($0)" } ?? "")
        fields.append(t.failure == nil ? "complete" : "failed")
        for name in figureNames { fields.append(t.figures[name].map { "\($0)" } ?? "") }
        return fields.joined(separator: ",")
    }
}

extension Sweep {
    /// Merges the finished shards into the summary (refused while any shard is missing).
    public static func merge(folder: Folder) throws -> SweepSummary {
        let manifest = try folder.readManifest()
        let (results, _) = try folder.collect(manifest)
        let summary = SweepSummary(plan: manifest.plan, results: results)
        try summary.write(to: URL(fileURLWithPath: manifest.plan.out))
        return summary
    }
}
