import BrunoCards
import BrunoSupport
import Foundation

/// The human report of a FeLIF calibration: Markdown with SVG overlays of SPICE and surrogate, residuals and
/// the f–I curve, written next to the card.
public enum FeLIFReport {
    public static func write(result: FeLIFCalibrationResult, references: [FeLIFReference], card: DeviceCard, sampleInterval: Double, to folder: URL) throws {
        var md = "# FeLIF calibration report\n\n"
        md += "Netlist `\(card.provenance.netlist)` (SHA-256 `\(card.provenance.netlistSHA256.prefix(16))…`), \(card.provenance.ngspice), protocol `\(card.provenance.protocolFile)`, \(card.provenance.date).\n\n"
        md += "## Fitted parameters\n\n| parameter | value | ± stderr | unit | bounds | at bound | netlist value | fit − netlist |\n|---|---|---|---|---|---|---|---|\n"
        for p in card.parameters where p.fitted {
            let delta = p.netlistValue.map { String(format: "%+.2f %%", (p.value / $0 - 1) * 100) } ?? "—"
            md += "| \(p.name) | \(String(format: "%.5g", p.value)) | \(p.stderr.map { String(format: "%.2g", $0) } ?? "—") | \(p.unit) | [\(String(format: "%.3g", p.lower ?? .nan)), \(String(format: "%.3g", p.upper ?? .nan))] | \(p.atBound == true ? "**yes**" : "no") | \(p.netlistValue.map { String(format: "%.5g", $0) } ?? "—") | \(delta) |\n"
        }
        md += "\n## Parameters read from the netlist\n\nEvaluated by ngspice for the neuron instance; the place is where the value is written.\n\n"
        md += "| parameter | value | unit | source | place |\n|---|---|---|---|---|\n"
        for p in card.parameters where !p.fitted {
            let source = p.source == "default" ? "**Bruno's default** (no counterpart in the netlist)" : (p.source ?? "—")
            md += "| \(p.name) | \(String(format: "%.5g", p.value)) | \(p.unit) | \(source) | \(p.place.map { "`\($0)`" } ?? "—") |\n"
        }
        for note in result.notes { md += "\n- \(note)" }
        if !result.notes.isEmpty { md += "\n" }
        md += "\n## Agreement per stimulus\n\n| stimulus | set | membrane NRMSE | R² | raw NRMSE | SPICE spikes | surrogate spikes | first-spike error | rate error |\n|---|---|---|---|---|---|---|---|---|\n"
        for s in result.stimuli {
            md += "| \(s.name) | \(s.heldOut ? "held out" : "fitted") | \(String(format: "%.3f %%", s.nrmse * 100)) | \(String(format: "%.5f", s.rSquared)) | \(String(format: "%.2f %%", s.rawNRMSE * 100)) | \(s.spiceSpikes.count) | \(s.surrogateSpikes.count) | \(s.firstSpikeError.map { String(format: "%.3f %%", $0 * 100) } ?? "—") | \(s.rateError.map { String(format: "%.3f %%", $0 * 100) } ?? "—") |\n"
        }
        md += "\nMembrane NRMSE is over the samples outside the circuit's reset pulses and outside the interval between corresponding spikes of the two models (spike timing is the last column); raw NRMSE is over every sample.\n"
        md += "\n![f–I curve](felif-fi.svg)\n\n## Traces\n\n"
        let fine = result.simulation
        for ref in references {
            let trace = fine.run(currents: ref.stimulus.currents, window: ref.stimulus.window, duration: ref.stimulus.duration)
            let t = ref.membrane.indices.map { Double($0) * sampleInterval }
            let n = min(trace.membrane.count, ref.membrane.count)
            let plot = SVGPlot(title: "\(ref.stimulus.name)\(ref.stimulus.heldOut ? " (held out)" : "")", xLabel: "time [s]", panels: [
                .init(yLabel: "membrane [V]", series: [
                    .init(label: "SPICE", x: t, y: ref.membrane),
                    .init(label: "surrogate", x: Array(t.prefix(n)), y: Array(trace.membrane.prefix(n)), dashed: true),
                ]),
                .init(yLabel: "residual [V]", series: [.init(label: "surrogate − SPICE", x: Array(t.prefix(n)), y: (0..<n).map { trace.membrane[$0] - ref.membrane[$0] })]),
            ])
            let file = "felif-\(ref.stimulus.name.replacingOccurrences(of: " ", with: "_")).svg"
            try AtomicFile.write(plot.render(), to: folder.appendingPathComponent(file))
            md += "![\(ref.stimulus.name)](\(file))\n\n"
        }
        // f–I from the constant stimuli: firing rate over the stimulus.
        let constant = references.filter { $0.stimulus.currents.count == 1 }.sorted { $0.stimulus.currents[0] < $1.stimulus.currents[0] }
        let currents = constant.map { $0.stimulus.currents[0] }
        let spiceRate = constant.map { Double($0.spikes.count) / $0.stimulus.duration }
        let surrogateRate = constant.map { ref in
            Double(fine.run(currents: ref.stimulus.currents, window: ref.stimulus.window, duration: ref.stimulus.duration).spikes.count) / ref.stimulus.duration
        }
        let fi = SVGPlot(title: "f–I curve", xLabel: "input current [A]", panels: [
            .init(yLabel: "rate [Hz]", series: [.init(label: "SPICE", x: currents, y: spiceRate, markers: true), .init(label: "surrogate", x: currents, y: surrogateRate, dashed: true)]),
        ])
        try AtomicFile.write(fi.render(), to: folder.appendingPathComponent("felif-fi.svg"))
        try AtomicFile.write(md, to: folder.appendingPathComponent("felif-report.md"))
    }
}
