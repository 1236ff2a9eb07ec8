import BrunoCards
import BrunoSupport
import BrunoSurrogates
import Foundation
import TOMLKit

/// An experiment: data, network, devices, time stepping, optimiser. Read from TOML (`experiments/*.toml`) with
/// `--set table.key=value` overrides; every key is checked (unknown key → error with a suggestion, wrong type →
/// error naming the key and the expected type). Paths are relative to the config file.
public struct TrainingConfig: Sendable {
    public var file: URL
    /// The config as resolved (file + overrides), TOML text: written into the run folder.
    public var resolvedText: String

    // [run]
    public var seed: UInt64 = 1
    public var epochs = 30
    public var batch = 64
    /// Train the last epochs' parameters, but evaluate, validate and export the epoch with the best selection
    /// figure (`best.json`). Default: on for recorded data (`uea`), off for the synthetic set.
    public var restoreBest = false
    /// Draw each epoch's samples class by class in turn (minority classes repeat), so every batch sees every class.
    public var balancedBatches = false

    // [data]
    public enum DataKind: String, Sendable { case braille, jsb, uea }
    public var data = DataKind.braille
    public var perClass = (train: 40, valid: 10, test: 10)
    public var dataSeed: UInt64 = 7
    public var steps = 102
    public var taxelRows = 4, taxelColumns = 3
    public var dataPath: URL?
    public var testPath: URL?
    public var validFraction = 0.2
    /// Seconds between a recording's samples; nil: derived from the data (`ExperimentData.minimumSteps`).
    public var samplePeriod: Double?
    /// Per-channel standardisation fitted on the training split (`[data] normalize`, default on for `uea`).
    public var normalize = false
    /// Delays [coarse steps] of the difference front end (`[data] delay_differences`, `DelayDifferences`).
    public var delayDifferences: [Int] = []
    /// Random dilated kernels per recorded channel (`[data] random_kernels`, 0: none; `DilatedKernels`).
    public var randomKernels = 0
    /// Seed of the kernel bank (`[data] kernel_seed`; default: the data seed).
    public var kernelSeed: UInt64?
    public var maxSequences: Int?

    // [network]
    public var encoding = 128
    public var encodingGain: ClosedRange<Float> = 0.3...3
    /// Signed inputs: half the encoders see −x (`[network] encoding_polarity = "on_off"`, default for `uea`).
    public var encodingOnOff = false
    public var hidden: [Int] = [256]
    public var hiddenAlpha: Float = 0, hiddenBeta: Float = 0.9
    /// Recurrent synapses within each hidden layer (`[network] hidden_recurrent`), on the same synapse model.
    public var hiddenRecurrent = false
    /// Initial recurrent weights: uniform ±gain/√N on the synapse grid (`[network] recurrent_init_gain`).
    public var recurrentInitGain: Float = 8
    /// Gain of the recurrent current per unit of realised weight (`[network] recurrent_scale`, `RecurrentLIFLayer`).
    public var recurrentScale: Float = 0.05
    public enum OutputNeuron: String, Sendable { case felif, lif }
    public var output = OutputNeuron.felif
    /// Width of the output neuron layer (default: the number of classes).
    public var outputSize: Int?
    public var outputBeta: Float = 0.9
    public enum Synapses: String, Sendable { case float, uniform, rram }
    public var synapses = Synapses.rram
    public var bits = 3
    public var readNoise = 0.0
    public var programmingNoise = true
    /// `[network] fast_noise`: the ziggurat noise generator (`RRAMWeights.fastNoise`).
    public var fastNoise = false
    public var initGain: Float = 1
    public var felifOutput = FeLIFOutput.spikes
    /// A trained linear readout after the output neurons (prediction tasks: logits per key and step).
    public var readout = false
    /// The readout also sees the network's input of the same step (`[network] readout_input`; an echo-state
    /// readout: the output neurons then only have to add what the input alone does not predict).
    public var readoutSeesInput = false
    /// Input current per unit of a FeLIF layer's input [A].
    public var inputScale = 2e-9

