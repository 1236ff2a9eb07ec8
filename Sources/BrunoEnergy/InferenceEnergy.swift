import BrunoDevices
import BrunoSpice
import BrunoSupport
import BrunoTraining
import BrunoValidation
import Foundation

/// What one inference of a trained chip costs, from the trained model's event counts on the test set.
///
/// E = Σ read events × E_read(cell) + Σ FeLIF input energy + Σ FeLIF spikes × E_supplies(rate) + P_static · T per
/// FeLIF neuron. The input energy ∫ I·V dt is taken from the surrogate's own currents and membrane
/// (`inputEnergy`): it flows whether or not the neuron fires. A read event
/// is one input spike on a row of an RRAM crossbar: it pulses every cell pair of the row, and a cell's read energy
/// is proportional to its programmed conductance (`SynapseEnergy.readEnergyPerSiemens`), so the chip's own
/// programmed conductances — variability included — price it. Layers without a circuit model (LIF encoders and
/// hidden layers) are counted in spikes and named, not priced.
public struct InferenceEnergy: Sendable, Equatable, Codable {
    public struct Layer: Sendable, Equatable, Codable {
        public var index: Int
        public var kind: String
        /// Spikes per inference (spiking layers), read events and synaptic operations per inference (RRAM layers).
        public var spikes: Double?
        public var readEvents: Double?
        public var synapticOperations: Double?
        /// Energy per inference [J] of this layer's circuits (nil: no circuit model).
        public var energy: Double?
        public var note: String?
    }

    public var samples: Int
    /// Time one sample takes on the chip [s] (steps × coarse step).
    public var latency: Double
    public var layers: [Layer]
    /// Per inference [J]: RRAM reads, FeLIF spikes (dynamic), FeLIF neurons at rest (static × latency).
    public var reads: Double
    public var neuronDynamic: Double
    public var neuronStatic: Double
    public var synapticOperations: Double
    public var unpriced: [String]

    public var total: Double { reads + neuronDynamic + neuronStatic }
    /// Energy per synaptic operation [J]: all of the chip's energy over its synaptic operations (how chips are
    /// compared), and the reads alone.
    public var perSynapticOperation: Double { total / max(synapticOperations, 1) }
    public var readPerSynapticOperation: Double { reads / max(synapticOperations, 1) }

    /// The level the circuit holds the membrane at during its reset (the `felif` subcircuit's polarizing
    /// voltage, the same in the chip's neuron as in the calibrated one).
    public static let holdVoltage = FeLIFParameters.reference.polarizingVoltage

    /// ∫ I·V dt [J] of one neuron's input over a sample, from its coarse-step currents [A] and end-of-step membrane
    /// [V] (the surrogate's; the membrane starts at 0 V). Within a quiet step V is the mean of the step's ends; in a
    /// step whose end crossed `threshold` the circuit reaches the threshold about halfway and is then held at
    /// `holdVoltage`, as it is for the whole of the next step (the surrogate's hold step); after it, the
    /// membrane starts from the surrogate's reset value.
    public static func inputEnergy(currents: [Double], membrane: [Double], threshold: Double, dt: Double,
                                   holdVoltage: Double = holdVoltage) -> Double {
        var e = 0.0, start = 0.0, previousSpiked = false
        for t in 0..<min(currents.count, membrane.count) {
            let end = membrane[t]
            let mean: Double
            if previousSpiked {
                mean = holdVoltage
                previousSpiked = false
            } else if end >= threshold {
                mean = 0.5 * (0.5 * (start + threshold)) + 0.5 * holdVoltage
                previousSpiked = true
            } else {
                mean = 0.5 * (start + end)
            }
            e += currents[t] * mean * dt
            start = end
        }
        return e
    }

    /// The per-sample seed of the evaluation pass, as whole-chip verification draws it (read noise).
    static func sampleSeed(_ seed: UInt64, sample: Int) -> UInt64 { SeededRandom(seed: seed).derived(UInt64(sample)).seed }

