import BrunoDevices
import BrunoSpice
import BrunoSupport
import BrunoTraining
import Foundation

extension SpiceValidation {
    /// The trainer's epoch hook: every `settings.every` epochs and at the last epoch, validate on the test set's
    /// first samples, append the report to `validation.jsonl`, write `validation-epochN.svg`, warn loudly when
    /// the circuit disagrees, and return the summary for metrics.jsonl.
    public func hook(pool: SpicePool, log: @escaping @Sendable (String) -> Void) -> Trainer.EpochHook {
        let settings = self.settings
        return { epoch, trainer, chip, out in
            guard settings.every > 0, epoch % settings.every == 0 || epoch == trainer.config.epochs else { return nil }
            let report = try await self.run(network: trainer.network, chip: chip, set: trainer.data.test, epoch: epoch, pool: pool,
                                            readout: trainer.config.classReadout ?? .spikeCount, plot: out.appendingPathComponent("validation-epoch\(epoch).svg"), log: log)
            try ValidationLog.append(report, to: out.appendingPathComponent("validation.jsonl"))
            log(ValidationLog.describe(report))
            for w in report.warnings { log("WARNING: SPICE disagrees with the surrogate at epoch \(epoch): \(w)") }
            var check = Trainer.EpochCheck(metrics: report.summary)
            if !report.passed && settings.recalibrate, let protocolURL = settings.protocol {
                let folder = out.appendingPathComponent("recalibration-epoch\(epoch)")
                log("recalibrating the FeLIF surrogate on the network's own activity into \(folder.path) …")
                check.felifCard = try await Recalibration.run(report: report, protocolURL: protocolURL,
                                                             library: self.library, pool: pool, out: folder, log: log)
                check.metrics["recalibrated"] = 1
            }
            return check
        }
    }
}

/// `validation.jsonl`: one full report per check (metrics.jsonl carries the summary).
public enum ValidationLog {
    /// Adds `report`, replacing an earlier record of the same epoch and layer: a run killed between its SPICE
    /// check and its checkpoint repeats that epoch on `--resume`, and the log keeps one record of it.
    public static func append(_ report: ValidationReport, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let line = String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
        let before = ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n").filter { text in
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                return true
            }
            return !((object["epoch"] as? Int) == report.epoch && (object["layer"] as? Int) == report.layer)
        }
        try AtomicFile.write(before.map { $0 + "\n" }.joined() + line, to: url)
    }

    public static func describe(_ r: ValidationReport) -> String {
        var s = "SPICE check (epoch \(r.epoch), layer \(r.layer)): \(r.columns.count - r.failedDecks)/\(r.columns.count) decks"
        if let c = r.classAgreement {
            s += String(format: ", class agreement %.2f", c) + (r.readout.map { " (\($0) readout)" } ?? "")
            if let m = r.decisionMargins, let smallest = m.min() { s += String(format: ", smallest decision margin %.3g logit", smallest) }
        }
        if let e = r.meanSpikeCountError { s += String(format: ", |Δ spikes| %.2f per column", e) }
        if let w = r.fractionWithinOneSpike { s += String(format: " (%.0f %% within ±1)", w * 100) }
        if let f = r.meanFirstSpikeError { s += String(format: ", first spike ±%.2f ms", f * 1e3) }
        if let v = r.meanVanRossum { s += String(format: ", van Rossum %.2f", v) }
        if let n = r.meanTraceNRMSE { s += String(format: ", membrane NRMSE %.3f", n) }
        s += String(format: ", %.1f s", r.seconds)
        return s
    }
}
