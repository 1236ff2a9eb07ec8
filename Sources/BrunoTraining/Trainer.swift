import BrunoCards
import BrunoData
import BrunoSupport
import BrunoSurrogates
import Foundation

/// A training run in a folder: `config.toml` (resolved), `run.json` (seed, cards and their hashes),
/// `metrics.jsonl` (one line per epoch), `checkpoint.json` (atomic, every epoch) and `learning-curves.svg`.
///
/// Determinism: every random draw comes from the run's seed — the data order of epoch e from stream e, the
/// weight realisations of batch b in epoch e from stream (e, b), the evaluation chip from its own stream — and
/// parallel work is split in fixed ranges, so `--resume` from the checkpoint of epoch e continues bit-for-bit as
/// if the run had never stopped.
public struct Trainer {
    public var config: TrainingConfig
    public var data: ExperimentData
    public var network: Network
    public var cards: CardsUsed

    public init(config: TrainingConfig) throws {
        self.config = config
        data = try ExperimentData.load(config)
        try MemoryEstimate(config, data: data).check()
        (network, cards) = try Network.build(config, data: data)
    }

    /// One epoch's figures.
    public struct EpochMetrics: Codable, Sendable, Equatable {
        public var epoch: Int
        public var trainLoss: Double
        public var trainAccuracy: Double?
        public var validLoss: Double
        public var validAccuracy: Double?
        public var testLoss: Double
        public var testAccuracy: Double?
        /// Prediction tasks: negative log-likelihood per time step summed over keys [nats].
        public var validNLL: Double?
        public var testNLL: Double?
        public var learningRate: Double
        /// Mean spikes per sample, per spiking layer (index → count), on the test set.
        public var spikesPerSample: [String: Double]
        public var epochSeconds: Double
        public var wallSeconds: Double
        public var peakMemoryMB: Double
        /// Bytes held for one training batch's backward pass.
        public var backwardStoreMB: Double
        /// SPICE-in-the-loop figures of this epoch, when a check ran (see BrunoValidation).
        public var validation: [String: Double]? = nil

        /// The names in metrics.jsonl (snake case, units in the name where they are not obvious).
        enum CodingKeys: String, CodingKey {
            case epoch, trainLoss = "train_loss", trainAccuracy = "train_accuracy", validLoss = "valid_loss", validAccuracy = "valid_accuracy"
            case testLoss = "test_loss", testAccuracy = "test_accuracy", validNLL = "valid_nll", testNLL = "test_nll"
            case learningRate = "learning_rate", spikesPerSample = "spikes_per_sample", epochSeconds = "epoch_seconds"
            case wallSeconds = "wall_seconds", peakMemoryMB = "peak_memory_mb", backwardStoreMB = "backward_store_mb", validation
        }
    }

    struct Checkpoint: Codable {
        var format = "bruno-checkpoint"
        var version = 1
        var epoch: Int
        var parameters: [[Float]]
        var optimizer: Optimizer
        var plateau: ReduceOnPlateau
        var configSHA256: String
        var cards: CardsUsed
        var wallSeconds: Double
    }

    /// The epoch with the best selection figure so far (`best.json`), kept when `[run] restore_best` is on.
    struct Best: Codable {
        var format = "bruno-best"
        var epoch: Int
        /// Selection accuracy (classification) or −NLL/−loss: higher is better.
        var figure: Double
        var parameters: [[Float]]
        var configSHA256: String
        var cards: CardsUsed
    }

    /// The selection figure of an epoch, higher is better: accuracy (ties broken by the lower loss), else −NLL.
    static func selectionFigure(_ e: Evaluation) -> Double {
        if let a = e.accuracy { return a - 1e-6 * min(e.loss, 1e5) }
        return -(e.nll ?? e.loss)
    }

    /// Epoch `epoch`'s order of the training samples: a seeded shuffle, or with `balanced` the classes in turn,
    /// each class's samples shuffled and repeated as needed, for as many draws as there are samples.
    /// Per-tensor learning-rate multipliers of epoch `epoch` (nil: all 1). The readout is the last layer with
    /// synapses, so its weights and bias are the last two tensors; in the readout-only epochs every other tensor
    /// has scale 0 (its moments still accumulate, so the synapses start with warmed-up Adam state).
    static func rateScales(_ config: TrainingConfig, tensors: Int, epoch: Int) -> [Double]? {
        let readoutScale = config.readoutLearningRate.map { $0 / config.learningRate } ?? 1
        let frozen = epoch <= config.readoutOnlyEpochs
        guard config.readout, readoutScale != 1 || frozen, tensors >= 2 else { return nil }
        var scales = [Double](repeating: frozen ? 0 : 1, count: tensors)
        scales[tensors - 2] = readoutScale
        scales[tensors - 1] = readoutScale
        return scales
    }