    /// Counts events over the first `samples` test samples of `opened` and prices them.
    public static func estimate(_ opened: ChipVerification.OpenRun, neuron: NeuronEnergy, synapse: SynapseEnergy, samples: Int?,
                                progress: ((Int, Int) -> Void)? = nil) throws -> InferenceEnergy {
        let network = opened.trainer.network, chip = opened.trainer.chip(), test = opened.trainer.data.test
        let count = min(samples ?? test.count, test.count)
        guard count > 0 else { throw EnergyError("the run's test set is empty: no inference to price") }
        let eS = synapse.readEnergyPerSiemens
        var layers: [Layer] = network.layers.enumerated().map { i, l in
            switch l {
            case .encoding(let e): return Layer(index: i, kind: "\(e.neurons) LIF encoders", spikes: 0, note: "no circuit model: not priced")
            case .lif: return Layer(index: i, kind: "LIF hidden layer", spikes: 0, note: "no circuit model: not priced")
            case .recurrentLIF(let r):
                return Layer(index: i, kind: "recurrent LIF hidden layer (\(r.neurons))", spikes: 0,
                             note: "no circuit model: neurons and recurrent synapses not priced")
            case .felif(let f, _): return Layer(index: i, kind: "\(f.neurons) FeLIF neurons", spikes: 0, energy: 0)
            case .appendInput: return Layer(index: i, kind: "the input passed to the readout", note: "wiring: not priced")
            case .linear(let lin):
                if case .rram = lin.synapses { return Layer(index: i, kind: "RRAM crossbar", readEvents: 0, synapticOperations: 0, energy: 0) }
                return Layer(index: i, kind: "linear layer (\(lin.synapses))", note: "not RRAM synapses: not priced")
            }
        }
        var reads = 0.0, dynamic = 0.0, stat = 0.0, ops = 0.0, latency = 0.0
        var missingRates = false
        for s in 0..<count {
            let x = test.samples[s]
            var rng = SeededRandom(seed: sampleSeed(opened.settings.seed, sample: s))
            let pass = network.forward(x.values, steps: x.steps, batch: 1, rng: &rng, realised: chip)
            var steps = x.steps, dt = 1e-3
            for (i, tape) in pass.tapes.enumerated() {
                switch (network.layers[i], tape) {
                case (.linear(let lin), .linear(let t)):
                    guard case .rram = lin.synapses, let plus = t.realised.plus, let minus = t.realised.minus else { continue }
                    let rows = t.input.cols, cols = plus.count / max(rows, 1)
                    var rowConductance = [Double](repeating: 0, count: rows)
                    for r in 0..<rows { for j in 0..<cols { rowConductance[r] += plus[r * cols + j] + minus[r * cols + j] } }
                    var e = 0.0, events = 0.0
                    for k in 0..<t.input.rows { for r in 0..<rows where t.input.values[k * rows + r] != 0 { e += rowConductance[r] * eS; events += 1 } }
                    layers[i].readEvents! += events
                    layers[i].synapticOperations! += events * Double(cols)
                    layers[i].energy! += e
                    reads += e
                    ops += events * Double(cols)
                case (.felif(let f, _), .felif(let t)):
                    steps = t.steps
                    dt = f.stepping.coarseStep
                    let n = f.neurons, duration = Double(t.steps) * dt
                    var e = 0.0, spikes = 0.0
                    for j in 0..<n {
                        e += Self.inputEnergy(currents: (0..<t.steps).map { t.currents[$0 * n + j] },
                                              membrane: (0..<t.steps).map { t.v[($0 + 1) * n + j] },
                                              threshold: f.devices[j].threshold, dt: dt)
                        let c = (0..<t.steps).reduce(0) { $0 + (t.spikes[$1 * n + j] > 0 ? 1 : 0) }
                        guard c > 0 else { continue }
                        guard let perSpike = neuron.supplyEnergy(atRate: Double(c) / duration) else { missingRates = true; continue }
                        e += Double(c) * perSpike
                        spikes += Double(c)
                    }
                    let rest = neuron.staticPower * duration * Double(n)
                    layers[i].spikes! += spikes
                    layers[i].energy! += e + rest
                    dynamic += e
                    stat += rest
                default:
                    if layers[i].spikes != nil, let c = pass.spikeCounts[i] { layers[i].spikes! += c }
                }
            }
            latency += Double(steps) * dt
            progress?(s + 1, count)
        }
        if missingRates { throw EnergyError("the neuron energy table has no firing point: no f–I current made the neuron spike") }
        let m = 1 / Double(count)
        for i in layers.indices {
            layers[i].spikes = layers[i].spikes.map { $0 * m }
            layers[i].readEvents = layers[i].readEvents.map { $0 * m }
            layers[i].synapticOperations = layers[i].synapticOperations.map { $0 * m }
            layers[i].energy = layers[i].energy.map { $0 * m }
        }
        return InferenceEnergy(samples: count, latency: latency * m, layers: layers, reads: reads * m, neuronDynamic: dynamic * m,
                               neuronStatic: stat * m, synapticOperations: ops * m,
                               unpriced: layers.compactMap { l in l.note.map { "layer \(l.index): \(l.kind) — \($0)" } })
    }
}

