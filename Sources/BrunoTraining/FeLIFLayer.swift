import BrunoCards
import BrunoFineLoop
import BrunoSupport
import BrunoSurrogates

/// A layer of FeLIF neurons driven by input currents, batched and vectorised over batch × neurons.
///
/// Each neuron is its own device (`devices[n]`: the calibrated card's surrogate with that neuron's
/// device-to-device factors). The time stepping and gradient follow `FeLIFNeuron`, the scalar reference this
/// layer is tested against: `.bruno` runs K fine Euler sub-steps without gradient (a lane freezes once it crosses
/// threshold), takes the gradient of one coarse Euler step, merges them straight-through, applies the previous
/// step's spike as a detached reset; `.bptt` and `.bpttCheckpointed` differentiate all K sub-steps; `.coarseOnly`
/// has no fine forward.
///
/// Activations are time-major `[T][B][N]`; an input value x drives the current `inputScale · x` [A].
public struct FeLIFLayer: Sendable {
    public var devices: [FeLIFSurrogate]
    /// Each neuron's device-to-device factors (what a netlist of this layer instantiates; nominal when none).
    public var variations: [FeLIFVariation]
    public var stepping: FeLIFStepping
    /// Current per unit of input [A].
    public var inputScale: Double
    /// Advance the fine forward with `FeLIFLanes.exponential` instead of Euler (BRUNO and coarse-only only: the
    /// BPTT modes differentiate Euler sub-steps).
    public var exponentialIntegrator = false
    /// The fine forward's arithmetic (BRUNO and coarse-only; the BPTT modes always run Double).
    public var precision = FinePrecision.float64

    public var neurons: Int { devices.count }

    public init(devices: [FeLIFSurrogate], stepping: FeLIFStepping, inputScale: Double) {
        precondition(!devices.isEmpty, "a FeLIF layer needs at least one neuron")
        self.devices = devices
        variations = [FeLIFVariation](repeating: .nominal, count: devices.count)
        self.stepping = stepping
        self.inputScale = inputScale
    }

    /// `neurons` copies of `surrogate`, each with its own device-to-device factors of relative spread `sigma`
    /// drawn from `rng` (neuron by neuron, in the order of `FeLIFVariation.sample`).
    public init(neurons: Int, surrogate: FeLIFSurrogate, variation sigma: Double, rng: inout SeededRandom,
                stepping: FeLIFStepping, inputScale: Double) {
        let variations = (0..<neurons).map { _ in sigma > 0 ? FeLIFVariation.sample(sigma: sigma, using: &rng) : .nominal }
        self.init(devices: variations.map { surrogate.applying($0) }, stepping: stepping, inputScale: inputScale)
        self.variations = variations
    }

    /// What the backward pass needs. States are `[T + 1][lanes]` (index 0 the initial state), lanes = B·N.
    public struct Tape: Sendable {
        public var steps: Int, batch: Int
        public var v: [Double], p: [Double]
        /// Spikes `[T][lanes]` (0 or 1).
        public var spikes: [Float]
        /// Input currents [A], `[T][lanes]`.
        public var currents: [Double]
        /// `.bptt` only: the state after every fine sub-step, `[T][K][lanes]`, and how many sub-steps each lane
        /// executed in each window before it froze (`[T][lanes]`).
        public var fineV: [Double], fineP: [Double]
        public var executed: [Int32]

        /// Bytes held for the backward pass (what BRUNO saves against fine-grid BPTT).
        public var storedBytes: Int {
            (v.count + p.count + currents.count + fineV.count + fineP.count) * 8 + spikes.count * 4 + executed.count * 4
        }

        /// Membrane voltage after each step, `[T][lanes]`, as Float (a readout's input).
        public var membrane: [Float] {
            let lanes = spikes.count / max(steps, 1)
            return (0..<(steps * lanes)).map { Float(v[lanes + $0]) }
        }
    }

    /// A tape at the resting state (V = 0, P = −Ps) with the input currents, before any step.
    private func initialTape(_ input: [Float], steps: Int, batch: Int) -> Tape {
        let n = neurons, lanes = batch * n
        var tape = Tape(steps: steps, batch: batch,
                        v: [Double](repeating: 0, count: (steps + 1) * lanes), p: [Double](repeating: 0, count: (steps + 1) * lanes),
                        spikes: [Float](repeating: 0, count: steps * lanes), currents: input.map { Double($0) * inputScale },
                        fineV: [], fineP: [], executed: [])
        for lane in 0..<lanes { tape.p[lane] = -devices[lane % n].saturationPolarization }
        return tape
    }