    // [devices]
    public var felifCard: URL
    public var rramCard: URL
    public var felifVariation = 0.02
    /// Train on a card that failed its calibration quality gate (`[devices] accept_failed_card`; recorded in run.json).
    public var acceptFailedCard = false

    // [felif]
    public var stepping: FeLIFStepping = {
        var s = FeLIFStepping()
        s.exponentialCoarseGradient = true
        return s
    }()
    public var exponentialIntegrator = false
    /// `[felif] precision`: the fine forward's arithmetic (`FinePrecision`).
    public var finePrecision = FinePrecision.float32

    // [optimizer]
    public var optimizer = Optimizer.Kind.adamax
    public var learningRate = 2e-3
    public var plateau = ReduceOnPlateau()
    /// Warm-up + cosine decay instead of reduce-on-plateau (`[optimizer] schedule = "cosine"`).
    public var cosine: CosineSchedule?
    /// Global L2 norm the gradient is clipped to before each update (`[optimizer] clip_norm`; nil: no clipping).
    public var clipNorm: Double?
    /// Peak learning rate of the readout's weights and bias (`[optimizer] readout_learning_rate`; nil: the same as
    /// `learningRate`). It follows the same schedule, scaled by `readoutLearningRate / learningRate`.
    public var readoutLearningRate: Double?
    /// Epochs at the start in which only the readout learns (`[optimizer] readout_only_epochs`, default 0): the
    /// readout's problem is convex while the neurons are fixed, so it first settles on the untrained cells' features
    /// and the input; the synapses then train against a readout that already predicts.
    public var readoutOnlyEpochs = 0
    /// Full-batch Adam steps fitting a BCE readout on the untrained network's features before the first epoch
    /// (`[optimizer] readout_fit_steps`, default 0: none; `ReadoutFit`).
    public var readoutFitSteps = 0
    /// Decoupled weight decay of every weight matrix, not of biases (`[optimizer] weight_decay`, default 0; AdamW).
    public var weightDecay = 0.0

    // [validation]: SPICE-in-the-loop (BrunoValidation runs it; the trainer calls it through a hook)
    public var validation = ValidationSettings()

    // [loss]
    public enum LossKind: String, Sendable {
        case spikeCount = "spike_count", countMembrane = "count_membrane", bce
        case membraneMean = "membrane_mean", membraneMax = "membrane_max", membraneLast = "membrane_last"
    }
    public var loss = LossKind.spikeCount
    public var warmup = 5
    /// Weight of the silent-target membrane term (`[loss] silent_weight`, `Loss.silentTarget`; default 1 for `uea`).
    public var silentWeight = 0.0
    /// γ of the count-membrane loss (`[loss] membrane_weight`, `Loss.countMembraneCrossEntropy`).
    public var membraneWeight = 1.0
    /// Logit per unit of V/θ of the membrane readouts (`[loss] membrane_scale`, `ClassReadout`).
    public var membraneScale = 5.0

    /// The class decision the loss trains (nil: not a classification loss).
    public var classReadout: ClassReadout? {
        switch loss {
        case .spikeCount: return .spikeCount
        case .countMembrane: return .countMembrane(weight: membraneWeight)
        case .membraneMean: return .membraneMean(scale: membraneScale)
        case .membraneMax: return .membraneMax(scale: membraneScale)
        case .membraneLast: return .membraneLast(scale: membraneScale)
        case .bce: return nil
        }
    }

    /// Loads `url` and applies `overrides` (`table.key=value`, value in TOML syntax; a bare word is a string).
    public static func load(_ url: URL, overrides: [String] = []) throws -> TrainingConfig {
        let file = url.path
        let root = try StrictTable.parse(url)
        for o in overrides { try apply(o, to: root, file: file) }
        return try TrainingConfig(root, url: url)
    }