/// One column of one sample priced from its event counts and simulated in ngspice with every source integrated.
public struct ColumnEnergyCheck: Sendable, Equatable, Codable {
    public var sample: Int
    public var column: Int
    public var synapses: Int
    /// From event counts [J]: reads, and the neuron (its surrogate spikes × E_spike + static + the power-up charge
    /// that the column's deck, started at 0 V, also pays; an inference on a powered chip does not).
    public var estimatedReads: Double
    public var estimatedNeuron: Double
    /// From ngspice [J]: the column's whole source integral.
    public var spice: FeLIFColumnEnergy
    public var surrogateSpikes: Int

    public var estimated: Double { estimatedReads + estimatedNeuron }
    public var relativeError: Double { (estimated - spice.total) / spice.total }
    /// The neuron's share alone: its estimate against what the membrane input and its supplies delivered in SPICE.
    public var neuronRelativeError: Double { (estimatedNeuron - spice.neuron) / spice.neuron }

    /// Simulates `columns` of each of `samples` (the most active columns first when nil) with energy probes.
    public static func run(_ opened: ChipVerification.OpenRun, samples: [Int], columns: Int, neuron: NeuronEnergy, synapse: SynapseEnergy,
                           on pool: SpicePool, library: DeviceLibrary) async throws -> [ColumnEnergyCheck] {
        let network = opened.trainer.network, chip = opened.trainer.chip(), test = opened.trainer.data.test
        let l = try network.validationLayer(opened.settings.layer)
        let eS = synapse.readEnergyPerSiemens
        typealias Pending = (sample: Int, column: Int, reads: Double, neuron: Double, spikes: Int, circuit: FeLIFColumn)
        var cases: [Pending] = []
        for s in samples where test.samples.indices.contains(s) {
            let x = test.samples[s]
            let t = try TrainedLayerSample(network: network, layer: l, chip: chip, x: x.values, steps: x.steps,
                                           seed: InferenceEnergy.sampleSeed(opened.settings.seed, sample: s))
            let order = (0..<t.columns).sorted { (t.counts[$0], -$0) > (t.counts[$1], -$1) }
            guard case .felif(let felif, _) = network.layers[l] else { continue }
            for j in order.prefix(columns).sorted() {
                var c = t.column(j)
                c.recordsEnergy = true
                var reads = 0.0
                for (syn, spikes) in zip(c.synapses, c.inputSpikes) { reads += Double(spikes.count) * (syn.plus + syn.minus) * eS }
                let duration = Double(t.steps) * t.coarseStep, n = t.counts[j]
                let perSpike = n > 0 ? neuron.supplyEnergy(atRate: Double(n) / duration) ?? 0 : 0
                let input = InferenceEnergy.inputEnergy(currents: c.stepCurrents(coarseStep: t.coarseStep, steps: t.steps), membrane: t.surrogateMembrane[j],
                                                        threshold: felif.devices[j].threshold, dt: t.coarseStep)
                // The column's deck starts from 0 V like the neuron bench: its supplies charge the neuron once.
                cases.append((s, j, reads, input + Double(n) * perSpike + neuron.staticPower * duration + neuron.powerUpEnergy, n, c))
            }
        }
        guard !cases.isEmpty else { throw EnergyError("no test sample to check the energy estimate on") }
        return try await withThrowingTaskGroup(of: (Int, ColumnEnergyCheck).self) { group in
            for (k, p) in cases.enumerated() {
                group.addTask {
                    let spice = try FeLIFColumnEnergy(try await pool.simulate(p.circuit.netlist(library: library)), column: p.circuit)
                    return (k, ColumnEnergyCheck(sample: p.sample, column: p.column, synapses: p.circuit.synapses.count,
                                                 estimatedReads: p.reads, estimatedNeuron: p.neuron, spice: spice, surrogateSpikes: p.spikes))
                }
            }
            var out = [ColumnEnergyCheck?](repeating: nil, count: cases.count)
            for try await (k, c) in group { out[k] = c }
            return out.map { $0! }
        }
    }
}
