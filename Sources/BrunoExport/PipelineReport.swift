import BrunoCalibration
import BrunoCards
import BrunoDevices
import BrunoEnergy
import BrunoSupport
import BrunoTraining
import Foundation

/// `report.md` of a pipeline run, with its plots next to it.
enum PipelineReport {
    static func write(out: URL, config c: TrainingConfig, history: [Trainer.EpochMetrics], notes: [String], export: RunExport.Summary,
                      energy: EnergyReport, energyFolder: URL, trainSeconds: Double, energySeconds: Double, totalSeconds: Double,
                      library: DeviceLibrary) throws {
        let fm = FileManager.default
        func copy(_ from: URL, _ name: String) -> Bool {
            guard let d = fm.contents(atPath: from.path) else { return false }
            return (try? AtomicFile.write(d, to: out.appendingPathComponent(name))) != nil
        }
        var md = "# Bruno pipeline report\n\n"
        md += "Config `\(c.file.path)`, seed \(c.seed), \(ISO8601DateFormatter().string(from: Date())). "
        md += String(format: "Total %.0f s (training %.0f s, energy %.0f s).\n\n", totalSeconds, trainSeconds, energySeconds)
        md += "## Calibration\n\n" + notes.joined(separator: "\n") + "\n\n"
        if let felif = try? DeviceCard.load(c.felifCard) {
            let s = felif.statistics
            md += String(format: "FeLIF card: held-out membrane NRMSE %.2f %%, worst first-spike error %.2f %%, f–I rate error %.2f %%.\n",
                         (s["held_out_nrmse_max"] ?? .nan) * 100, (s["held_out_first_spike_error_max"] ?? .nan) * 100, (s["f_i_rate_error_max"] ?? .nan) * 100)
        }
        if let rram = try? DeviceCard.load(c.rramCard) {
            let s = rram.statistics
            md += String(format: "RRAM card: held-out level means within %.2f %%, spreads within %.1f %%.\n\n",
                         (s["held_out_mean_error_max"] ?? .nan) * 100, (s["held_out_spread_error_max"] ?? .nan) * 100)
            let ks = (0..<8).compactMap { s["level\($0).held_out_ks_p"] }
            if let worst = ks.min() { md += String(format: "Level distributions, fitted vs held-out set: smallest Kolmogorov–Smirnov p = %.2f.\n\n", worst) }
        }
        let calFolder = c.felifCard.deletingLastPathComponent()
        if copy(calFolder.appendingPathComponent("felif-fi.svg"), "calibration-felif-fi.svg") { md += "![FeLIF f–I: SPICE vs surrogate](calibration-felif-fi.svg)\n\n" }
        let rramFolder = c.rramCard.deletingLastPathComponent()
        if copy(rramFolder.appendingPathComponent("rram-levels.svg"), "calibration-rram-levels.svg") {
            md += "![RRAM levels](calibration-rram-levels.svg)\n\n"
        }
        if copy(rramFolder.appendingPathComponent("rram-level-shapes.svg"), "calibration-rram-level-shapes.svg") {
            md += "![RRAM level shapes, fitted vs held-out set](calibration-rram-level-shapes.svg)\n\n"
        }
        md += "## Training\n\n"
        if let last = history.last {
            md += "| epoch | train loss | " + (last.testAccuracy != nil ? "selection acc. | test acc. |" : "selection NLL | held-out NLL |") + " s |\n|---|---|---|---|---|\n"
            for m in history {
                let a = m.testAccuracy != nil ? String(format: "%.3f | %.3f", m.validAccuracy ?? .nan, m.testAccuracy ?? .nan)
                    : String(format: "%.3f | %.3f", m.validNLL ?? .nan, m.testNLL ?? .nan)
                md += String(format: "| %d | %.4f | %@ | %.1f |\n", m.epoch, m.trainLoss, a, m.epochSeconds)
            }
        }
        if copy(out.appendingPathComponent("train/learning-curves.svg"), "learning-curves.svg") { md += "\n![learning curves](learning-curves.svg)\n\n" }
        md += "## SPICE agreement\n\n"
        let checks = history.compactMap { m in m.validation.map { (m.epoch, $0) } }
        if checks.isEmpty {
            md += "No SPICE check ran (`[validation] every = 0`).\n\n"
        } else {
            md += "| epoch | class agreement | mean abs. spike-count error | within ±1 | first-spike error [ms] | van Rossum | membrane NRMSE | failed decks | s |\n|---|---|---|---|---|---|---|---|---|\n"
            var checkSeconds = 0.0
            for (e, v) in checks {
                func f(_ k: String, _ scale: Double = 1, _ fmt: String = "%.3f") -> String { v[k].map { String(format: fmt, $0 * scale) } ?? "—" }
                md += "| \(e) | \(f("class_agreement", 1, "%.2f")) | \(f("spike_count_error", 1, "%.2f")) | \(f("within_one_spike", 100, "%.0f %%")) | "
                md += "\(f("first_spike_error_s", 1e3, "%.2f")) | \(f("van_rossum", 1, "%.2f")) | \(f("trace_nrmse")) | \(f("failed_decks", 1, "%.0f")) | \(f("seconds", 1, "%.1f")) |\n"
                checkSeconds += v["seconds"] ?? 0
            }
            md += String(format: "\nSPICE checks took %.0f s, %.1f %% of the training wall time.\n\n", checkSeconds, checkSeconds / max(trainSeconds, 1e-9) * 100)
            if let (e, _) = checks.last, copy(out.appendingPathComponent("train/validation-epoch\(e).svg"), "validation.svg") {
                md += "![SPICE vs surrogate membrane](validation.svg)\n\n"
            }
        }
        md += "## Energy (ngspice)\n\n" + EnergySummary.lines(energy).map { "- \($0)" }.joined(separator: "\n") + "\n\n"
        md += "Full tables: `train/energy/energy.md` (also in `export/energy/`).\n\n"
        if copy(energyFolder.appendingPathComponent("energy-per-spike.svg"), "energy-per-spike.svg") {
            md += "![FeLIF energy per spike vs input current](energy-per-spike.svg)\n\n"
        }
        if copy(energyFolder.appendingPathComponent("energy-comparison.svg"), "energy-comparison.svg") {
            md += "![Energy against published figures](energy-comparison.svg)\n\n"
        }
        md += "## Trained chip\n\n"
        if let csv = try? String(contentsOf: out.appendingPathComponent("export/synapses.csv"), encoding: .utf8) {
            var hist = [Double](repeating: 0, count: 15)
            for line in csv.split(separator: "\n").dropFirst() {
                let f = line.split(separator: ",")
                if f.count > 4, let l = Int(f[4]), (-7...7).contains(l) { hist[l + 7] += 1 }
            }
            let x = (-7...7).map(Double.init)
            let plot = SVGPlot(title: "Weight levels of the RRAM synapses (signed: G+ at l > 0, G- at -l)", xLabel: "signed level",
                               panels: [.init(yLabel: "synapses", series: [.init(label: "all RRAM layers", x: x, y: hist, markers: true)])])
            try AtomicFile.write(plot.render(), to: out.appendingPathComponent("weight-levels.svg"))
            md += "![weight-level histogram](weight-levels.svg)\n\n"
        }
        md += "Exported to `export/` (\(export.files.count) files, \(export.synapses) synapses; `export/README.md` explains them): "
        md += "`network.cir` is test sample \(export.sample), surrogate spike counts \(export.expectedCounts)"
        md += (export.expectedClass.map { ", predicted class \($0)" } ?? "") + ".\n"
        try AtomicFile.write(md, to: out.appendingPathComponent("report.md"))
    }
}
