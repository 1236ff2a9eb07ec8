import BrunoCalibration
import BrunoCards
import BrunoSupport
import Foundation

/// A published energy figure to place Bruno's against (per spike for neurons, per synaptic operation for chips).
public struct EnergyAnchor: Sendable, Equatable, Codable {
    public var label: String
    /// [J]; `high` for a range.
    public var low: Double
    public var high: Double?
    public var per: String
    public var source: String

    /// The figures issue 18 lists, each with where it was published.
    public static let published: [EnergyAnchor] = [
        .init(label: "anti-ferroelectric FET neuron", low: 37e-15, per: "spike", source: "Nat. Commun. 2022"),
        .init(label: "FeFET neurons", low: 1e-12, high: 10e-12, per: "spike", source: "range quoted in issue 18"),
        .init(label: "Fe-Schottky-barrier-FET neuron (8.3 kHz)", low: 40e-12, per: "spike", source: "Adv. Funct. Mater. 2025"),
        .init(label: "FeFET neuron circuits", low: 360e-12, high: 420e-12, per: "spike", source: "range quoted in issue 18"),
        .init(label: "Tianjic", low: 1.54e-12, per: "synaptic operation", source: "Nature 2019"),
        .init(label: "TrueNorth", low: 2.5e-12, per: "synaptic operation", source: "Science 2014"),
        .init(label: "Loihi", low: 23.6e-12, per: "synaptic operation", source: "IEEE Micro 2018"),
        .init(label: "SpiNNaker", low: 45e-12, per: "synaptic operation", source: "Proc. IEEE 2014"),
    ]

    /// "between 10 pJ and 100 pJ": the decade of `joules`.
    public static func decade(_ joules: Double) -> String {
        guard joules > 0 else { return "not positive" }
        let lo = pow(10, floor(log10(joules)))
        return "between \(SVGPlot.si(lo))J and \(SVGPlot.si(lo * 10))J"
    }
}

/// Whether a run's energy report (RUN/energy/energy.json) belongs to the run's checkpoint as it is now: `bruno
/// export` carries it and `bruno pipeline` reuses it only then.
public enum EnergyReportStanding: Equatable, Sendable {
    case missing, otherCheckpoint, current

    public init(run: URL) throws {
        let report = run.appendingPathComponent("energy/energy.json")
        guard FileManager.default.fileExists(atPath: report.path) else { self = .missing; return }
        struct Measured: Decodable { var checkpointSHA256: String? }
        let measured = try JSONDecoder().decode(Measured.self, from: Data(contentsOf: report))
        let now = try SHA256.hex(ofFile: run.appendingPathComponent("checkpoint.json"))
        self = measured.checkpointSHA256 == now ? .current : .otherCheckpoint
    }
}

/// Everything `bruno energy` measured, as written to `energy.json`.
public struct EnergyReport: Sendable, Equatable, Codable {
    public var run: String?
    /// The neuron as calibrated (the card's circuit) and as the chip runs it (reset timer matched to the coarse grid).
    public var neuronDevice: NeuronEnergy
    public var neuronChip: NeuronEnergy?
    public var synapse: SynapseEnergy?
    public var inference: InferenceEnergy?
    public var checks: [ColumnEnergyCheck]
    public var anchors: [EnergyAnchor] = EnergyAnchor.published
    /// The cards the figures belong to (written beside the report with their `energy` sections).
    public var felifCard: String?
    public var rramCard: String?
    /// SHA-256 of the run's checkpoint.json when measured: `bruno export` takes the report only for that checkpoint.
    public var checkpointSHA256: String?
    /// What the reader must know before trusting the figures (e.g. a card from a circuit the benches do not run).
    public var warnings: [String]?

    public init(run: String?, neuronDevice: NeuronEnergy, neuronChip: NeuronEnergy?, synapse: SynapseEnergy?, inference: InferenceEnergy?,
                checks: [ColumnEnergyCheck]) {
        self.run = run
        self.neuronDevice = neuronDevice
        self.neuronChip = neuronChip
        self.synapse = synapse
        self.inference = inference
        self.checks = checks
    }