    static func epochOrder(labels: [Int?], epoch: Int, seed: UInt64, balanced: Bool) -> [Int] {
        var shuffle = SeededRandom(seed: seed).derived(UInt64(epoch))
        func shuffled(_ a: [Int]) -> [Int] {
            var a = a
            for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, Int(shuffle.next() % UInt64(i + 1))) }
            return a
        }
        let all = shuffled(Array(labels.indices))
        guard balanced else { return all }
        let classes = Set(labels.compactMap { $0 }).sorted()
        guard classes.count > 1 else { return all }
        let byClass = classes.map { c in shuffled(labels.indices.filter { labels[$0] == c }) }
        var out: [Int] = [], next = [Int](repeating: 0, count: classes.count)
        // The classes start in a shuffled rotation, so the last partial batch is not always the same class.
        let rotation = shuffled(Array(classes.indices))
        while out.count < labels.count {
            for k in rotation where out.count < labels.count {
                let members = byClass[k]
                out.append(members[next[k] % members.count])
                next[k] += 1
            }
        }
        return out
    }

    /// Before the first epoch: the readout fitted full-batch on the untrained network's features (`ReadoutFit`).
    /// Its stream (tag 2 << 60) is apart from the training batches' (bit 60 set, epoch ≥ 1).
    mutating func fitReadout(log: (String) -> Void) {
        guard config.readout, config.loss == .bce, case .linear(let readout)? = network.layers.last else { return }
        let all = Array(0..<data.train.count), size = config.batch
        let batches = stride(from: 0, to: all.count, by: size).map { batch(data.train, all[$0..<min(all.count, $0 + size)]) }
        var rng = SeededRandom(seed: config.seed).derived(2 << 60)
        let started = Date()
        let fit = ReadoutFit(network: network, batches: batches, warmup: config.warmup, rng: &rng)
        let (layer, before, after) = fit.fit(readout, steps: config.readoutFitSteps)
        network.layers[network.layers.count - 1] = .linear(layer)
        log(String(format: "readout fit: %d full-batch steps on %d counted training steps, NLL %.3f → %.3f nats/step (%.1f s)",
                   config.readoutFitSteps, fit.features.rows, before, after, Date().timeIntervalSince(started)))
    }

    /// A batch in network layout.
    struct Batch {
        var x: [Float]
        var steps: Int
        var size: Int
        var labels: [Int]
        var targets: [Float]
        var mask: [Float]
    }

    func batch(_ set: SequenceDataset, _ indices: ArraySlice<Int>) -> Batch {
        let b = indices.count, c = set.channels
        let steps = indices.map { set.samples[$0].steps }.max() ?? 0
        let k = data.targetChannels
        var x = [Float](repeating: 0, count: steps * b * c)
        var targets = [Float](repeating: 0, count: k > 0 ? steps * b * k : 0)
        var mask = [Float](repeating: 0, count: steps * b)
        for (j, i) in indices.enumerated() {
            let s = set.samples[i]
            for t in 0..<s.steps {
                mask[t * b + j] = 1
                for ch in 0..<c { x[(t * b + j) * c + ch] = s.values[t * c + ch] }
                if k > 0, let tg = s.targets { for q in 0..<k { targets[(t * b + j) * k + q] = tg[t * k + q] } }
            }
        }
        return Batch(x: x, steps: steps, size: b, labels: indices.map { set.samples[$0].label ?? 0 }, targets: targets, mask: mask)
    }

    /// What the loss gives one batch: its value, dL/d(output), dL/dV of the output FeLIF layer (a membrane term),
    /// correct predictions and (prediction tasks) the summed NLL of the counted steps.
    struct BatchLoss {
        var loss: Double
        var outputGradient: Matrix
        var membraneGradients: [Int: [Float]] = [:]
        var correct: Int
        var nll: Double
    }

    /// The output FeLIF layer when the network ends in one that emits spikes: (layer index, layer, tape).
    func outputFeLIF(_ pass: Network.Pass) -> (Int, FeLIFLayer, FeLIFLayer.Tape)? {
        guard let last = network.layers.indices.last, case .felif(let f, .spikes) = network.layers[last],
              case .felif(let tape) = pass.tapes[last] else { return nil }
        return (last, f, tape)
    }

    func loss(_ pass: Network.Pass, _ batch: Batch) -> BatchLoss {
        let output = pass.output
        switch config.loss {
        case .spikeCount:
            let r = Loss.spikeCountCrossEntropy(spikes: output.values, steps: batch.steps, batch: batch.size, classes: output.cols, labels: batch.labels)
            var out = BatchLoss(loss: r.loss, outputGradient: Matrix(rows: output.rows, cols: output.cols, values: r.gradient), correct: r.correct, nll: 0)
            if config.silentWeight > 0, let (i, f, tape) = outputFeLIF(pass) {
                let s = Loss.silentTarget(membrane: tape.membrane, counts: r.counts, thresholds: f.devices.map(\.threshold), steps: batch.steps,
                                          batch: batch.size, classes: f.neurons, labels: batch.labels, weight: config.silentWeight)
                out.loss += s.loss
                out.membraneGradients[i] = s.gradient
            }
            return out
        case .countMembrane:
            guard let (i, f, tape) = outputFeLIF(pass) else {
                preconditionFailure("count_membrane needs FeLIF output neurons emitting spikes (checked when the config is read)")
            }
            let r = Loss.countMembraneCrossEntropy(spikes: output.values, membrane: tape.membrane, thresholds: f.devices.map(\.threshold),
                                                   steps: batch.steps, batch: batch.size, classes: f.neurons, labels: batch.labels,
                                                   membraneWeight: config.membraneWeight)
            return BatchLoss(loss: r.loss, outputGradient: Matrix(rows: output.rows, cols: output.cols, values: r.spikeGradient),
                             membraneGradients: [i: r.membraneGradient], correct: r.correct, nll: 0)
        case .membraneMean, .membraneMax, .membraneLast:
            guard let (i, f, tape) = outputFeLIF(pass), let readout = config.classReadout else {
                preconditionFailure("\(config.loss.rawValue) needs FeLIF output neurons emitting spikes (checked when the config is read)")
            }
            let r = Loss.membraneReadoutCrossEntropy(readout, membrane: tape.membrane, thresholds: f.devices.map(\.threshold),
                                                     steps: batch.steps, batch: batch.size, classes: f.neurons, labels: batch.labels)
            return BatchLoss(loss: r.loss, outputGradient: Matrix(rows: output.rows, cols: output.cols), membraneGradients: [i: r.membraneGradient],
                             correct: r.correct, nll: 0)
        case .bce:
            let r = Loss.binaryCrossEntropy(logits: output.values, targets: batch.targets, mask: batch.mask, steps: batch.steps, batch: batch.size,
                                            keys: output.cols, warmup: config.warmup)
            return BatchLoss(loss: r.loss, outputGradient: Matrix(rows: output.rows, cols: output.cols, values: r.gradient), correct: 0,
                             nll: r.nllPerStep * Double(r.countedSteps))
        }
    }

    public struct Evaluation: Sendable {
        public var loss: Double
        public var accuracy: Double?
        public var nll: Double?
        public var spikesPerSample: [Int: Double]
    }

    /// Evaluates `set` on a programmed chip (`chip`: the realised weights), in batches.
    public func evaluate(_ set: SequenceDataset, chip: [Int: RealisedWeights], stream: UInt64) -> Evaluation {
        var rng = SeededRandom(seed: config.seed).derived(stream)
        var lossSum = 0.0, correct = 0, nllSum = 0.0, counted = 0
        var spikes: [Int: Double] = [:]
        let order = Array(set.samples.indices)
        for start in stride(from: 0, to: order.count, by: config.batch) {
            let b = batch(set, order[start..<min(order.count, start + config.batch)])
            let pass = network.forward(b.x, steps: b.steps, batch: b.size, rng: &rng, realised: chip)
            let r = loss(pass, b)
            let (l, c, nll) = (r.loss, r.correct, r.nll)
            lossSum += l * Double(b.size)
            correct += c
            nllSum += nll
            if config.loss == .bce {
                counted += (config.warmup..<max(config.warmup, b.steps)).reduce(0) { acc, t in acc + (0..<b.size).filter { b.mask[t * b.size + $0] > 0 }.count }
            }
            for (k, v) in pass.spikeCounts { spikes[k, default: 0] += v }
        }
        let n = Double(set.count)
        return Evaluation(loss: lossSum / n, accuracy: data.isClassification ? Double(correct) / n : nil,
                          nll: config.loss == .bce ? nllSum / Double(max(counted, 1)) : nil, spikesPerSample: spikes.mapValues { $0 / n })
    }

    /// Loads the parameters of a run's last checkpoint into this trainer's network (whose shape must match).
    public mutating func loadCheckpoint(from run: URL) throws -> Int {
        let url = run.appendingPathComponent("checkpoint.json")
        let cp = try Trainer.readCheckpoint(of: run)
        let folderConfig = try Trainer.checkRunFolder(run, checkpoint: cp)
        let shapes = network.parameters.map(\.count)
        guard cp.parameters.map(\.count) == shapes else {
            throw TrainingError.badCheckpoint(url.path, "parameter shapes \(cp.parameters.map(\.count)) do not match the network's \(shapes)")
        }
        // A FeLIF card the run recalibrated itself (inside the folder) replaces the config's, unless --set names
        // another card.
        if let recalibrated = cp.cards.felif, recalibrated != cards.felif, recalibrated.hasPrefix(run.standardizedFileURL.path),
           cards.felif == folderConfig.felifCard.path {
            try useFeLIFCard(URL(fileURLWithPath: recalibrated))
        }
        network.parameters = cp.parameters
        if config.restoreBest, let best = try Trainer.readBest(of: run, configSHA256: cp.configSHA256) {
            network.parameters = best.parameters
            return best.epoch
        }
        return cp.epoch
    }

    /// The run folder's `best.json` when it belongs to this run (nil when there is none).
    static func readBest(of run: URL, configSHA256: String) throws -> Best? {
        let url = run.appendingPathComponent("best.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let best: Best = try readRecord(url)
        guard best.configSHA256 == configSHA256 else {
            throw TrainingError.mixedRunFolder(run.path, "best.json was written by another config (\(best.configSHA256.prefix(12))…)")
        }
        return best
    }

    /// The run folder's `checkpoint.json`, read within bounds and decoded.
    static func readCheckpoint(of run: URL) throws -> Checkpoint {
        let url = run.appendingPathComponent("checkpoint.json")
        guard FileManager.default.fileExists(atPath: url.path) else { throw TrainingError.noCheckpoint(run.path) }
        return try readRecord(url)
    }

    /// A JSON record of a run folder (checkpoint, best epoch), read within bounds; any failure names the file.
    static func readRecord<Record: Decodable>(_ url: URL) throws -> Record {
        do { return try JSONDecoder().decode(Record.self, from: try BoundedFile.read(url, limit: BoundedFile.dataLimit)) } catch {
            throw TrainingError.badCheckpoint(url.path, "\(error)")
        }
    }

    /// What every reader of a run folder (export, evaluate, validate) checks before trusting it: `config.toml`,
    /// `run.json` and `checkpoint.json` belong to one run, and the cards the checkpoint trained on are still the
    /// files it recorded. A folder mixed by two writers, or a card edited since, is refused with what differs.
    /// Returns the folder's config (without overrides).
    static func checkRunFolder(_ run: URL, checkpoint cp: Checkpoint) throws -> TrainingConfig {
        let configURL = run.appendingPathComponent("config.toml")
        let folderConfig = try TrainingConfig.load(configURL)
        let hash = SHA256.hex(Data(folderConfig.resolvedText.utf8))
        guard hash == cp.configSHA256 else {
            throw TrainingError.mixedRunFolder(run.path, "config.toml (SHA-256 \(hash.prefix(12))…) is not the config "
                + "checkpoint.json was trained with (\(cp.configSHA256.prefix(12))…)")
        }
        let recordURL = run.appendingPathComponent("run.json")
        if let record = FileManager.default.contents(atPath: recordURL.path) {
            let object = (try? JSONSerialization.jsonObject(with: record)) as? [String: Any]
            guard let recorded = object?["config_sha256"] as? String else {
                throw TrainingError.mixedRunFolder(run.path, "run.json is not a run record (no config_sha256)")
            }
            guard recorded == cp.configSHA256 else {
                throw TrainingError.mixedRunFolder(run.path, "run.json records config \(recorded.prefix(12))…, "
                    + "checkpoint.json was trained with \(cp.configSHA256.prefix(12))…")
            }
        }
        for (path, recorded) in [(cp.cards.felif, cp.cards.felifSHA256), (cp.cards.rram, cp.cards.rramSHA256)] {
            guard let path, let recorded else { continue }
            let now = try? SHA256.hex(ofFile: URL(fileURLWithPath: path))
            guard now == recorded else {
                throw TrainingError.mixedRunFolder(run.path, "the card \(path) is "
                    + (now.map { "not the file the checkpoint trained on (SHA-256 then \(recorded.prefix(12))…, now \($0.prefix(12))…)" }
                        ?? "missing (the checkpoint trained on it)"))
            }
        }
        return folderConfig
    }

    /// The chip the run evaluates on: every weight programmed once from the run's chip stream.
    public func chip() -> [Int: RealisedWeights] {
        var rng = SeededRandom(seed: config.seed).derived(0xC41B)
        return network.program(rng: &rng)
    }

    /// Called after an epoch's evaluation (SPICE-in-the-loop validation plugs in here): returns figures for
    /// metrics.jsonl, or nil when it did not run. Its failures are logged, never fatal.
    public typealias EpochHook = (_ epoch: Int, _ trainer: Trainer, _ chip: [Int: RealisedWeights], _ out: URL) async throws -> EpochCheck?

    /// What an epoch hook reports: figures for metrics.jsonl, and optionally a recalibrated FeLIF card that the
    /// run switches to from the next epoch on (recorded in the checkpoint, so `--resume` continues with it).
    public struct EpochCheck: Sendable {
        public var metrics: [String: Double]
        public var felifCard: URL?
        public init(metrics: [String: Double], felifCard: URL? = nil) {
            self.metrics = metrics
            self.felifCard = felifCard
        }
    }

    /// Switches every FeLIF layer to the surrogate of `card` (each neuron keeps its device-to-device factors).
    public mutating func useFeLIFCard(_ url: URL) throws {
        let surrogate = try FeLIFTraceSimulation(card: try DeviceCard.load(url)).surrogate
        for i in network.layers.indices {
            if case .felif(var f, let output) = network.layers[i] {
                f.devices = f.variations.map { surrogate.applying($0) }
                network.layers[i] = .felif(f, output: output)
            }
        }
        cards.felif = url.path
        cards.felifSHA256 = try SHA256.hex(ofFile: url)
    }

    /// Trains for the configured epochs (continuing from `out/checkpoint.json` with `resume`).
    @discardableResult
    public mutating func run(out: URL, resume: Bool, afterEpoch hook: EpochHook? = nil, log: (String) -> Void) async throws -> [EpochMetrics] {
        let fm = FileManager.default
        let checkpointURL = out.appendingPathComponent("checkpoint.json"), metricsURL = out.appendingPathComponent("metrics.jsonl")
        if resume && !fm.fileExists(atPath: checkpointURL.path) { throw TrainingError.noCheckpoint(out.path) }
        // One writer per run folder: a second `bruno train` into the same --out is an error, not a mixed folder.
        let lock = try RunFolderLock(out)
        defer { lock.release() }
        let stale = AtomicFile.removeStaleTemporaries(in: out)
        if stale > 0 { log("removed \(stale) temporary file(s) left by an interrupted write") }
        let configHash = SHA256.hex(Data(config.resolvedText.utf8))
        var optimizer = Optimizer(kind: config.optimizer, learningRate: config.learningRate)
        var plateau = config.plateau
        var firstEpoch = 1
        var history: [EpochMetrics] = []
        var wallBefore = 0.0
        var best: Best?
        for note in data.notes { log("data: \(note)") }
        if resume {
            let cp = try Trainer.readCheckpoint(of: out)
            guard cp.configSHA256 == configHash else { throw TrainingError.configChanged(out.path) }
            if cp.cards != cards {
                // A FeLIF card the run recalibrated itself is accepted when it is still the file it recorded.
                let recalibrated = cp.cards.rram == cards.rram && cp.cards.rramSHA256 == cards.rramSHA256 && cp.cards.felif.map { path in
                    (try? SHA256.hex(ofFile: URL(fileURLWithPath: path))) == cp.cards.felifSHA256 && path.hasPrefix(out.path)
                } == true
                guard recalibrated else { throw TrainingError.cardsChanged(out.path, was: cp.cards, now: cards) }
                try useFeLIFCard(URL(fileURLWithPath: cp.cards.felif!))
            }
            network.parameters = cp.parameters
            optimizer = cp.optimizer
            plateau = cp.plateau
            firstEpoch = cp.epoch + 1
            wallBefore = cp.wallSeconds
            best = try Trainer.readBest(of: out, configSHA256: configHash).flatMap { $0.epoch <= cp.epoch ? $0 : nil }
            // Keep the metrics of the epochs the checkpoint contains (a line written after it is dropped).
            if let text = try? String(contentsOf: metricsURL, encoding: .utf8) {
                let decoder = JSONDecoder()
                history = text.split(separator: "\n").compactMap { try? decoder.decode(EpochMetrics.self, from: Data($0.utf8)) }
                    .filter { $0.epoch <= cp.epoch }
            }
            log("resuming \(out.path) after epoch \(cp.epoch)")
        } else {
            if fm.fileExists(atPath: checkpointURL.path) { throw TrainingError.runExists(out.path) }
            try fm.createDirectory(at: out, withIntermediateDirectories: true)
            try AtomicFile.write(config.resolvedText, to: out.appendingPathComponent("config.toml"))
            try AtomicFile.write(runRecord(configHash: configHash), to: out.appendingPathComponent("run.json"))
            if config.readoutFitSteps > 0 { fitReadout(log: log) }
        }
        try writeMetrics(history, to: metricsURL)
        let started = Date()
        let trainCount = data.train.count
        for epoch in firstEpoch...max(firstEpoch, config.epochs) where epoch <= config.epochs {
            let t0 = Date()
            let order = Trainer.epochOrder(labels: data.train.samples.map(\.label), epoch: epoch, seed: config.seed,
                                           balanced: config.balancedBatches)
            if let cosine = config.cosine { optimizer.learningRate = cosine.rate(epoch: epoch) }
            optimizer.rateScales = Trainer.rateScales(config, tensors: network.parameters.count, epoch: epoch)
            // Weights and biases alternate in `parameters`; only the weights decay.
            optimizer.weightDecay = config.weightDecay > 0
                ? (0..<network.parameters.count).map { $0 % 2 == 0 ? config.weightDecay : 0 } : nil
            var lossSum = 0.0, correct = 0, stored = 0
            let batches = (trainCount + config.batch - 1) / config.batch
            for bi in 0..<batches {
                if let signal = Interruption.requested {
                    throw TrainingError.interrupted(signal: signal, epoch: epoch, folder: out.path)
                }
                let b = batch(data.train, order[(bi * config.batch)..<min(trainCount, (bi + 1) * config.batch)])
                var rng = SeededRandom(seed: config.seed).derived(UInt64(epoch) << 24 | UInt64(bi) | 1 << 60)
                let pass = network.forward(b.x, steps: b.steps, batch: b.size, rng: &rng)
                let r = loss(pass, b)
                let (l, c) = (r.loss, r.correct)
                guard l.isFinite else { throw TrainingError.diverged(epoch: epoch, batch: bi) }
                var grads = network.backward(pass, outputGradient: r.outputGradient, steps: b.steps, batch: b.size,
                                             membraneGradients: r.membraneGradients)
                if let maxNorm = config.clipNorm { GradientClipping.clipGlobalNorm(&grads, maxNorm: maxNorm) }
                var params = network.parameters
                optimizer.update(&params, gradients: grads)
                network.parameters = params
                lossSum += l * Double(b.size)
                correct += c
                stored = max(stored, pass.storedBytes)
            }
            // Before anything of the epoch is evaluated, checked in SPICE or written.
            if let (tensor, index) = network.firstNonFiniteParameter() ?? optimizer.firstNonFiniteState() {
                throw TrainingError.nonFiniteParameters(epoch: epoch, tensor: tensor, index: index)
            }
            if let signal = Interruption.requested {
                throw TrainingError.interrupted(signal: signal, epoch: epoch, folder: out.path)
            }
            let chip = chip()
            let valid = evaluate(data.valid, chip: chip, stream: 0xE0A1 &+ UInt64(epoch))
            let test = evaluate(data.test, chip: chip, stream: 0x7E57 &+ UInt64(epoch))
            let lr = optimizer.learningRate
            // The plateau tracker always records the selection figure (the checkpoint carries it); it sets the rate
            // only without a cosine schedule, which sets it at the start of each epoch.
            let reduced = plateau.observe(valid.nll ?? valid.loss, learningRate: lr)
            if config.cosine == nil { optimizer.learningRate = reduced }
            var newBest: Best?
            let figure = Trainer.selectionFigure(valid)
            if config.restoreBest, best.map({ figure > $0.figure }) ?? true {
                newBest = Best(epoch: epoch, figure: figure, parameters: network.parameters, configSHA256: configHash, cards: cards)
            }
            var checked: [String: Double]?
            if let hook {
                do {
                    if let check = try await hook(epoch, self, chip, out) {
                        checked = check.metrics
                        if let card = check.felifCard {
                            try useFeLIFCard(card)
                            log("switched the FeLIF layers to the recalibrated card \(card.path)")
                        }
                    }
                } catch { log("WARNING: the SPICE check of epoch \(epoch) failed: \(error)") }
            }
            var m = EpochMetrics(
                epoch: epoch, trainLoss: lossSum / Double(trainCount),
                trainAccuracy: data.isClassification ? Double(correct) / Double(trainCount) : nil,
                validLoss: valid.loss, validAccuracy: valid.accuracy, testLoss: test.loss, testAccuracy: test.accuracy,
                validNLL: valid.nll, testNLL: test.nll, learningRate: lr,
                spikesPerSample: Dictionary(uniqueKeysWithValues: test.spikesPerSample.map { ("layer\($0.key)", $0.value) }),
                epochSeconds: Date().timeIntervalSince(t0), wallSeconds: wallBefore + Date().timeIntervalSince(started),
                peakMemoryMB: Memory.peakResidentMB(), backwardStoreMB: Double(stored) / 1e6)
            m.validation = checked
            history.append(m)
            let cp = Checkpoint(epoch: epoch, parameters: network.parameters, optimizer: optimizer, plateau: plateau, configSHA256: configHash,
                                cards: cards, wallSeconds: m.wallSeconds)
            // Both records are encoded before either is written: an epoch is recorded whole or not at all.
            let checkpointData: Data
            do {
                checkpointData = try JSONEncoder().encode(cp)
                _ = try JSONEncoder().encode(m)
            } catch {
                throw TrainingError.unwritableEpoch(epoch: epoch, reason: "\(error)")
            }
            // best.json before the checkpoint: a kill between the two leaves a best no later than the checkpoint.
            if let newBest {
                try AtomicFile.write(try JSONEncoder().encode(newBest), to: out.appendingPathComponent("best.json"))
                best = newBest
            }
            try writeMetrics(history, to: metricsURL)
            try AtomicFile.write(checkpointData, to: checkpointURL)
            try plotCurves(history, to: out.appendingPathComponent("learning-curves.svg"))
            log(Trainer.describe(m, of: config.epochs))
        }
        if config.restoreBest, let best, let m = history.first(where: { $0.epoch == best.epoch }) {
            // Evaluation, validation and export read best.json (loadCheckpoint); so does this trainer from here on.
            network.parameters = best.parameters
            var s = "restored the best selection epoch \(best.epoch)"
            if let a = m.validAccuracy { s += String(format: ": selection acc %.3f", a) }
            if let a = m.testAccuracy { s += String(format: ", test acc %.3f", a) }
            if let n = m.validNLL { s += String(format: ": selection NLL %.3f", n) }
            if let n = m.testNLL { s += String(format: ", held-out NLL %.3f nats/step", n) }
            log(s)
        }
        return history
    }

    static func describe(_ m: EpochMetrics, of epochs: Int) -> String {
        var s = String(format: "epoch %d/%d  train loss %.4f", m.epoch, epochs, m.trainLoss)
        if let a = m.trainAccuracy { s += String(format: " acc %.3f", a) }
        if let a = m.validAccuracy { s += String(format: " | valid acc %.3f", a) }
        if let a = m.testAccuracy { s += String(format: " | test acc %.3f", a) }
        if let n = m.validNLL { s += String(format: " | select NLL %.3f", n) }
        if let n = m.testNLL { s += String(format: " | held-out NLL %.3f nats/step", n) }
        s += String(format: " | lr %.2g | %.1f s, peak %.0f MB", m.learningRate, m.epochSeconds, m.peakMemoryMB)
        return s
    }

    func runRecord(configHash: String) throws -> Data {
        var record: [String: Any] = [
            "seed": config.seed, "config": config.file.path, "config_sha256": configHash,
            "data": ["train": data.train.count, "valid": data.valid.count, "test": data.test.count, "name": data.train.name],
            "streams": ["data order": "seed.derived(epoch)", "weights per batch": "seed.derived(epoch<<24|batch|1<<60)",
                        "evaluation chip": "seed.derived(0xC41B)", "felif devices": "seed.derived(0xD2D)", "initial weights": "seed.derived(0x1417)"],
            "workers": Parallel.workers,
        ]
        if let f = cards.felif { record["felif_card"] = ["path": f, "sha256": cards.felifSHA256 ?? ""] }
        // Training on a card that failed its calibration quality gate is the user's explicit choice: on record.
        if config.acceptFailedCard { record["accept_failed_card"] = true }
        if let r = cards.rram { record["rram_card"] = ["path": r, "sha256": cards.rramSHA256 ?? ""] }
        var input: [String: Any] = [:]
        if let n = data.normalization {
            input["normalization"] = ["kind": "per-channel standardisation, fitted on the training split", "mean": n.mean,
                                      "scale": n.scale, "constant_channels": n.constantChannels]
        }
        if let p = data.samplePeriod { input["sample_period_s"] = p }
        if let k = data.kernels {
            input["random_kernels"] = ["count": k.kernels.count, "source_channels": k.sourceChannels,
                                       "stream": k.streamDescription,
                                       "dilations": k.kernels.map(\.dilation), "taps": k.kernels.map(\.weights.count)]
        }
        if !data.notes.isEmpty { input["notes"] = data.notes }
        if !input.isEmpty { record["input"] = input }
        record["restore_best"] = config.restoreBest
        if config.balancedBatches { record["balanced_batches"] = true }
        return try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys])
    }

    func writeMetrics(_ history: [EpochMetrics], to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let lines = try history.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        try AtomicFile.write(lines.map { $0 + "\n" }.joined(), to: url)
    }

    func plotCurves(_ h: [EpochMetrics], to url: URL) throws {
        let x = h.map { Double($0.epoch) }
        var panels = [SVGPlot.Panel(yLabel: "loss", series: [
            .init(label: "train", x: x, y: h.map(\.trainLoss), markers: true),
            .init(label: "selection", x: x, y: h.map(\.validLoss), markers: true),
            .init(label: "test", x: x, y: h.map(\.testLoss), dashed: true, markers: true),
        ])]
        if data.isClassification {
            panels.append(.init(yLabel: "accuracy", series: [
                .init(label: "train", x: x, y: h.map { $0.trainAccuracy ?? 0 }, markers: true),
                .init(label: "selection", x: x, y: h.map { $0.validAccuracy ?? 0 }, markers: true),
                .init(label: "test", x: x, y: h.map { $0.testAccuracy ?? 0 }, dashed: true, markers: true),
            ]))
        } else {
            panels.append(.init(yLabel: "NLL [nats/step]", series: [
                .init(label: "selection", x: x, y: h.map { $0.validNLL ?? 0 }, markers: true),
                .init(label: "held out", x: x, y: h.map { $0.testNLL ?? 0 }, dashed: true, markers: true),
            ]))
        }
        try AtomicFile.write(SVGPlot(title: "Learning curves", xLabel: "epoch", panels: panels).render(), to: url)
    }
}