    /// Runs `input` (`[T][B][N]`) from the resting state (V = 0, P = −Ps).
    public func forward(_ input: [Float], steps: Int, batch: Int) -> Tape {
        let n = neurons, lanes = batch * n
        precondition(input.count == steps * lanes, "FeLIF layer: input has \(input.count) values, expected T·B·N = \(steps)·\(batch)·\(n)")
        let k = stepping.fineSteps
        var tape = initialTape(input, steps: steps, batch: batch)
        let store = stepping.mode == .bptt
        if store {
            tape.fineV = [Double](repeating: 0, count: steps * k * lanes)
            tape.fineP = tape.fineV
            tape.executed = [Int32](repeating: 0, count: steps * lanes)
        }
        let chunks = (lanes + 7) / 8
        let mode = stepping.mode, h = stepping.fineStep, hc = stepping.coarseStep
        let exponential = exponentialIntegrator
        precondition(!exponential || mode == .bruno || mode == .coarseOnly, "the exponential integrator is a forward option of BRUNO")
        if precision == .float32 && (mode == .bruno || mode == .coarseOnly) {
            forwardFloat32(&tape, lanes: lanes)
            return tape
        }
        let currents = tape.currents
        tape.v.withUnsafeMutableBufferPointer { vb in
        tape.p.withUnsafeMutableBufferPointer { pb in
        tape.spikes.withUnsafeMutableBufferPointer { sb in
        tape.fineV.withUnsafeMutableBufferPointer { fvb in
        tape.fineP.withUnsafeMutableBufferPointer { fpb in
        tape.executed.withUnsafeMutableBufferPointer { eb in
            let out = Shared(v: vb, p: pb, spikes: sb, fineV: fvb, fineP: fpb, executed: eb)
            Parallel.forEachRange(chunks) { range in
                for chunk in range {
                    let lo = chunk * 8, count = min(8, lanes - lo)
                    let dev = FeLIFLanes(devices, lanes: lo..<(lo + count), neuronOf: { $0 % n })
                    var v = load(out.v, lo, count), p = load(out.p, lo, count)
                    var previousSpike = SIMD8<Double>(repeating: 0)
                    for t in 0..<steps {
                        let current = load(currents, t * lanes + lo, count)
                        var fv = v, fp = p
                        switch mode {
                        case .coarseOnly:
                            (fv, fp) = dev.euler(v: v, p: p, current: current, h: .init(repeating: hc))
                        case .bruno, .bpttCheckpointed, .bptt:
                            var active = SIMD8<Double>(repeating: 1)
                            var executed = SIMD8<Int64>(repeating: 0)
                            let hv = SIMD8<Double>(repeating: h)
                            for step in 0..<k {
                                let (nv, np) = exponential ? dev.exponential(v: fv, p: fp, current: current, h: hv)
                                    : dev.euler(v: fv, p: fp, current: current, h: hv)
                                let live = active .> 0
                                fv.replace(with: nv, where: live)
                                fp.replace(with: np, where: live)
                                executed.replace(with: executed &+ 1, where: live)
                                if store {
                                    let base = (t * k + step) * lanes + lo
                                    for i in 0..<count { out.fineV[base + i] = fv[i]; out.fineP[base + i] = fp[i] }
                                }
                                active.replace(with: 0, where: fv .>= dev.threshold)
                                if active == .zero { 
                                    if store { fillFrozen(out, from: step + 1, t: t, k: k, lanes: lanes, lo: lo, count: count, v: fv, p: fp) }
                                    break
                                }
                            }
                            if store { for i in 0..<count { out.executed[t * lanes + lo + i] = Int32(executed[i]) } }
                        }
                        // Detached reset from the previous step's spike, then this step's spike.
                        let keep = 1 - previousSpike
                        v = keep * fv + previousSpike * dev.resetVoltage
                        p = keep * fp + previousSpike * dev.resetPolarization
                        var spike = SIMD8<Double>(repeating: 0)
                        spike.replace(with: 1, where: v .>= dev.threshold)
                        previousSpike = spike
                        let base = (t + 1) * lanes + lo
                        for i in 0..<count {
                            out.v[base + i] = v[i]
                            out.p[base + i] = p[i]
                            out.spikes[t * lanes + lo + i] = Float(spike[i])
                        }
                    }
                }
            }
        }}}}}}
        return tape
    }

    /// The BRUNO (or coarse-only) forward in Float32 on 64-lane blocks, on both cores (`FineLoopKernel`).
    private func forwardFloat32(_ tape: inout Tape, lanes: Int) {
        var unused: [Int32] = []
        forwardFloat32(&tape, lanes: lanes, kernel: .selected, executed: &unused)
    }

