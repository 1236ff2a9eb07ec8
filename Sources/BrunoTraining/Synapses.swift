import BrunoSupport
import BrunoSurrogates

/// How a layer's weights are realised in hardware.
public enum SynapseModel: Sendable, Equatable {
    /// Full-precision weights (the FP32 reference).
    case float
    /// The reference work's quantizer: per-layer symmetric max-abs scale, `bits`-bit signed levels
    /// {−(2^(b−1)−1) … 2^(b−1)−1}·scale, stochastic rounding, straight-through gradient.
    case uniform(bits: Int)
    /// A differential pair of calibrated RRAM cells per weight (see `RRAMWeights`).
    case rram(RRAMWeights)
}

/// Weights on the calibrated conductance levels of an RRAM card.
///
/// A weight w ∈ [−1, 1] is a differential pair G⁺ − G⁻: one cell at level l, the other at level 0 (reset),
/// normalised by the full swing G₇ − G₀, so a signed weight takes one of 15 values — the card's real levels, not a
/// uniform grid. The float shadow weight is mapped to the nearest of them. Every realisation of the weights
/// (a forward pass in training, or the chip in evaluation) programs every cell afresh: its conductance is
/// G_l·(1 + σ_d·δ + σ_c·ε) with the card's per-level spreads (δ per device, ε per programming). Reading adds
/// relative noise `readNoise` per read and step. The gradient passes straight through to the shadow weight inside
/// [−1, 1].
public struct RRAMWeights: Sendable, Equatable {
    public var synapse: RRAMSynapse
    /// Relative read noise σ per read (not in the SPICE model, whose read cell is noiseless: a user setting).
    public var readNoise: Double
    /// Apply the card's programming spreads (false: every cell at its level's mean).
    public var programmingNoise: Bool
    /// Draw read and programming noise from the ziggurat in per-chunk sub-streams over all cores
    /// (`[network] fast_noise`): same distributions, other numbers, ~4× faster LIF step; off by default because
    /// the committed results were trained with the sequential Box–Muller stream (see BENCHMARKS.md).
    public var fastNoise = false

    public init(synapse: RRAMSynapse, readNoise: Double = 0, programmingNoise: Bool = true) {
        self.synapse = synapse
        self.readNoise = readNoise
        self.programmingNoise = programmingNoise
    }

    /// Full swing G₇ − G₀ [S]: the conductance difference of weight 1.
    public var swing: Double { synapse.levels[synapse.levels.count - 1].conductance - synapse.levels[0].conductance }

    /// Signed normalised weight values, level −7 … 7.
    public var grid: [Double] {
        let g0 = synapse.levels[0].conductance
        let pos = synapse.levels.map { ($0.conductance - g0) / swing }
        return pos.dropFirst().reversed().map { -$0 } + pos
    }

    /// Nearest signed level of w (−7 … 7).
    public func level(of w: Float) -> Int {
        let g0 = synapse.levels[0].conductance
        let x = min(1, abs(Double(w)))
        var best = 0, bestErr = Double.infinity
        for l in 0..<synapse.levels.count {
            let err = abs((synapse.levels[l].conductance - g0) / swing - x)
            if err < bestErr { best = l; bestErr = err }
        }
        return w < 0 ? -best : best
    }

    /// Conductances (G⁺, G⁻) [S] of a pair at signed level `l`, with the given device and programming draws.
    public func pair(level l: Int, draws: (Double, Double, Double, Double)) -> (Double, Double) {
        let plus = l > 0 ? l : 0, minus = l < 0 ? -l : 0
        if !programmingNoise {
            return (synapse.levels[plus].conductance, synapse.levels[minus].conductance)
        }
        return (synapse.conductance(level: plus, deviceDraw: draws.0, cycleDraw: draws.1),
                synapse.conductance(level: minus, deviceDraw: draws.2, cycleDraw: draws.3))
    }
}

/// The weights a forward pass uses and how their gradient maps back to the shadow weights.
public struct RealisedWeights: Sendable {
    public var weights: Matrix
    /// d(realised)/d(shadow) per weight (the straight-through estimator's mask and scale).
    public var straightThrough: [Float]
    /// Signed level index per weight (quantized models), for export and histograms.
    public var levels: [Int]?
    /// RRAM: the programmed read conductances [S] of each weight's two cells (G⁺, G⁻), as a netlist needs them.
    public var plus: [Double]? = nil
    public var minus: [Double]? = nil
}