    /// Writes energy.json, energy.md, energy-per-spike.svg, energy-comparison.svg and the cards with their energy
    /// sections (felif.card.json, rram.card.json) into `folder`, each atomically, after every file's bytes are made
    /// (a failure before writes nothing). Returns the names written.
    @discardableResult
    public func write(to folder: URL) throws -> [String] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        var files: [(String, Data)] = [
            ("energy.json", try enc.encode(self)),
            ("energy.md", Data(markdown().utf8)),
            ("energy-per-spike.svg", Data(perSpikePlot().utf8)),
            ("energy-comparison.svg", Data(comparisonPlot().utf8)),
        ]
        for (name, path) in [("felif.card.json", felifCard), ("rram.card.json", rramCard)] {
            guard let path else { continue }
            files.append((name, try recording(in: try DeviceCard.load(URL(fileURLWithPath: path))).encoded()))
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, data) in files { try AtomicFile.write(data, to: folder.appendingPathComponent(name)) }
        return files.map(\.0)
    }

    /// Four significant digits in fJ, pJ, nJ, µJ or mJ (whichever keeps the mantissa below 1000), for tables.
    static func joules(_ j: Double) -> String {
        let units: [(Double, String)] = [(1e-15, "fJ"), (1e-12, "pJ"), (1e-9, "nJ"), (1e-6, "µJ"), (1e-3, "mJ")]
        let unit = units.last { abs(j) >= $0.0 } ?? units[0]
        return String(format: "%.4g %@", j / unit.0, unit.1)
    }

    /// One neuron's table: per current, the spikes, the dynamic energy per spike (also per µm² of FeCap), the
    /// bookkeeping's imbalance and where each spike's energy goes.
    static func neuronTable(_ n: NeuronEnergy, title: String) -> String {
        var md = "\(title). Static power (no input, settled): \(si(n.staticPower, "W")); power-up charge from 0 V "
            + "(once, not per inference): \(si(n.powerUpEnergy, "J")); the card's electrode area "
            + "\(String(format: "%.4g", n.area * 1e12)) µm².\n\n"
        let parts = ["FeCap switching", "FeCap dielectric", "leakage", "reset switch", "latch and timer"]
        md += "| input | spikes | rate | E_dyn per spike | per µm² | supplied vs absorbed | " + parts.joined(separator: " | ") + " |\n"
        md += "|---|---|---|---|---|---|" + String(repeating: "---|", count: parts.count) + "\n"
        for p in n.points.sorted(by: { $0.current < $1.current }) {
            md += "| \(si(p.current, "A")) | \(p.spikes) | \(String(format: "%.1f", p.rate)) Hz | "
                + (p.dynamicPerSpike.map { joules($0) } ?? "no spikes") + " | "
                + (p.dynamicPerSpike.map { String(format: "%.3g pJ/µm²", $0 * 1e12 / (n.area * 1e12)) } ?? "–") + " | "
                + String(format: "%.1e", p.imbalance) + " | "
                + parts.map { label in p.partsPerSpike.map { joules($0[label]) } ?? "–" }.joined(separator: " | ") + " |\n"
        }
        if n.firing.isEmpty { md += "\nNo window made the neuron spike: there is no energy per spike, only the static power above.\n" }
        return md
    }
    static func si(_ x: Double, _ unit: String) -> String { SVGPlot.si(x) + unit }

    public func markdown() -> String {
        let n = neuronDevice
        var md = "# Energy from SPICE\n\n"
        if let run { md += "Run: `\(run)`\n\n" }
        for w in warnings ?? [] { md += "**Warning**: \(w).\n\n" }
        md += "## Neuron (FeLIF)\n\n"
        md += Self.neuronTable(n, title: "As calibrated: \(n.conditions)")
        if let f = n.firing.last?.dynamicPerSpike {
            md += "\nAt the highest rate the neuron spends \(Self.joules(f)) per spike, \(EnergyAnchor.decade(f)); published ferroelectric neurons: "
                + "37 fJ (AFeFET), 1–10 pJ (FeFET), 40 pJ (Fe-SBFET), 360–420 pJ (FeFET circuits).\n"
        }
        if let c = neuronChip, c != n {
            md += "\n" + Self.neuronTable(c, title: c.conditions.prefix(1).uppercased() + c.conditions.dropFirst())
            md += "\nThe chip's neuron holds its reset for the coarse grid's dead time; the latch and timer (a behavioural 1 MΩ timer "
                + "driven from 1 V) draw current for all of it, so they dominate its energy per spike.\n"
        }
        md += "\nThe two bookkeepings — every supply's ∫v·i dt against every part's — agree to the imbalance column (Tellegen's "
            + "theorem on the simulator's own points); the steps resolve the ≈ 12 ns reset (ngspice trtol 0.1: within 0.2 % of "
            + "10 ns steps). The FeCap's internal state nodes (field, rate, polarization as voltages) are a calculator, not physics, "
            + "and are left out of both.\n"
        if let synapse {
            md += "\n## Synapse (RRAM, V_read \(Self.si(synapse.readVoltage, "V")), read pulse \(Self.si(synapse.pulseWidth, "s")))\n\n"
            md += "| level | G | read (ngspice) | read (closed form) | programming mean | spread | programmings |\n|---|---|---|---|---|---|---|\n"
            for l in synapse.levels {
                md += "| \(l.level) | \(Self.si(l.conductance, "S")) | \(Self.joules(l.readEnergy)) | \(Self.joules(l.readEnergyClosedForm)) | "
                    + (l.programmingMean.map { Self.joules($0) } ?? "–") + " | " + (l.programmingSpread.map { Self.joules($0) } ?? "–")
                    + " | \(l.programmings) |\n"
            }
            md += "\nA read costs \(Self.si(synapse.readEnergyPerSiemens, "J")) per siemens of cell conductance at this pulse, which "
                + "lasts the whole coarse step the surrogate integrates; energy scales with the pulse's length, so a pulse 100× "
                + "shorter into a 100× larger summing gain would deliver the same charge per step for 1/100 of the read energy.\n"
        }
        if let i = inference {
            md += "\n## Per inference (\(i.samples) test samples, latency \(Self.si(i.latency, "s")))\n\n"
            md += "| part | per inference |\n|---|---|\n"
            md += "| RRAM reads | \(Self.si(i.reads, "J")) |\n| FeLIF input and spikes (dynamic) | \(Self.si(i.neuronDynamic, "J")) |\n"
            md += "| FeLIF neurons at rest (static × latency) | \(Self.si(i.neuronStatic, "J")) |\n| **total** | **\(Self.si(i.total, "J"))** |\n\n"
            md += "Synaptic operations per inference: \(String(format: "%.0f", i.synapticOperations)); "
                + "energy per synaptic operation \(Self.joules(i.perSynapticOperation)) (reads alone \(Self.joules(i.readPerSynapticOperation))), "
                + "\(EnergyAnchor.decade(i.perSynapticOperation)); chips: Tianjic 1.54 pJ, TrueNorth 2.5 pJ, Loihi 23.6 pJ, SpiNNaker 45 pJ.\n\n"
            md += "| layer | what | spikes | read events | synaptic ops | energy |\n|---|---|---|---|---|---|\n"
            for l in i.layers {
                md += "| \(l.index) | \(l.kind) | " + [l.spikes, l.readEvents, l.synapticOperations].map { $0.map { String(format: "%.1f", $0) } ?? "–" }
                    .joined(separator: " | ") + " | " + (l.energy.map { Self.si($0, "J") } ?? "– (\(l.note ?? ""))") + " |\n"
            }
            if !i.unpriced.isEmpty { md += "\nNot priced: " + i.unpriced.joined(separator: "; ") + ".\n" }
        }
        if !checks.isEmpty {
            md += "\n## Estimate against whole-column SPICE\n\n"
            md += "| sample | column | synapses | spikes (surrogate / SPICE) | estimate | SPICE sum | error "
                + "| neuron: estimate | neuron: SPICE | error |\n|---|---|---|---|---|---|---|---|---|---|\n"
            for c in checks {
                md += "| \(c.sample) | \(c.column) | \(c.synapses) | \(c.surrogateSpikes) / \(c.spice.spikes) | \(Self.si(c.estimated, "J")) | "
                    + "\(Self.si(c.spice.total, "J")) | \(String(format: "%+.2f %%", 100 * c.relativeError)) | "
                    + "\(Self.si(c.estimatedNeuron, "J")) | \(Self.si(c.spice.neuron, "J")) | "
                    + "\(String(format: "%+.1f %%", 100 * c.neuronRelativeError)) |\n"
            }
            let worst = checks.map { abs($0.relativeError) }.max()!, worstNeuron = checks.map { abs($0.neuronRelativeError) }.max()!
            md += "\nWorst |error| \(String(format: "%.2f %%", 100 * worst)) on the whole column, \(String(format: "%.1f %%", 100 * worstNeuron)) "
                + "on the neuron alone. The SPICE sum integrates every source of the column deck: each input line's read pulses, the "
                + "summing-line gain into the membrane and the neuron's own supplies; the neuron's share is the last two, against "
                + "the input's ∫I·V dt from the surrogate's currents and membrane + spikes × the supplies' E_spike(rate) "
                + "+ P_static·T + the power-up charge (the deck starts at 0 V). The reads dominate the "
                + "column's energy, so the neuron's columns are the test of the neuron's pricing; its estimate counts the "
                + "surrogate's spikes, so a spike the circuit drops or adds moves it by one E_spike.\n"
        }
        return md
    }

    /// Energy per spike against input current (measured points): the dynamic part, what the static power costs
    /// over one interspike interval, and the largest parts; the chip's neuron beside the calibrated one.
    public func perSpikePlot() -> String {
        func series(_ n: NeuronEnergy, colors: [String]) -> [SVGPlot.Series] {
            let f = n.firing.sorted { $0.current < $1.current }
            let x = f.map(\.current)
            var out = [SVGPlot.Series(label: "dynamic per spike", x: x, y: f.map { $0.dynamicPerSpike! }, color: colors[0], markers: true),
                       SVGPlot.Series(label: "static × interval", x: x, y: f.map { n.staticPower / $0.rate }, color: colors[1], markers: true)]
            for (k, label) in ["FeCap switching", "reset switch", "latch and timer"].enumerated() {
                let y = f.map { $0.partsPerSpike?[label] ?? 0 }
                if y.allSatisfy({ $0 > 0 }) { out.append(.init(label: label, x: x, y: y, color: colors[2 + k], markers: true)) }
            }
            return out
        }
        var panels = [SVGPlot.Panel(yLabel: "as calibrated: energy per spike [J]", series: series(neuronDevice, colors: Array(SVGPlot.palette.prefix(5))), logY: true)]
        if let c = neuronChip, c != neuronDevice {
            panels.append(.init(yLabel: "as the chip runs it [J]", series: series(c, colors: Array(SVGPlot.palette.prefix(5))), logY: true))
        }
        return SVGPlot(title: "FeLIF energy per spike from ngspice (dots: measured f–I points)", xLabel: "input current [A]", panels: panels).render()
    }

    /// Bruno's figures (per spike, per synaptic operation) on one log axis among the published ones.
    public func comparisonPlot() -> String {
        var rows: [(String, Double, Double?, Bool)] = anchors.map { ("\($0.label) — per \($0.per) (\($0.source))", $0.low, $0.high, false) }
        if let e = neuronDevice.firing.last?.dynamicPerSpike { rows.append(("Bruno FeLIF neuron — per spike", e, nil, true)) }
        if let i = inference {
            rows.append(("Bruno chip — per synaptic operation", i.perSynapticOperation, nil, true))
            rows.append(("Bruno chip — per inference", i.total, nil, true))
        }
        let values = rows.flatMap { [$0.1] + ($0.2.map { [$0] } ?? []) }.filter { $0 > 0 }
        let lo = floor(log10(values.min() ?? 1e-15)), hi = ceil(log10(values.max() ?? 1e-9))
        let left = 470.0, width = 1100.0, plotW = width - left - 90, rowH = 22.0, top = 40.0
        let height = top + Double(rows.count) * rowH + 50
        func px(_ v: Double) -> Double { left + (log10(v) - lo) / max(hi - lo, 1) * plotW }
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" \
        font-family="sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="20" text-anchor="middle" font-size="14">Energy: Bruno (ngspice) against published figures</text>

        """
        for d in stride(from: lo, through: hi, by: 1) {
            let x = px(pow(10, d))
            svg += "<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(top - 6)\" y2=\"\(top + Double(rows.count) * rowH)\" stroke=\"#e4e4e4\"/>"
            svg += "<text x=\"\(x)\" y=\"\(top + Double(rows.count) * rowH + 16)\" text-anchor=\"middle\">\(SVGPlot.si(pow(10, d)))J</text>\n"
        }
        for (k, r) in rows.enumerated() {
            let y = top + Double(k) * rowH + rowH / 2, color = r.3 ? "#d62728" : "#1f77b4"
            svg += "<text x=\"\(left - 8)\" y=\"\(y + 4)\" text-anchor=\"end\"\(r.3 ? " font-weight=\"bold\"" : "")>\(SVGPlot.escape(r.0))</text>"
            if let h = r.2 {
                svg += "<line x1=\"\(px(r.1))\" x2=\"\(px(h))\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"\(color)\" stroke-width=\"6\"/>"
            } else {
                svg += "<circle cx=\"\(px(r.1))\" cy=\"\(y)\" r=\"5\" fill=\"\(color)\"/>"
            }
            svg += "<text x=\"\(px(r.2 ?? r.1) + 8)\" y=\"\(y + 4)\">\(SVGPlot.si(r.1))J\(r.2.map { "–\(SVGPlot.si($0))J" } ?? "")</text>\n"
        }
        svg += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 8)\" text-anchor=\"middle\">energy [J], log scale; "
            + "dots: single figures, bars: published ranges; red: Bruno</text>\n</svg>\n"
        return svg
    }
}

/// The report's headline figures as a few printable lines.
public enum EnergySummary {
    public static func lines(_ r: EnergyReport) -> [String] {
        var out = (r.warnings ?? []).map { "WARNING: \($0)" }
        out += ["neuron at rest: \(EnergyReport.si(r.neuronDevice.staticPower, "W")) "
                   + "(power-up charge \(EnergyReport.si(r.neuronDevice.powerUpEnergy, "J")) once)"]
        for p in r.neuronDevice.points.sorted(by: { $0.current < $1.current }) {
            out.append("neuron at \(EnergyReport.si(p.current, "A")): \(p.spikes) spikes, "
                + (p.dynamicPerSpike.map { "\(EnergyReport.joules($0)) per spike" } ?? "no spikes in the window (static power only)")
                + String(format: ", supplied vs absorbed %.1e", p.imbalance))
        }
        if let s = r.synapse {
            out.append("RRAM read per event: " + s.levels.map { "L\($0.level) \(EnergyReport.joules($0.readEnergy))" }.joined(separator: ", "))
            let prog = s.levels.compactMap { l in l.programmingMean.map { "L\(l.level) \(EnergyReport.joules($0))" } }
            if !prog.isEmpty { out.append("RRAM programming: " + prog.joined(separator: ", ")) }
        }
        if let i = r.inference {
            out.append("per inference: \(EnergyReport.si(i.total, "J")) (reads \(EnergyReport.si(i.reads, "J")), spikes "
                + "\(EnergyReport.si(i.neuronDynamic, "J")), static \(EnergyReport.si(i.neuronStatic, "J"))); "
                + "\(EnergyReport.joules(i.perSynapticOperation)) per synaptic operation; latency \(EnergyReport.si(i.latency, "s"))")
        }
        if let worst = r.checks.map({ abs($0.relativeError) }).max() {
            out.append(String(format: "estimate vs whole-column SPICE: %d columns, worst |error| %.2f %%", r.checks.count, 100 * worst))
        }
        return out
    }
}
