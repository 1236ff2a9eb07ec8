import BrunoCalibration
import BrunoCards
import BrunoDevices
import BrunoSpice
import BrunoSupport
import BrunoSurrogates
import BrunoTraining
import BrunoValidation
import Foundation

/// `bruno energy`: the neuron, the synapse and — for a trained run — the inference, measured and written as one
/// report. Everything is computed before anything is written.
public struct EnergyRun: Sendable {
    /// The trained run (nil: device figures only).
    public var run: URL?
    public var overrides: [String] = []
    /// FeLIF calibration protocol: its constant-current stimuli are the f–I range.
    public var felifProtocol: URL
    /// RRAM calibration protocol: variability and netlist of the programming Monte Carlo.
    public var rramProtocol: URL
    /// RRAM card for the synapse figures when there is no run (a run brings its own).
    public var rramCard: URL?
    /// FeLIF card for the electrode area when there is no run.
    public var felifCard: URL?
    /// Constant currents [A] and windows [s] instead of the protocol's.
    public var currents: [(current: Double, duration: Double)]?
    public var programmingsPerLevel = 8
    /// Test samples to price (nil: all) and the whole-column SPICE check (samples × most active columns).
    public var samples: Int?
    public var checkSamples = [0, 1]
    public var checkColumns = 4

    public init(run: URL?, felifProtocol: URL, rramProtocol: URL) {
        self.run = run
        self.felifProtocol = felifProtocol
        self.rramProtocol = rramProtocol
    }

    public func measure(on pool: SpicePool, library: DeviceLibrary, log: @escaping @Sendable (String) -> Void) async throws -> EnergyReport {
        var opened: ChipVerification.OpenRun?
        var felifCardURL = felifCard, rramCardURL = rramCard
        var layerSample: TrainedLayerSample?
        if let run {
            let o = try ChipVerification.open(run: run, overrides: overrides)
            guard let f = o.trainer.cards.felif else {
                throw EnergyError("\(run.path): the run was trained without a FeLIF card (devices.felif_card): there is no calibrated neuron to price")
            }
            guard let r = o.trainer.cards.rram else {
                throw EnergyError("\(run.path): the run was trained without an RRAM card (devices.rram_card): there are no programmed synapses to price")
            }
            felifCardURL = URL(fileURLWithPath: f)
            rramCardURL = URL(fileURLWithPath: r)
            let network = o.trainer.network, test = o.trainer.data.test
            let l = try network.validationLayer(o.settings.layer)
            guard let x = test.samples.first else { throw EnergyError("\(run.path): the run's test set is empty: no inference to price") }
            layerSample = try TrainedLayerSample(network: network, layer: l, chip: o.trainer.chip(), x: x.values, steps: x.steps,
                                                 seed: InferenceEnergy.sampleSeed(o.settings.seed, sample: 0))
            opened = o
        }
        let felifCardLoaded = try felifCardURL.map { try DeviceCard.load($0) }
        let area = try felifCardLoaded?.required("area", unit: "m^2") ?? FeLIFParameters.reference.area
        var warnings: [String] = []
        if let c = felifCardLoaded, let w = Self.neuronCircuitWarning(card: c, path: felifCardURL!.path, library: library) {
            warnings.append(w)
            log("WARNING: " + w)
        }
        let range = try currents ?? FeLIFProtocol.load(felifProtocol).stimuli.filter { $0.currents.count == 1 && $0.currents[0] > 0 }
            .map { (current: $0.currents[0], duration: $0.duration) }
        log("neuron: \(range.count) f–I currents and one run at rest")
        let device = try await NeuronEnergy.measure(parameters: .reference, currents: range, area: area,
                                                    conditions: "the shipped felif subcircuit as calibrated, reset timer "
                                                        + "\(FeLIFParameters.reference.resetTime * 1e6) µs",
                                                    on: pool, library: library, progress: log)
        var chipNeuron: NeuronEnergy?
        if let t = layerSample {
            chipNeuron = try await NeuronEnergy.measure(parameters: t.neuron, currents: range, area: area,
                                                        conditions: "as the chip runs it: reset timer \(String(format: "%.4g", t.neuron.resetTime * 1e6)) µs "
                                                            + "(matched to the \(t.coarseStep * 1e3) ms coarse step)",
                                                        on: pool, library: library, progress: log)
        }
        var synapse: SynapseEnergy?
        if let rramCardURL {
            let pulse = layerSample?.pulseWidth ?? 1e-3 - 2e-6
            log("synapse: reads at 8 levels, \(programmingsPerLevel) programmings per level")
            synapse = try await SynapseEnergy.measure(card: try DeviceCard.load(rramCardURL), pulseWidth: pulse, protocolFile: rramProtocol,
                                                      programmingsPerLevel: programmingsPerLevel, on: pool, library: library, log: log)
        }
        var inference: InferenceEnergy?
        var checks: [ColumnEnergyCheck] = []
        if let opened, let synapse, let chipNeuron {
            guard !chipNeuron.firing.isEmpty else {
                throw EnergyError("no f–I current made the neuron spike: there is no energy per spike to price the chip with "
                                  + "(static power \(chipNeuron.staticPower) W)")
            }
            inference = try InferenceEnergy.estimate(opened, neuron: chipNeuron, synapse: synapse, samples: samples)
            log("inference: \(inference!.samples) test samples priced; checking \(checkSamples.count) × \(checkColumns) columns in ngspice")
            if checkColumns > 0 && !checkSamples.isEmpty {
                checks = try await ColumnEnergyCheck.run(opened, samples: checkSamples, columns: checkColumns, neuron: chipNeuron,
                                                         synapse: synapse, on: pool, library: library)
            }
        }
        var report = EnergyReport(run: run?.standardizedFileURL.path, neuronDevice: device, neuronChip: chipNeuron, synapse: synapse,
                                  inference: inference, checks: checks)
        report.felifCard = felifCardURL?.standardizedFileURL.path
        report.rramCard = synapse == nil ? nil : rramCardURL?.standardizedFileURL.path
        report.checkpointSHA256 = try run.map { try SHA256.hex(ofFile: $0.appendingPathComponent("checkpoint.json")) }
        report.warnings = warnings
        return report
    }

    /// The neuron benches simulate the shipped `felif` subcircuit at Bruno's reference parameters — the circuit the
    /// committed card (`calibration/felif.card.json`) was calibrated on, and the one whole-chip decks simulate. A card
    /// calibrated on another netlist, or on a changed one, describes a circuit the benches do not run: say so.
    static func neuronCircuitWarning(card: DeviceCard, path: String, library: DeviceLibrary) -> String? {
        let shipped = try? DeviceCard.load(library.root.appendingPathComponent("calibration/felif.card.json"))
        let same = card.provenance.netlistSHA256 == shipped?.provenance.netlistSHA256
            && (card.provenance.includes ?? [:]) == (shipped?.provenance.includes ?? [:])
        if same { return nil }
        return "the FeLIF card \(path) was calibrated on \(card.provenance.netlist) (SHA-256 "
            + "\(card.provenance.netlistSHA256.prefix(12))…), not on the shipped neuron netlist the committed card describes: "
            + "the neuron figures are the shipped felif subcircuit's at Bruno's reference parameters (the circuit whole-chip "
            + "validation simulates), not your circuit's"
    }
}
