import BrunoCards
import BrunoData
import BrunoSupport
import BrunoSurrogates
import Foundation

/// The three datasets of an experiment and what the task is.
public struct ExperimentData: Sendable {
    public var train: SequenceDataset
    /// Used for reduce-on-plateau and the best-epoch choice.
    public var valid: SequenceDataset
    /// Only reported.
    public var test: SequenceDataset
    /// Class names (classification); empty for next-step prediction.
    public var classes: [String]
    public var channels: Int
    /// Width of the prediction target (prediction tasks).
    public var targetChannels: Int
    /// The per-channel standardisation fitted on `train` and applied to all three splits (nil: inputs as read).
    public var normalization: InputNormalization?
    /// Seconds between the recording's samples as used (recorded data; nil for generated or binary data).
    public var samplePeriod: Double?
    /// The random-kernel front end, when the config asks for one (its seed and draws are in run.json).
    public var kernels: DilatedKernels?
    /// What was chosen for the user (derived sample period, constant channels): logged and kept in run.json.
    public var notes: [String] = []

    /// Loads (or generates) the data a config names, checking every value is finite.
    public static func load(_ c: TrainingConfig) throws -> ExperimentData {
        var out: ExperimentData
        switch c.data {
        case .braille:
            // The synthetic sets are generated in memory: refuse sizes that would not fit before generating them.
            let samples = Double(c.perClass.train + c.perClass.valid + c.perClass.test) * Double(BrailleGenerator.classes.count)
            let bytes = samples * Double(c.steps) * Double(c.taxelRows * c.taxelColumns) * 4
            if bytes > MemoryEstimate.availableBytes * 0.5 {
                throw TrainingError.dataTooLarge(description: String(format: "%.0f synthetic samples of %d steps × %d taxels", samples, c.steps, c.taxelRows * c.taxelColumns),
                                                 bytes: bytes, available: MemoryEstimate.availableBytes)
            }
            var g = BrailleGenerator()
            g.steps = c.steps
            g.taxelRows = c.taxelRows
            g.taxelColumns = c.taxelColumns
            // Three disjoint sample streams of one generator seed.
            let train = g.dataset(perClass: c.perClass.train, seed: c.dataSeed)
            let valid = g.dataset(perClass: c.perClass.valid, seed: c.dataSeed &+ 1_000_003)
            let test = g.dataset(perClass: c.perClass.test, seed: c.dataSeed &+ 2_000_003)
            out = ExperimentData(train: train, valid: valid, test: test, classes: BrailleGenerator.classes, channels: g.channels, targetChannels: 0)
        case .jsb:
            let url = c.dataPath!
            var train = try JSBChorales.load(url, split: "train")
            // The held-back test split is used when the file has it; otherwise the official validation split is
            // the reported held-out set and a slice of train drives the schedule.
            let reported = try (try? JSBChorales.load(url, split: "test")) ?? JSBChorales.load(url, split: "valid")
            if let m = c.maxSequences { train.samples = Array(train.samples.prefix(m)) }
            let (fit, select) = split(train, fraction: c.validFraction, seed: c.dataSeed)
            out = ExperimentData(train: fit, valid: select, test: reported, classes: [], channels: JSBChorales.keys, targetChannels: JSBChorales.keys)
        case .uea:
            let grid = c.stepping.coarseStep
            var options = UEATimeSeries.Options(samplePeriod: c.samplePeriod ?? grid, gridStep: grid)
            var train = try UEATimeSeries.load(c.dataPath!, options: options)
            var notes: [String] = []
            if c.samplePeriod == nil {
                // One file sample per coarse step, stretched until the median recording spans `minimumSteps`
                // steps: a 24-sample series over 24 ms gives the neurons too few steps to integrate it.
                let median = train.medianSteps
                let stretch = max(1, Int((Double(ExperimentData.minimumSteps) / Double(max(median, 1))).rounded(.up)))
                options.samplePeriod = Double(stretch) * grid
                if stretch > 1 { train = try UEATimeSeries.load(c.dataPath!, options: options) }
                notes.append("data.sample_period not set: chose " + String(format: "%g", options.samplePeriod) + " s, \(stretch) coarse "
                    + "step(s) per file sample, so that the median training series (\(median) samples) spans "
                    + "\((median - 1) * stretch + 1) steps of " + String(format: "%g", grid) + " s")
            }
            // The test file's labels are matched to the training file's classes by name, not by position.
            options.classes = train.classes
            let test = try UEATimeSeries.load(c.testPath!, options: options)
            guard train.channels == test.channels else {
                throw DataError(file: c.testPath!.path, "has \(test.channels) channels, the training file \(train.channels)")
            }
            let (fit, select) = split(train, fraction: c.validFraction, seed: c.dataSeed)
            out = ExperimentData(train: fit, valid: select, test: test, classes: train.classes, channels: train.channels, targetChannels: 0)
            out.samplePeriod = options.samplePeriod
            out.notes = notes
        }
        try out.checkFinite()
        let recorded = out.channels
        if !c.delayDifferences.isEmpty {
            let front = DelayDifferences(delays: c.delayDifferences)
            out.transformSplits(front.apply)
            out.channels = front.channels(from: out.channels)
        }
        if c.randomKernels > 0 {
            // Dilations scaled to the median training series, after any stretching to the coarse grid.
            let bank = DilatedKernels(count: c.randomKernels, sourceChannels: recorded, length: out.train.medianSteps,
                                      seed: c.kernelSeed ?? c.dataSeed)
            out.transformSplits(bank.apply)
            out.channels = bank.channels(from: out.channels)
            out.kernels = bank
        }
        if c.normalize {
            // Fitted on the training split only, after the selection split is taken out of it.
            let norm = InputNormalization(fittedOn: out.train)
            out.transformSplits(norm.apply)
            out.normalization = norm
            if !norm.constantChannels.isEmpty {
                out.notes.append("channel(s) \(norm.constantChannels.map(String.init).joined(separator: ", ")) of \(out.train.name) "
                    + "are constant over the training split: they carry no information and are fed as 0")
            }
        }
        guard !out.train.samples.isEmpty, !out.valid.samples.isEmpty else {
            throw DataError(file: out.train.name, "too few samples to train and select (train \(out.train.count), selection \(out.valid.count))")
        }
        return out
    }

