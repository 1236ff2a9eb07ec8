import BrunoCalibration
import BrunoCards
import BrunoDevices
import BrunoEnergy
import BrunoSpice
import BrunoSupport
import BrunoTraining
import BrunoValidation
import Foundation

/// Why a run cannot be exported.
public struct ExportError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// `bruno export`: what a circuit designer takes away from a trained run (see `docs/export.md`).
///
/// DIR/felif.card.json, rram.card.json — the cards the run trained with, byte for byte;
/// DIR/devices.lib — the same parameters as SPICE `.param` blocks and example `.subckt` instances;
/// DIR/synapses.csv — one row per synapse of every RRAM layer with its level, conductances and programming recipe;
/// DIR/network.cir — the trained FeLIF layer for one sample as a circuit (with DIR/models/ copied), and
/// DIR/network-expected.json — what the surrogate did on that sample; DIR/README.md explains all of it.
public struct RunExport: Sendable {
    public var run: URL
    public var library: DeviceLibrary

    public init(run: URL, library: DeviceLibrary) {
        self.run = run
        self.library = library
    }

    public struct Summary: Sendable {
        public var files: [String]
        public var sample: Int
        public var expectedCounts: [Int]
        public var expectedClass: Int?
        public var synapses: Int
        /// What the export left out and why (e.g. an energy report of an earlier checkpoint).
        public var notes: [String] = []
    }