extension SynapseModel {
    /// Realises `shadow` (inputs × outputs). `rng` supplies the stochastic rounding and programming draws.
    public func realise(_ shadow: Matrix, rng: inout SeededRandom) -> RealisedWeights {
        switch self {
        case .float:
            return RealisedWeights(weights: shadow, straightThrough: [Float](repeating: 1, count: shadow.values.count), levels: nil)
        case .uniform(let bits):
            let top = Float((1 << (bits - 1)) - 1)
            let maxAbs = shadow.values.reduce(Float(0)) { max($0, abs($1)) }
            let scale = maxAbs > 0 ? maxAbs / top : 1
            var out = shadow
            var levels = [Int](repeating: 0, count: shadow.values.count)
            for i in 0..<out.values.count {
                let x = shadow.values[i] / scale
                let f = x.rounded(.down)
                // Stochastic rounding: up with probability equal to the fractional part (unbiased).
                let q = min(top, max(-top, f + (Float(rng.uniform()) < x - f ? 1 : 0)))
                levels[i] = Int(q)
                out.values[i] = q * scale
            }
            return RealisedWeights(weights: out, straightThrough: [Float](repeating: 1, count: shadow.values.count), levels: levels)
        case .rram(let r):
            var out = shadow
            var levels = [Int](repeating: 0, count: shadow.values.count)
            var mask = [Float](repeating: 1, count: shadow.values.count)
            var plus = [Double](repeating: 0, count: shadow.values.count), minus = plus
            let swing = r.swing
            for i in 0..<out.values.count {
                let w = shadow.values[i]
                let l = r.level(of: w)
                levels[i] = l
                let draws = r.programmingNoise ? (r.fastNoise ? (rng.normal(), rng.normal(), rng.normal(), rng.normal())
                                                    : (rng.gaussian(), rng.gaussian(), rng.gaussian(), rng.gaussian())) : (0, 0, 0, 0)
                let (gp, gm) = r.pair(level: l, draws: draws)
                plus[i] = gp
                minus[i] = gm
                out.values[i] = Float((gp - gm) / swing)
                if abs(w) > 1 { mask[i] = 0 }
            }
            return RealisedWeights(weights: out, straightThrough: mask, levels: levels, plus: plus, minus: minus)
        }
    }

    /// Relative read noise per read (RRAM only).
    var readNoise: Double {
        if case .rram(let r) = self { return r.readNoise }
        return 0
    }

    /// Shadow weights are kept where the model can realise them (RRAM: [−1, 1]).
    var shadowLimit: Float? {
        if case .rram = self { return 1 }
        return nil
    }
}

/// A fully connected layer y = x·W + b over all time steps at once (rows = T·B).
public struct LinearLayer: Sendable {
    public var weights: Matrix
    public var bias: [Float]
    public var synapses: SynapseModel
    public var useBias: Bool

    public init(inputs: Int, outputs: Int, synapses: SynapseModel, bias: Bool, rng: inout SeededRandom, gain: Float = 1) {
        // Uniform ±gain/√inputs (PyTorch's default Linear initialisation scale).
        let bound = gain / Float(inputs).squareRoot()
        var w = Matrix(rows: inputs, cols: outputs)
        for i in 0..<w.values.count { w.values[i] = Float(2 * rng.uniform() - 1) * bound }
        weights = w
        self.bias = [Float](repeating: 0, count: outputs)
        self.synapses = synapses
        useBias = bias
    }

    public struct Tape: Sendable {
        public var input: Matrix
        public var realised: RealisedWeights
        /// Whether the products treated the input as sparse (decided once per forward pass).
        public var inputIsSparse: Bool? = nil
    }

    /// y = x·W̃ + b, with W̃ the realised weights; RRAM read noise is added to y in distribution:
    /// Σᵢ xᵢ·W̃ᵢⱼ·(1 + σ·εᵢⱼ) = yⱼ + σ·√(Σᵢ xᵢ²W̃ᵢⱼ²)·ξⱼ, one ξ per output and step.
    public func forward(_ x: Matrix, rng: inout SeededRandom, realised given: RealisedWeights? = nil) -> (Matrix, Tape) {
        precondition(x.cols == weights.rows, "linear layer: input has \(x.cols) features, expected \(weights.rows)")
        let realised = given ?? synapses.realise(weights, rng: &rng)
        // One pass over the input for what both products and the backward pass need to know.
        let (nonZero, binary) = MatrixProduct.census(x.values)
        let sparse = Double(nonZero) < MatrixProduct.sparseDensity * Double(max(x.values.count, 1))
        var y = MatrixProduct.multiply(x, realised.weights, sparse: sparse)
        if useBias {
            for r in 0..<y.rows { for c in 0..<y.cols { y.values[r * y.cols + c] += bias[c] } }
        }
        let sigma = synapses.readNoise
        if sigma > 0 {
            // Spike inputs are 0/1, so x² = x: the variance product reads x itself (no squared copy).
            var x2 = x
            if !binary { for i in 0..<x2.values.count { x2.values[i] *= x2.values[i] } }
            var w2 = realised.weights
            for i in 0..<w2.values.count { w2.values[i] *= w2.values[i] }
            let v = MatrixProduct.multiply(binary ? x : x2, w2, sparse: sparse)
            if case .rram(let r) = synapses, r.fastNoise {
                LinearLayer.addReadNoise(&y.values, variance: v.values, sigma: Float(sigma), stream: rng.next())
            } else {
                // Box–Muller draws from the layer's sequential stream (what the committed results were trained with).
                LinearLayer.addSequentialReadNoise(&y.values, variance: v.values, sigma: Float(sigma), rng: &rng)
            }
        }
        return (y, Tape(input: x, realised: realised, inputIsSparse: sparse))
    }