    /// Runs the Float32 forward with a chosen build and, if `executed` is not empty (`[T][lanes]`), records how
    /// many sub-steps each lane ran per step (the tests compare threshold-crossing sub-steps with Double's).
    func forwardFloat32(_ tape: inout Tape, lanes: Int, kernel: FineLoopKernel, executed: inout [Int32]) {
        let width = FeLIFFloatBlock.width, blocks = (lanes + width - 1) / width
        let coefficients = FineLoopKernel.coefficients(devices, lanes: lanes)
        let currents = tape.currents.map { Float($0) }
        let coarse = stepping.mode == .coarseOnly
        let subSteps = coarse ? 1 : stepping.fineSteps
        let h = Float(coarse ? stepping.coarseStep : stepping.fineStep), steps = tape.steps
        let exponential = exponentialIntegrator, record = !executed.isEmpty
        coefficients.withUnsafeBufferPointer { cb in
        currents.withUnsafeBufferPointer { ib in
        tape.v.withUnsafeMutableBufferPointer { vb in
        tape.p.withUnsafeMutableBufferPointer { pb in
        tape.spikes.withUnsafeMutableBufferPointer { sb in
        executed.withUnsafeMutableBufferPointer { eb in
            let io = UncheckedBox((cb.baseAddress!, ib.baseAddress!, vb.baseAddress!, pb.baseAddress!, sb.baseAddress!,
                                   record ? eb.baseAddress : nil))
            Parallel.forEachRange(blocks) { range in
                let (c, i, v, p, s, e) = io.value
                for b in range {
                    let lo = b * width
                    kernel.run(coefficients: c + b * 16 * width, lo: lo, count: min(width, lanes - lo), lanes: lanes,
                               steps: steps, subSteps: subSteps, subStep: h, exponential: exponential, currents: i,
                               v: v, p: p, spikes: s, executed: e)
                }
            }
        }}}}}}
    }

    /// `forward` in Float32 with the given build, and the sub-steps each lane ran per step (`[T][B·N]`).
    func forwardFloat32RecordingSubSteps(_ input: [Float], steps: Int, batch: Int, kernel: FineLoopKernel)
        -> (Tape, [Int32])
    {
        var layer = self
        layer.precision = .float64
        var tape = layer.initialTape(input, steps: steps, batch: batch)
        var executed = [Int32](repeating: 0, count: steps * batch * neurons)
        forwardFloat32(&tape, lanes: batch * neurons, kernel: kernel, executed: &executed)
        return (tape, executed)
    }

    /// dL/d(input) `[T][B][N]` from dL/d(spike) and optionally dL/d(membrane) of every step.
    public func backward(_ tape: Tape, spikeGradients: [Float], voltageGradients: [Float]? = nil) -> [Float] {
        let n = neurons, steps = tape.steps, lanes = tape.batch * n, k = stepping.fineSteps
        precondition(spikeGradients.count == steps * lanes && (voltageGradients?.count ?? steps * lanes) == steps * lanes,
                     "FeLIF layer: one gradient per step and lane")
        var grad = [Float](repeating: 0, count: steps * lanes)
        let mode = stepping.mode, h = stepping.fineStep, hc = stepping.coarseStep, detach = stepping.detachTau
        let exponentialGradient = stepping.exponentialCoarseGradient
        let surrogateGradient = stepping.spikeGradient, scale = inputScale
        let chunks = (lanes + 7) / 8
        grad.withUnsafeMutableBufferPointer { gb in
            let out = UncheckedBox(gb)
            Parallel.forEachRange(chunks) { range in
                var window = [SIMD8<Double>](repeating: .zero, count: 2 * k)
                for chunk in range {
                    let lo = chunk * 8, count = min(8, lanes - lo)
                    let dev = FeLIFLanes(devices, lanes: lo..<(lo + count), neuronOf: { $0 % n })
                    var gv = SIMD8<Double>.zero, gp = SIMD8<Double>.zero
                    for t in stride(from: steps - 1, through: 0, by: -1) {
                        let after = load(tape.v, (t + 1) * lanes + lo, count)
                        gv += load(spikeGradients, t * lanes + lo, count) * surrogateGradient.derivative(after - dev.threshold)
                        if let vg = voltageGradients { gv += load(vg, t * lanes + lo, count) }
                        let keep = t > 0 ? 1 - load(tape.spikes, (t - 1) * lanes + lo, count) : SIMD8<Double>(repeating: 1)
                        var gvm = keep * gv, gpm = keep * gp
                        let v0 = load(tape.v, t * lanes + lo, count), p0 = load(tape.p, t * lanes + lo, count)
                        let current = load(tape.currents, t * lanes + lo, count)
                        var gi = SIMD8<Double>.zero
                        switch mode {
                        case .bruno, .coarseOnly:
                            (gvm, gpm, gi) = dev.eulerVJP(v: v0, p: p0, current: current, h: .init(repeating: hc), gv: gvm, gp: gpm, detachTau: detach,
                                                          exponential: exponentialGradient)
                        case .bptt, .bpttCheckpointed:
                            // Fine states of this window: stored, or recomputed from the window's start.
                            var executed = SIMD8<Int64>.zero
                            if mode == .bptt {
                                for s in 0..<k {
                                    window[2 * s] = load(tape.fineV, (t * k + s) * lanes + lo, count)
                                    window[2 * s + 1] = load(tape.fineP, (t * k + s) * lanes + lo, count)
                                }
                                for i in 0..<count { executed[i] = Int64(tape.executed[t * lanes + lo + i]) }
                            } else {
                                var fv = v0, fp = p0, active = SIMD8<Double>(repeating: 1)
                                for s in 0..<k {
                                    let (nv, np) = dev.euler(v: fv, p: fp, current: current, h: .init(repeating: h))
                                    let live = active .> 0
                                    fv.replace(with: nv, where: live)
                                    fp.replace(with: np, where: live)
                                    executed.replace(with: executed &+ 1, where: live)
                                    window[2 * s] = fv; window[2 * s + 1] = fp
                                    active.replace(with: 0, where: fv .>= dev.threshold)
                                }
                            }
                            let last = Int(executed.max())
                            for s in stride(from: last - 1, through: 0, by: -1) {
                                let fromV = s == 0 ? v0 : window[2 * (s - 1)], fromP = s == 0 ? p0 : window[2 * s - 1]
                                let (a, b, c) = dev.eulerVJP(v: fromV, p: fromP, current: current, h: .init(repeating: h), gv: gvm, gp: gpm, detachTau: detach)
                                // Lanes that had frozen before sub-step s pass their gradient through unchanged.
                                let ran = SIMD8<Int64>(repeating: Int64(s)) .< executed
                                gvm.replace(with: a, where: ran)
                                gpm.replace(with: b, where: ran)
                                gi.replace(with: gi + c, where: ran)
                            }
                        }
                        gv = gvm
                        gp = gpm
                        let gs = gi * scale
                        for i in 0..<count { out.value[t * lanes + lo + i] = Float(gs[i]) }
                    }
                }
            }
        }
        return grad
    }
}