    /// Shortest recording, in coarse steps, that the derived `sample_period` stretches the median series to.
    public static let minimumSteps = 100

    /// The same transform of the inputs applied to all three splits.
    mutating func transformSplits(_ f: (SequenceDataset) -> SequenceDataset) {
        train = f(train)
        valid = f(valid)
        test = f(test)
    }

    /// Every input finite, every label a class.
    func checkFinite() throws {
        let out = self
        for set in [out.train, out.valid, out.test] {
            for (i, s) in set.samples.enumerated() {
                if let bad = s.values.firstIndex(where: { !$0.isFinite }) {
                    throw DataError(file: set.name, location: "sample \(i), step \(bad / max(set.channels, 1)), channel \(bad % max(set.channels, 1))",
                                    "value is \(s.values[bad]); inputs must be finite")
                }
                if let l = s.label, !(0..<max(out.classes.count, 1)).contains(l) {
                    throw DataError(file: set.name, location: "sample \(i)", "label \(l) outside 0…\(out.classes.count - 1)")
                }
            }
        }
    }

    /// A seeded split of `set` into (rest, fraction).
    static func split(_ set: SequenceDataset, fraction: Double, seed: UInt64) -> (SequenceDataset, SequenceDataset) {
        var rng = SeededRandom(seed: seed).derived(0x5917)
        var order = Array(set.samples.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let k = max(1, Int((Double(set.count) * fraction).rounded()))
        var a = set, b = set
        a.samples = order.dropFirst(k).sorted().map { set.samples[$0] }
        b.samples = order.prefix(k).sorted().map { set.samples[$0] }
        a.name += "-fit"
        b.name += "-select"
        return (a, b)
    }

    public var isClassification: Bool { !classes.isEmpty }
}

/// The cards a run used, with their hashes (recorded in the run, checked on resume and export).
public struct CardsUsed: Sendable, Codable, Equatable {
    public var felif: String?
    public var felifSHA256: String?
    public var rram: String?
    public var rramSHA256: String?
}

extension Network {
    /// The network a config describes, on devices drawn from `seed`:
    /// [encoding → LIF] → (Linear → LIF, recurrent or not)* → Linear → output neurons (FeLIF or LIF) [→ (input appended) → Linear readout].
    public static func build(_ c: TrainingConfig, data: ExperimentData) throws -> (Network, CardsUsed) {
        var rng = SeededRandom(seed: c.seed).derived(0x1417)
        var cards = CardsUsed()
        let synapses: SynapseModel
        switch c.synapses {
        case .float: synapses = .float
        case .uniform: synapses = .uniform(bits: c.bits)
        case .rram:
            let card = try DeviceCard.load(c.rramCard)
            cards.rram = c.rramCard.path
            cards.rramSHA256 = try SHA256.hex(ofFile: c.rramCard)
            var weights = RRAMWeights(synapse: try RRAMSynapse(card: card), readNoise: c.readNoise, programmingNoise: c.programmingNoise)
            weights.fastNoise = c.fastNoise
            synapses = .rram(weights)
        }
        var layers: [NetworkLayer] = []
        var width = data.channels
        if c.encoding > 0 {
            layers.append(.encoding(EncodingLayer(channels: width, neurons: c.encoding, gainRange: c.encodingGain, onOff: c.encodingOnOff)))
            width = c.encoding
        }
        for h in c.hidden {
            layers.append(.linear(LinearLayer(inputs: width, outputs: h, synapses: synapses, bias: false, rng: &rng, gain: c.initGain)))
            let lif = LIFLayer(alpha: c.hiddenAlpha, beta: c.hiddenBeta, threshold: 1, spikeGradient: c.stepping.spikeGradient)
            if c.hiddenRecurrent {
                layers.append(.recurrentLIF(RecurrentLIFLayer(neurons: h, lif: lif, synapses: synapses, rng: &rng, gain: c.recurrentInitGain,
                                                              scale: c.recurrentScale)))
            } else {
                layers.append(.lif(lif))
            }
            width = h
        }
        let outputs = c.outputSize ?? (data.isClassification ? data.classes.count : data.targetChannels)
        layers.append(.linear(LinearLayer(inputs: width, outputs: outputs, synapses: synapses, bias: false, rng: &rng, gain: c.initGain)))
        switch c.output {
        case .lif:
            layers.append(.lif(LIFLayer(alpha: 0, beta: c.outputBeta, threshold: 1, spikeGradient: c.stepping.spikeGradient)))
        case .felif:
            let card = try DeviceCard.load(c.felifCard)
            try card.requirePassedGate(file: c.felifCard, accepting: c.acceptFailedCard)
            cards.felif = c.felifCard.path
            cards.felifSHA256 = try SHA256.hex(ofFile: c.felifCard)
            let surrogate = try FeLIFTraceSimulation(card: card).surrogate
            var devices = SeededRandom(seed: c.seed).derived(0xD2D)
            var layer = FeLIFLayer(neurons: outputs, surrogate: surrogate, variation: c.felifVariation, rng: &devices,
                                   stepping: c.stepping, inputScale: c.inputScale)
            layer.exponentialIntegrator = c.exponentialIntegrator
            layer.precision = c.finePrecision
            layers.append(.felif(layer, output: c.felifOutput))
        }
        if c.readout {
            var features = outputs
            if c.readoutSeesInput {
                layers.append(.appendInput(features: outputs))
                features += data.channels
            }
            var readout = LinearLayer(inputs: features, outputs: data.targetChannels, synapses: .float, bias: true, rng: &rng)
            if c.loss == .bce, let prior = data.train.targetLogOdds(skippingFirst: c.warmup) { readout.bias = prior }
            layers.append(.linear(readout))
        }
        return (Network(inputs: data.channels, layers: layers), cards)
    }
}

extension SequenceDataset {
    /// Per target channel, the log-odds of the training targets over the steps a BCE loss counts (after
    /// `skippingFirst` warm-up steps), clamped to p ∈ [10⁻³, 1 − 10⁻³]; nil without targets. A readout's bias starts
    /// here so that training begins at the per-key marginal (JSB: 11.0 nats per step instead of 37.4 at p = ½) —
    /// with a step of 10⁻³ per update, Adam would otherwise spend ~1000 updates moving the bias of a rare key to −5.
    public func targetLogOdds(skippingFirst warmup: Int) -> [Float]? {
        guard let width = samples.first?.targets.map({ $0.count / max(1, samples[0].steps) }), width > 0 else { return nil }
        var on = [Double](repeating: 0, count: width), counted = 0.0
        for s in samples {
            guard let t = s.targets, s.steps > warmup else { continue }
            for step in warmup..<s.steps {
                for k in 0..<width { on[k] += Double(t[step * width + k]) }
            }
            counted += Double(s.steps - warmup)
        }
        guard counted > 0 else { return nil }
        return on.map { n in
            let p = min(1 - 1e-3, max(1e-3, n / counted))
            return Float(log(p / (1 - p)))
        }
    }
}