/// Why a training run could not start or continue.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case noCheckpoint(String)
    case badCheckpoint(String, String)
    case configChanged(String)
    case cardsChanged(String, was: CardsUsed, now: CardsUsed)
    case runExists(String)
    case diverged(epoch: Int, batch: Int)
    /// A parameter tensor became NaN or infinite; nothing of the epoch was written, the last checkpoint is kept.
    case nonFiniteParameters(epoch: Int, tensor: String, index: Int)
    /// The epoch's metrics or checkpoint could not be encoded (a non-finite figure); nothing of it was written.
    case unwritableEpoch(epoch: Int, reason: String)
    /// The run would need more memory than the machine has (estimated before allocating).
    case tooLarge(estimate: MemoryEstimate, available: Double)
    /// SIGINT or SIGTERM arrived during `epoch`; it was abandoned, the run folder holds epochs before it.
    case interrupted(signal: Int32, epoch: Int, folder: String)
    /// The data set itself would take more than half of this machine's memory (checked before generating it).
    case dataTooLarge(description: String, bytes: Double, available: Double)
    /// The files of a run folder do not belong to one run, or a card changed since the checkpoint.
    case mixedRunFolder(String, String)

    public var description: String {
        switch self {
        case .noCheckpoint(let d): return "\(d): no checkpoint.json to resume from (was the run started, and did it finish one epoch?)"
        case .badCheckpoint(let f, let why): return "\(f): not a readable checkpoint (\(why))"
        case .configChanged(let d): return "\(d): the config (file + --set overrides) differs from the one this run was started with; resume with the same settings or start a new run"
        case .cardsChanged(let d, let was, let now):
            return "\(d): the device cards changed since the run started (felif \(was.felifSHA256 ?? "none") → \(now.felifSHA256 ?? "none"), rram \(was.rramSHA256 ?? "none") → \(now.rramSHA256 ?? "none"))"
        case .runExists(let d): return "\(d) already holds a run (checkpoint.json); pass --resume to continue it or choose another --out"
        case .diverged(let e, let b): return "the loss became non-finite in epoch \(e), batch \(b); lower the learning rate or the input scale"
        case .nonFiniteParameters(let e, let tensor, let i):
            return "after epoch \(e) the \(tensor) holds a non-finite value (element \(i)); nothing of this epoch was "
                + "written and the last checkpoint is kept. Lower the learning rate, the device variation or the input "
                + "scale, or check the device cards"
        case .tooLarge(let estimate, let available):
            let hint = estimate.fineTapeBytes > estimate.activationBytes
                ? "felif.mode = \"bruno\" or \"bptt_checkpointed\" keeps no sub-steps; or lower fine_steps or the batch"
                : "lower run.batch, the layer widths or the sequence length"
            return "this run needs about \(estimate.summary) of memory, more than 80 % of this machine's "
                + String(format: "%.3g GB", available / 1e9) + ": \(hint)"
        case .interrupted(let signal, let e, let folder):
            let name = signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)"
            let done = e > 1 ? "continues after epoch \(e - 1)" : "starts from the beginning"
            return "\(name) during epoch \(e): the epoch was abandoned and nothing of it was written; "
                + "`bruno train` with the same --config/--set and `--out \(folder) --resume` \(done)"
        case .dataTooLarge(let what, let bytes, let available):
            return "the data set (\(what)) would take " + String(format: "%.3g GB", bytes / 1e9) + ", more than half of this "
                + "machine's " + String(format: "%.3g GB", available / 1e9) + "; lower data.train_per_class, data.steps or the taxel grid"
        case .mixedRunFolder(let d, let why):
            return "\(d): \(why); the folder does not hold one consistent run. Train again into a fresh --out "
                + "(or restore the files of the run)"
        case .unwritableEpoch(let e, let why):
            return "epoch \(e) could not be recorded (\(why)); nothing of it was written and the last checkpoint is kept"
        }
    }
}

/// Peak resident memory of this process.
public enum Memory {
    /// VmHWM from /proc/self/status [MB] (0 where unavailable).
    public static func peakResidentMB() -> Double {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        let kb = Double(line.split(separator: " ").dropFirst().first { Double($0) != nil } ?? "0") ?? 0
        return kb / 1024
    }
}