/// Raw views of a forward pass's outputs, written by the workers on disjoint lanes.
private struct Shared: @unchecked Sendable {
    var v, p: UnsafeMutableBufferPointer<Double>
    var spikes: UnsafeMutableBufferPointer<Float>
    var fineV, fineP: UnsafeMutableBufferPointer<Double>
    var executed: UnsafeMutableBufferPointer<Int32>
}

/// After a whole chunk froze at sub-step `from − 1`, the remaining stored fine states repeat the frozen state.
private func fillFrozen(_ out: Shared, from: Int, t: Int, k: Int, lanes: Int, lo: Int, count: Int, v: SIMD8<Double>, p: SIMD8<Double>) {
    guard from < k else { return }
    for s in from..<k {
        let base = (t * k + s) * lanes + lo
        for i in 0..<count { out.fineV[base + i] = v[i]; out.fineP[base + i] = p[i] }
    }
}

@inline(__always) func load(_ a: UnsafeMutableBufferPointer<Double>, _ at: Int, _ count: Int) -> SIMD8<Double> {
    var x = SIMD8<Double>.zero
    for i in 0..<count { x[i] = a[at + i] }
    return x
}

@inline(__always) func load(_ a: [Double], _ at: Int, _ count: Int) -> SIMD8<Double> {
    var x = SIMD8<Double>.zero
    for i in 0..<count { x[i] = a[at + i] }
    return x
}

@inline(__always) func load(_ a: [Float], _ at: Int, _ count: Int) -> SIMD8<Double> {
    var x = SIMD8<Double>.zero
    for i in 0..<count { x[i] = Double(a[at + i]) }
    return x
}

extension SpikeGradient {
    /// The surrogate derivative on eight lanes.
    @inline(__always) func derivative(_ x: SIMD8<Double>) -> SIMD8<Double> {
        switch self {
        case .fastSigmoid(let k): return 1 / (1 + k * vabs(x))
        case .tanhSquared:
            // 1 − tanh²(x) = 4·e^{2x}/(e^{2x} + 1)², with the argument kept where e^{2x} is finite.
            let e = FastMath.exp(2 * vmin(vabs(x), SIMD8<Double>(repeating: 300)))
            return 4 * e / ((e + 1) * (e + 1))
        }
    }
}

extension FeLIFSurrogate {
    /// This device with one neuron's device-to-device factors applied (the reference's A, Ea, Ps, I0, t_fe,
    /// t_int, plus the discharge current — the same factors the netlist's `felif` subcircuit takes).
    public func applying(_ f: FeLIFVariation) -> FeLIFSurrogate {
        var s = self
        s.area *= f.area
        s.activationField *= f.activationField
        s.saturationPolarization *= f.saturationPolarization
        s.leakCurrentDensity *= f.leak
        s.tFe *= f.tFe
        s.tInt *= f.tInt
        s.dischargeCurrent *= f.discharge
        return s
    }
}