    /// y += σ·√v·ξ with ξ from the next `y.count` uniform pairs of `rng.gaussian()`: the uniforms are drawn in
    /// order on this thread (cheap), the Box–Muller transforms — most of the cost — on all cores in the
    /// vectorized `GaussianBlock` (a few Double ulps from `gaussian()`'s C-library log and cos; after rounding
    /// to Float the same noise as the sequential `gaussian()` stream the committed results were trained with,
    /// but for ~1 value in 10⁸ one Float ulp apart: SynapseAndOptimizerTests).
    static func addSequentialReadNoise(_ y: inout [Float], variance v: [Float], sigma: Float, rng: inout SeededRandom) {
        // In chunks of 2¹⁸ values, so the uniforms held at once stay at 4 MB (and each chunk still pays for waking
        // the other core many times over).
        let chunk = 1 << 18
        var u = [Double](repeating: 0, count: min(chunk, y.count)), w = u
        y.withUnsafeMutableBufferPointer { yp in
            v.withUnsafeBufferPointer { vp in
                u.withUnsafeMutableBufferPointer { ub in
                    w.withUnsafeMutableBufferPointer { wb in
                        for lo in stride(from: 0, to: yp.count, by: chunk) {
                            let n = min(chunk, yp.count - lo)
                            rng.gaussianUniforms(count: n, u: ub.baseAddress!, v: wb.baseAddress!)
                            let io = UncheckedBox((yp, vp, ub, wb))
                            Parallel.forEachRange(n, minimumPerWorker: 4096) { range in
                                let (yp, vp, ub, wb) = io.value
                                let at = lo + range.lowerBound
                                FineLoopKernel.selected.addNoise(
                                    yp.baseAddress! + at, variance: vp.baseAddress! + at, u: ub.baseAddress! + range.lowerBound,
                                    v: wb.baseAddress! + range.lowerBound, count: range.count, sigma: sigma)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Values per noise chunk: each chunk draws from its own sub-stream of `stream`, so the noise is the same
    /// for any number of threads.
    static let noiseChunk = 1 << 15

    /// y += σ·√v·ξ with ξ ~ N(0, 1), over fixed chunks split across the cores.
    static func addReadNoise(_ y: inout [Float], variance v: [Float], sigma: Float, stream: UInt64) {
        let chunks = (y.count + noiseChunk - 1) / noiseChunk
        let base = SeededRandom(seed: stream)
        y.withUnsafeMutableBufferPointer { yp in
            v.withUnsafeBufferPointer { vp in
                let out = UncheckedBox(yp), variance = UncheckedBox(vp)
                Parallel.forEachRange(chunks) { range in
                    var xi = [Float](repeating: 0, count: noiseChunk)
                    for c in range {
                        let lo = c * noiseChunk, hi = min(out.value.count, lo + noiseChunk)
                        var r = base.derived(UInt64(c))
                        xi.withUnsafeMutableBufferPointer { r.fillStandardNormal($0) }
                        for i in lo..<hi { out.value[i] += sigma * variance.value[i].squareRoot() * xi[i - lo] }
                    }
                }
            }
        }
    }

    /// Gradients of the shadow weights and bias, and dL/dx (`needInput` false: the layer is the first trained one,
    /// nothing before it needs dL/dx, and its product — a third of the layer's backward — is skipped: an empty
    /// matrix is returned).
    public func backward(_ tape: Tape, _ gy: Matrix, needInput: Bool = true) -> (weights: Matrix, bias: [Float], input: Matrix) {
        var gw = MatrixProduct.multiplyTransposingLeft(tape.input, gy, sparse: tape.inputIsSparse)
        for i in 0..<gw.values.count { gw.values[i] *= tape.realised.straightThrough[i] }
        var gb = [Float](repeating: 0, count: gy.cols)
        if useBias { for r in 0..<gy.rows { for c in 0..<gy.cols { gb[c] += gy.values[r * gy.cols + c] } } }
        let gx = needInput ? MatrixProduct.multiplyTransposingRight(gy, tape.realised.weights) : Matrix(rows: 0, cols: 0)
        return (gw, gb, gx)
    }
}