    /// Checks that the run exists, that its cards are the files it trained with and that each card's netlist is
    /// still the one it was calibrated on; returns the trainer with the checkpoint loaded.
    public func load(overrides: [String] = []) throws -> (Trainer, epoch: Int) {
        let fm = FileManager.default
        guard fm.fileExists(atPath: run.appendingPathComponent("config.toml").path) else {
            throw ExportError("\(run.path): no such run (no config.toml); train one with `bruno train --out \(run.path)`")
        }
        guard fm.fileExists(atPath: run.appendingPathComponent("checkpoint.json").path) else {
            throw ExportError("\(run.path): the run has no checkpoint.json yet (it has not finished an epoch)")
        }
        let config = try TrainingConfig.load(run.appendingPathComponent("config.toml"), overrides: overrides)
        var trainer = try Trainer(config: config)
        let recorded = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("run.json"))) as? [String: Any] ?? [:]
        for (key, url) in [("felif_card", config.felifCard), ("rram_card", config.rramCard)] {
            guard let entry = recorded[key] as? [String: Any], let hash = entry["sha256"] as? String else { continue }
            let now = try SHA256.hex(ofFile: url)
            guard now == hash else {
                throw ExportError("\(url.path) changed since the run trained with it (SHA-256 then \(hash), now \(now)); export needs the card the network was trained on")
            }
            let changed = try DeviceCard.load(url).provenance.changedSources(root: library.root)
            guard changed.isEmpty else {
                throw ExportError("the circuit has changed since \(url.lastPathComponent) was calibrated on it: \(changed.joined(separator: "; ")); recalibrate (`bruno calibrate`) and retrain")
            }
        }
        let epoch = try trainer.loadCheckpoint(from: run)
        return (trainer, epoch)
    }

    /// Writes everything into `out`. `sample` picks the test sample of network.cir (default: the first that
    /// drives the FeLIF layer).
    public func write(to out: URL, sample requested: Int? = nil) throws -> Summary {
        let (trainer, epoch) = try load()
        let fm = FileManager.default
        try fm.createDirectory(at: out, withIntermediateDirectories: true)
        // One writer per export folder; temporaries of a killed earlier export are removed first.
        let lock = try RunFolderLock(out)
        defer { lock.release() }
        _ = AtomicFile.removeStaleTemporaries(in: out)
        _ = AtomicFile.removeStaleTemporaries(in: out.appendingPathComponent("models"))
        var files: [String] = []
        func put(_ name: String, _ data: Data) throws {
            try AtomicFile.write(data, to: out.appendingPathComponent(name))
            files.append(name)
        }
        let c = trainer.config
        let felifCard = try DeviceCard.load(c.felifCard), rramCard = try DeviceCard.load(c.rramCard)
        try put("felif.card.json", try Data(contentsOf: c.felifCard))
        try put("rram.card.json", try Data(contentsOf: c.rramCard))
        let chip = trainer.chip()
        let network = trainer.network
        let layer = try network.validationLayer(nil)
        guard case .felif(let felif, _) = network.layers[layer] else { throw ExportError("internal: layer \(layer) is not FeLIF") }
        try put("devices.lib", Data(try DeviceCards.spiceLibrary(felif: felifCard, rram: rramCard, layer: felif, coarseStep: felif.stepping.coarseStep).utf8))
        let (csv, count) = try SynapseTable.csv(network: network, chip: chip, rram: rramCard)
        try put("synapses.csv", Data(csv.utf8))
        // The sample: requested, or the first test sample that drives the layer.
        let set = trainer.data.test
        var chosen: TrainedLayerSample?
        var index = 0
        for i in (requested.map { [$0] } ?? Array(set.samples.indices)) {
            guard set.samples.indices.contains(i) else { throw ExportError("sample \(i) is out of range: the test set has \(set.count) samples") }
            let s = set.samples[i]
            let t = try TrainedLayerSample(network: network, layer: layer, chip: chip, x: s.values, steps: s.steps, seed: c.validation.seed)
            if requested != nil || t.inputSpikes.contains(where: { !$0.isEmpty }) { chosen = t; index = i; break }
        }
        guard let t = chosen else { throw ExportError("no test sample drives layer \(layer)") }
        try fm.createDirectory(at: out.appendingPathComponent("models"), withIntermediateDirectories: true)
        for lib in ["rram.lib", "felif.lib", "fecap.lib"] {
            try put("models/\(lib)", try Data(contentsOf: library.models.appendingPathComponent(lib)))
        }
        let label = set.samples[index].label
        let deck = try t.circuit.text(library: library, modelsPath: "models",
                                      title: "Trained FeLIF layer \(layer) of \(run.lastPathComponent) (epoch \(epoch)), test sample \(index)\(label.map { " (class \($0))" } ?? "")")
        try put("network.cir", Data(deck.utf8))
        let isOutput = layer == network.layers.count - 1
        // The decision the network was trained to make, computed from what the surrogate did in every column.
        let readout = c.classReadout ?? .spikeCount
        let logits = readout.logits(counts: t.counts.map(Double.init), membrane: t.surrogateMembrane, thresholds: felif.devices.map(\.threshold))
        let predicted = isOutput ? ClassReadout.decision(logits) : nil
        var expected: [String: Any] = [
            "run": run.path, "epoch": epoch, "sample": index, "label": label as Any, "layer": layer,
            "surrogate_spike_counts": t.counts, "surrogate_predicted_class": predicted as Any,
            "coarse_step_s": t.coarseStep, "steps": t.steps, "readout": readout.name,
            "note": "spike counts per column j = v(spk<j>) pulses; " + Self.readoutNote(readout),
        ]
        if isOutput { expected["surrogate_logits"] = logits }
        if readout.readsMembrane { expected["surrogate_membrane_end_of_step_V"] = t.surrogateMembrane }
        try put("network-expected.json", try JSONSerialization.data(withJSONObject: expected, options: [.prettyPrinted, .sortedKeys]))
        let (energyFiles, notes) = try energyReport()
        if !energyFiles.isEmpty { try fm.createDirectory(at: out.appendingPathComponent("energy"), withIntermediateDirectories: true) }
        for (name, data) in energyFiles { try put("energy/\(name)", data) }
        try put("README.md", Data(ExportReadme.text(run: run, epoch: epoch, layer: layer, sample: index, columns: t.columns,
                                                     inputs: t.inputSpikes.filter { !$0.isEmpty }.count, synapses: count,
                                                     energy: !energyFiles.isEmpty).utf8))
        var summary = Summary(files: files, sample: index, expectedCounts: t.counts, expectedClass: predicted, synapses: count)
        summary.notes = notes
        return summary
    }

    /// The run's energy report (`bruno energy --run RUN` writes RUN/energy) when it was measured on the checkpoint
    /// being exported: its figures, plots and the cards with their energy sections.
    func energyReport() throws -> (files: [(String, Data)], notes: [String]) {
        let folder = run.appendingPathComponent("energy")
        switch try EnergyReportStanding(run: run) {
        case .missing: return ([], ["no energy report (run `bruno energy --run \(run.path)` to add one)"])
        case .otherCheckpoint:
            return ([], ["\(folder.appendingPathComponent("energy.json").path) was measured on another checkpoint: left out "
                         + "(rerun `bruno energy --run \(run.path)`)"])
        case .current: break
        }
        let names = ["energy.json", "energy.md", "energy-per-spike.svg", "energy-comparison.svg", "felif.card.json", "rram.card.json"]
        return (try names.filter { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }
            .map { ($0, try Data(contentsOf: folder.appendingPathComponent($0))) }, [])
    }

    /// How network-expected.json's predicted class follows from the circuit's outputs, in words.
    static func readoutNote(_ r: ClassReadout) -> String {
        let ties = "the largest logit wins (ties: lowest index; all equal: no class)"
        switch r {
        case .spikeCount: return "logit of column j = its spike count; " + ties
        case .countMembrane(let w):
            return "logit of column j = spike count + \(w) × mean over steps of v(mem<j>)/threshold_j, v read at the end of each "
                + "coarse step; " + ties
        case .membraneMean(let s): return "logit of column j = \(s) × mean over steps of v(mem<j>)/threshold_j (end of each step); " + ties
        case .membraneMax(let s): return "logit of column j = \(s) × max over steps of v(mem<j>)/threshold_j (end of each step); " + ties
        case .membraneLast(let s): return "logit of column j = \(s) × v(mem<j>)/threshold_j at the end of the last step; " + ties
        }
    }
}