    static func apply(_ override: String, to root: TOMLTable, file: String) throws {
        guard let eq = override.firstIndex(of: "="), case let key = String(override[..<eq]).trimmingCharacters(in: .whitespaces),
              let dot = key.firstIndex(of: ".")
        else { throw ProtocolError(file: file, "--set '\(override)': expected table.key=value (e.g. optimizer.learning_rate=1e-3)") }
        let table = String(key[..<dot]), name = String(key[key.index(after: dot)...])
        let raw = String(override[override.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        // Parse the value as TOML (numbers, booleans, quoted strings, arrays); a bare word is a string. The value
        // is copied out as a Swift value: a node of the temporary table must not outlive it.
        func copy(_ v: TOMLValueConvertible) -> TOMLValueConvertible {
            if let i = v.int { return i }
            if let d = v.double { return d }
            if let b = v.bool { return b }
            if let s = v.string { return s }
            if let a = v.array {
                let out = TOMLArray()
                for x in a { out.append(copy(x)) }
                return out
            }
            return raw
        }
        guard !raw.contains(where: \.isNewline), !raw.contains("\u{0}") else {
            throw ProtocolError(file: file, "--set '\(table).\(name)': a value is one line of text (no newline or NUL)")
        }
        let parsed: TOMLValueConvertible = StrictTable.unsafeTableHeaderLine("v = \(raw)") != nil ? raw
            : (try? TOMLTable(string: "v = \(raw)")).flatMap { $0["v"] }.map(copy) ?? raw
        if root[table] == nil { root[table] = TOMLTable() }
        guard let t = root[table]?.table else { throw ProtocolError(file: file, "--set '\(override)': '\(table)' is not a table") }
        t[name] = parsed
    }

    init(_ root: TOMLTable, url: URL) throws {
        let file = url.path
        self.file = url
        // A run folder's own config.toml (beside its run.json) is being reopened, not a new run configured.
        let reopening = url.lastPathComponent == "config.toml"
            && FileManager.default.fileExists(atPath: url.deletingLastPathComponent().appendingPathComponent("run.json").path)
        if reopening && root["felif"]?.table?["precision"] == nil { finePrecision = .float64 }
        resolvedText = root.convert(to: .toml)
        let top = try StrictTable(root, path: "top level", file: file,
                                  allowed: ["run", "data", "network", "devices", "felif", "optimizer", "loss", "validation"])
        // Cards not named in [devices] are the package's committed ones, wherever the experiment file is kept.
        let calibration = (try? DeviceLibrary.locate())?.root.appendingPathComponent("calibration")
            ?? url.deletingLastPathComponent().appendingPathComponent("../calibration").standardizedFileURL
        felifCard = calibration.appendingPathComponent("felif.card.json")
        rramCard = calibration.appendingPathComponent("rram.card.json")
        validation.protocol = calibration.appendingPathComponent("felif.toml")
        let run = try top.subtable("run", allowed: ["seed", "epochs", "batch", "restore_best", "balanced_batches"])
        if let r = run {
            seed = UInt64(try r.int("seed", default: 1, in: 0...Int.max))
            epochs = try r.int("epochs", default: epochs, in: 1...100_000)
            batch = try r.int("batch", default: batch, in: 1...1_000_000)
            balancedBatches = try r.bool("balanced_batches", default: false)
        }
        if let d = try top.subtable("data", allowed: ["kind", "train_per_class", "valid_per_class", "test_per_class", "seed", "steps", "taxel_rows",
                                                   "taxel_columns", "path", "test_path", "valid_fraction", "sample_period", "max_sequences",
                                                   "normalize", "delay_differences", "random_kernels", "kernel_seed"]) {
            let kind = try d.string("kind", default: "braille")
            guard let k = DataKind(rawValue: kind) else { throw d.error("kind", "one of braille, jsb, uea (got '\(kind)')") }
            data = k
            perClass = (try d.int("train_per_class", default: 40, in: 1...1_000_000),
                        try d.int("valid_per_class", default: 10, in: 1...1_000_000),
                        try d.int("test_per_class", default: 10, in: 1...1_000_000))
            dataSeed = UInt64(try d.int("seed", default: 7, in: 0...Int.max))
            steps = try d.int("steps", default: 102, in: 1...1_000_000)
            taxelRows = try d.int("taxel_rows", default: 4, in: 1...1024)
            taxelColumns = try d.int("taxel_columns", default: 3, in: 1...1024)
            if d.table["path"] != nil { dataPath = StrictTable.resolve(try d.string("path"), relativeTo: url) }
            if d.table["test_path"] != nil { testPath = StrictTable.resolve(try d.string("test_path"), relativeTo: url) }
            validFraction = try d.double("valid_fraction", default: 0.2, in: 0.01...0.9)
            if d.table["sample_period"] != nil { samplePeriod = try d.positive("sample_period", default: 1e-3, atMost: 3600) }
            let n = try d.string("normalize", default: data == .uea ? "channel" : "none")
            guard n == "channel" || n == "none" else { throw d.error("normalize", "channel or none (got '\(n)')") }
            normalize = n == "channel"
            if d.table["delay_differences"] != nil { delayDifferences = try d.ints("delay_differences", in: 1...100_000) }
            randomKernels = try d.int("random_kernels", default: 0, in: 0...10_000)
            if d.table["kernel_seed"] != nil { kernelSeed = UInt64(try d.int("kernel_seed", default: 0, in: 0...Int.max)) }
            if d.table["max_sequences"] != nil { maxSequences = try d.int("max_sequences", default: 0, in: 1...Int.max) }
            if data != .braille && dataPath == nil { throw ProtocolError(file: file, "[data] kind = \(kind) needs 'path'") }
            if data == .uea && testPath == nil { throw ProtocolError(file: file, "[data] kind = uea needs 'test_path' (the _TEST.ts file)") }
        }
        restoreBest = try run?.bool("restore_best", default: data == .uea) ?? (data == .uea)
        encodingOnOff = data == .uea
        if let n = try top.subtable("network", allowed: ["encoding", "encoding_gain", "encoding_polarity", "hidden", "hidden_alpha", "hidden_beta",
                                                      "hidden_recurrent", "recurrent_init_gain", "recurrent_scale", "output", "output_size",
                                                      "output_beta", "synapses", "bits", "read_noise", "programming_noise", "fast_noise", "init_gain",
                                                      "felif_output", "readout", "readout_input", "input_scale"]) {
            encoding = try n.int("encoding", default: encoding, in: 0...65_536)  // 0: inputs go straight in
            if n.table["encoding_gain"] != nil {
                let g = try n.doubles("encoding_gain")
                guard g.count == 2, g[0] > 0, g[1] >= g[0] else { throw n.error("encoding_gain", "[lowest, highest] with 0 < lowest ≤ highest") }
                encodingGain = Float(g[0])...Float(g[1])
            }
            let polarity = try n.string("encoding_polarity", default: encodingOnOff ? "on_off" : "positive")
            guard polarity == "on_off" || polarity == "positive" else {
                throw n.error("encoding_polarity", "positive or on_off (got '\(polarity)')")
            }
            encodingOnOff = polarity == "on_off"
            if n.table["hidden"] != nil { hidden = try n.ints("hidden", in: 1...65_536) }
            hiddenAlpha = Float(try n.double("hidden_alpha", default: 0, in: 0...1))
            hiddenBeta = Float(try n.double("hidden_beta", default: 0.9, in: 0...1))
            hiddenRecurrent = try n.bool("hidden_recurrent", default: false)
            recurrentInitGain = Float(try n.positive("recurrent_init_gain", default: Double(recurrentInitGain), atMost: 1e3))
            recurrentScale = Float(try n.positive("recurrent_scale", default: Double(recurrentScale), atMost: 1e3))
            let o = try n.string("output", default: "felif")
            guard let out = OutputNeuron(rawValue: o) else { throw n.error("output", "felif or lif (got '\(o)')") }
            output = out
            if n.table["output_size"] != nil { outputSize = try n.int("output_size", default: 0, in: 1...65_536) }
            outputBeta = Float(try n.double("output_beta", default: 0.9, in: 0...1))
            let s = try n.string("synapses", default: "rram")
            guard let syn = Synapses(rawValue: s) else { throw n.error("synapses", "float, uniform or rram (got '\(s)')") }
            synapses = syn
            bits = try n.int("bits", default: 3)
            guard (2...16).contains(bits) else { throw n.error("bits", "between 2 and 16") }
            readNoise = try n.double("read_noise", default: 0, in: 0...1)
            programmingNoise = try n.bool("programming_noise", default: true)
            fastNoise = try n.bool("fast_noise", default: false)
            initGain = Float(try n.positive("init_gain", default: 1, atMost: 1e3))
            let fo = try n.string("felif_output", default: "spikes")
            guard let fout = FeLIFOutput(rawValue: fo) else { throw n.error("felif_output", "spikes or membrane (got '\(fo)')") }
            felifOutput = fout
            readout = try n.bool("readout", default: false)
            readoutSeesInput = try n.bool("readout_input", default: false)
            if readoutSeesInput && !readout { throw n.error("readout_input", "readout = true (the input is appended before the readout)") }
            inputScale = try n.positive("input_scale", default: inputScale, atMost: 1e-3)
        }
        if let d = try top.subtable("devices", allowed: ["felif_card", "rram_card", "felif_variation", "accept_failed_card"]) {
            acceptFailedCard = try d.bool("accept_failed_card", default: false)
            if d.table["felif_card"] != nil { felifCard = StrictTable.resolve(try d.string("felif_card"), relativeTo: url) }
            if d.table["rram_card"] != nil { rramCard = StrictTable.resolve(try d.string("rram_card"), relativeTo: url) }
            // Device-to-device spread as a relative standard deviation: beyond 0.5, sampled parameters go negative.
            felifVariation = try d.double("felif_variation", default: 0.02, in: 0...0.5)
        }
        if let f = try top.subtable("felif", allowed: ["mode", "fine_steps", "coarse_step", "spike_gradient", "slope", "detach_tau", "integrator", "coarse_gradient",
                                                           "precision"]) {
            let m = try f.string("mode", default: "bruno")
            let modes = ["bruno": FeLIFMode.bruno, "bptt": .bptt, "bptt_checkpointed": .bpttCheckpointed, "coarse_only": .coarseOnly]
            guard let mode = modes[m] else { throw f.error("mode", "one of bruno, bptt, bptt_checkpointed, coarse_only (got '\(m)')") }
            stepping.mode = mode
            stepping.fineSteps = try f.int("fine_steps", default: 1000, in: 1...100_000)
            // A coarse step is one step of the data (1 ms in the paper); a second already spans whole recordings.
            stepping.coarseStep = try f.positive("coarse_step", default: 1e-3, atMost: 1)
            let g = try f.string("spike_gradient", default: "fast_sigmoid")
            switch g {
            case "fast_sigmoid": stepping.spikeGradient = .fastSigmoid(slope: try f.positive("slope", default: 10, atMost: 1e6))
            case "tanh_squared": stepping.spikeGradient = .tanhSquared
            default: throw f.error("spike_gradient", "fast_sigmoid or tanh_squared (got '\(g)')")
            }
            stepping.detachTau = try f.bool("detach_tau", default: false)
            let cg = try f.string("coarse_gradient", default: "exponential")
            guard cg == "euler" || cg == "exponential" else { throw f.error("coarse_gradient", "euler or exponential (got '\(cg)')") }
            stepping.exponentialCoarseGradient = cg == "exponential"
            let i = try f.string("integrator", default: "euler")
            guard i == "euler" || i == "exponential" else { throw f.error("integrator", "euler or exponential (got '\(i)')") }
            exponentialIntegrator = i == "exponential"
            if exponentialIntegrator && (stepping.mode == .bptt || stepping.mode == .bpttCheckpointed) {
                throw ProtocolError(file: file, "[felif] integrator = exponential is a forward option of bruno mode; fine-grid BPTT differentiates the Euler sub-steps")
            }
            // Float32 unless fine-grid BPTT (which stores Double sub-steps) — or a run folder from before the
            // choice existed (its config.toml has no key: it trained in Double and is reopened in Double).
            let fallback = reopening || stepping.mode == .bptt || stepping.mode == .bpttCheckpointed ? "float64" : "float32"
            let precision = try f.string("precision", default: fallback)
            guard let fp = FinePrecision(rawValue: precision) else {
                throw f.error("precision", "float32 or float64 (got '\(precision)')")
            }
            finePrecision = fp
            if fp == .float32 && (stepping.mode == .bptt || stepping.mode == .bpttCheckpointed) {
                throw ProtocolError(file: file, "[felif] precision = float32 is a forward option of bruno and coarse_only; fine-grid BPTT stores and differentiates Double sub-steps")
            }
        }
        if let o = try top.subtable("optimizer", allowed: ["kind", "learning_rate", "plateau_factor", "plateau_patience", "min_learning_rate",
                                                        "schedule", "warmup_epochs", "clip_norm",
                                                        "readout_learning_rate", "readout_only_epochs",
                                                        "readout_fit_steps", "weight_decay"]) {
            let k = try o.string("kind", default: "adamax")
            guard let kind = Optimizer.Kind(rawValue: k) else { throw o.error("kind", "adam or adamax (got '\(k)')") }
            optimizer = kind
            learningRate = try o.positive("learning_rate", default: learningRate, atMost: 10)
            plateau = ReduceOnPlateau(factor: try o.double("plateau_factor", default: 0.5, in: 0.01...1),
                                      patience: try o.int("plateau_patience", default: 5, in: 0...100_000),
                                      minimum: try o.positive("min_learning_rate", default: 1e-6, atMost: 10))
            if o.table["clip_norm"] != nil { clipNorm = try o.positive("clip_norm", default: 1, atMost: 1e9) }
            if o.table["readout_learning_rate"] != nil {
                guard readout else {
                    throw o.error("readout_learning_rate", "[network] readout = true (it is the readout's own rate)")
                }
                readoutLearningRate = try o.positive("readout_learning_rate", default: learningRate, atMost: 10)
            }
            if o.table["readout_only_epochs"] != nil {
                guard readout else {
                    throw o.error("readout_only_epochs", "[network] readout = true (only the readout learns in them)")
                }
                readoutOnlyEpochs = try o.int("readout_only_epochs", default: 0, in: 0...100_000)
            }
            weightDecay = try o.double("weight_decay", default: 0, in: 0...1e3)
            if o.table["readout_fit_steps"] != nil {
                guard readout else {
                    throw o.error("readout_fit_steps", "[network] readout = true and [loss] kind = \"bce\" (it fits the readout)")
                }
                readoutFitSteps = try o.int("readout_fit_steps", default: 0, in: 0...1_000_000)
            }
            let schedule = try o.string("schedule", default: "plateau")
            guard schedule == "plateau" || schedule == "cosine" else { throw o.error("schedule", "plateau or cosine (got '\(schedule)')") }
            if schedule == "cosine" {
                cosine = CosineSchedule(peak: learningRate, minimum: plateau.minimum,
                                        warmupEpochs: try o.int("warmup_epochs", default: 3, in: 0...100_000), epochs: epochs)
            }
        }
        silentWeight = data == .uea ? 1 : 0
        if let l = try top.subtable("loss", allowed: ["kind", "warmup", "silent_weight", "membrane_weight", "membrane_scale"]) {
            silentWeight = try l.double("silent_weight", default: silentWeight, in: 0...1e6)
            let k = try l.string("kind", default: "spike_count")
            guard let kind = LossKind(rawValue: k) else { throw l.error("kind", "spike_count, count_membrane, membrane_mean, membrane_max, membrane_last or bce (got '\(k)')") }
            membraneWeight = try l.double("membrane_weight", default: 1, in: 0...1e6)
            membraneScale = try l.positive("membrane_scale", default: membraneScale, atMost: 1e6)
            loss = kind
            warmup = try l.int("warmup", default: 5, in: 0...1_000_000)
        }
        // The resolved config names files by absolute path, so that it can be loaded from the run folder.
        func absolute(_ table: String, _ key: String, _ url: URL?) {
            guard let url else { return }
            if root[table] == nil { root[table] = TOMLTable() }
            root[table]?.table?[key] = url.path
        }
        absolute("devices", "felif_card", felifCard)
        absolute("devices", "rram_card", rramCard)
        if dataPath != nil { absolute("data", "path", dataPath) }
        // The precision is written into the resolved config, so that a run folder says how it was trained.
        if !reopening {
            if root["felif"] == nil { root["felif"] = TOMLTable() }
            root["felif"]?.table?["precision"] = finePrecision.rawValue
        }
        if testPath != nil { absolute("data", "test_path", testPath) }
        resolvedText = root.convert(to: .toml)
        if let v = try top.subtable("validation", allowed: ["every", "samples", "layer", "columns", "min_class_agreement", "max_spike_count_error",
                                                         "max_trace_nrmse", "instances", "seed", "recalibrate", "protocol"]) {
            validation.every = try v.int("every", default: 0, in: 0...100_000)
            validation.samples = try v.int("samples", default: 1, in: 1...1_000_000)
            if v.table["layer"] != nil { validation.layer = try v.int("layer", default: 0, in: 0...1000) }
            let c = try v.int("columns", default: 2, in: 0...65_536)
            validation.columns = c > 0 ? c : nil
            validation.minClassAgreement = try v.double("min_class_agreement", default: 0.8)
            validation.maxSpikeCountError = try v.double("max_spike_count_error", default: 1)
            validation.maxTraceNRMSE = try v.double("max_trace_nrmse", default: 0.1)
            validation.instances = try v.int("instances", default: 2, in: 1...256)
            validation.seed = UInt64(try v.int("seed", default: 11, in: 0...Int.max))
            validation.recalibrate = try v.bool("recalibrate", default: false)
            if v.table["protocol"] != nil { validation.protocol = StrictTable.resolve(try v.string("protocol"), relativeTo: url) }
            guard validation.every >= 0, validation.samples >= 1, validation.instances >= 1 else {
                throw ProtocolError(file: file, "[validation] every ≥ 0, samples ≥ 1 and instances ≥ 1")
            }
        }
        if let r = classReadout, r.readsMembrane, output != .felif || felifOutput != .spikes || readout {
            throw ProtocolError(file: file, "[loss] kind = \(r.name) reads the membrane of FeLIF output neurons: it needs "
                + "[network] output = \"felif\", felif_output = \"spikes\" and no readout")
        }
        if readoutFitSteps > 0 && loss != .bce {
            throw ProtocolError(file: file, "[optimizer] readout_fit_steps fits a per-step BCE readout: it needs [loss] kind = \"bce\"")
        }
        if loss == .bce && !readout { throw ProtocolError(file: file, "[loss] kind = bce needs [network] readout = true (per-step logits)") }
    }
}

/// SPICE-in-the-loop settings (`[validation]`).
public struct ValidationSettings: Sendable, Equatable {
    /// Epochs between checks (0: never during training); when on, the last epoch is always checked.
    public var every = 0
    /// Test samples simulated per check.
    public var samples = 1
    /// The FeLIF layer to check (nil: the last one).
    public var layer: Int?
    /// Columns per sample: the sample's class first, then the surrogate's most active others (nil: all).
    public var columns: Int? = 2
    /// Thresholds below which the run warns (class agreement over samples; mean |Δ spike count| per column;
    /// mean sub-threshold membrane NRMSE).
    public var minClassAgreement = 0.8
    public var maxSpikeCountError = 1.0
    public var maxTraceNRMSE = 0.1
    /// Parallel ngspice instances.
    public var instances = 2
    /// Seed of the checks' own draws (read noise of the surrogate pass).
    public var seed: UInt64 = 11
    /// When a check fails: recalibrate the FeLIF surrogate on the network's own input currents (the failing
    /// columns' currents as stimuli, fitted as `protocol` says) and continue training with the new card.
    public var recalibrate = false
    /// The FeLIF calibration protocol whose fit settings recalibration uses.
    public var `protocol`: URL?

    public init() {}
}
