import Foundation

/// How a FeLIF layer advances one coarse step and what its gradient is (reference §2).
public enum FeLIFMode: String, Sendable, Codable, CaseIterable {
    /// K fine Euler steps without gradient (frozen after threshold), one differentiable coarse Euler step,
    /// merged straight-through: the forward value is the fine one, the gradient the coarse one.
    case bruno
    /// Backpropagation through all K fine steps, storing every fine state (the reference to measure against).
    case bptt
    /// The same gradient as `bptt`, recomputing each window's fine states from its start state during the
    /// backward pass: memory O(T + K) instead of O(T·K), one extra fine forward.
    case bpttCheckpointed
    /// One coarse Euler step per window, forward and backward: no fine forward (expected to fail).
    case coarseOnly
}

/// Time discretisation and gradient options of a FeLIF layer.
public struct FeLIFStepping: Sendable, Equatable, Codable {
    /// Coarse step Δt_c [s] (1 ms in the reference).
    public var coarseStep = 1e-3
    /// Fine sub-steps K per coarse step (h = Δt_c / K; 1000 in the reference).
    public var fineSteps = 1000
    public var mode = FeLIFMode.bruno
    public var spikeGradient = SpikeGradient.braille
    /// Treat 1/τ(E) as a constant in the coarse step's gradient (the reference's first version).
    public var detachTau = false
    /// Differentiate the coarse step as an exponential-Euler step with diagonal linearisation, so that a stiff
    /// self-decay a (the diode leak at |V| > 3 V, fast switching) contributes e^{h·a} instead of 1 + h·a — bounded,
    /// where explicit Euler's factor reaches −25 per 1 ms step and the gradient explodes (docs/training.md).
    /// Identical to the Euler gradient when |h·a| ≪ 1. Applies to the coarse step only (BRUNO, coarse-only).
    public var exponentialCoarseGradient = false

    public init(coarseStep: Double = 1e-3, fineSteps: Int = 1000, mode: FeLIFMode = .bruno,
                spikeGradient: SpikeGradient = .braille, detachTau: Bool = false) {
        self.coarseStep = coarseStep
        self.fineSteps = fineSteps
        self.mode = mode
        self.spikeGradient = spikeGradient
        self.detachTau = detachTau
    }

    public var fineStep: Double { coarseStep / Double(fineSteps) }
}

/// The forward pass of one neuron over T coarse steps, with what its backward pass needs.
public struct FeLIFTape: Sendable {
    /// State after each step (after reset), T + 1 entries: index 0 is the initial state.
    public var states: [FeLIFState]
    /// Spike of each step (0 or 1), T entries.
    public var spikes: [Double]
    public var inputs: [Double]
    /// Fine states of every window (only in `.bptt` mode): window n holds the states after each executed
    /// sub-step, starting from states[n].
    public var fineStates: [[FeLIFState]]
}

/// One FeLIF neuron (its own coefficients, e.g. with device-to-device variation) stepped over a sequence.
public struct FeLIFNeuron: Sendable {
    public var surrogate: FeLIFSurrogate
    public var stepping: FeLIFStepping
    public let coefficients: FeLIFSurrogate.Coefficients

    public init(surrogate: FeLIFSurrogate = .reference, stepping: FeLIFStepping = FeLIFStepping()) {
        self.surrogate = surrogate
        self.stepping = stepping
        coefficients = surrogate.coefficients
    }

    /// The reference's initial state: V = 0, P = −Ps.
    public var restingState: FeLIFState { FeLIFState(v: 0, p: -surrogate.saturationPolarization) }

    /// K fine Euler steps from `s`, stopping once V reaches the threshold; every executed state is passed to
    /// `record` (used to keep fine states for BPTT).
    public func fineWindow(_ s: FeLIFState, current: Double, record: ((FeLIFState) -> Void)? = nil) -> FeLIFState {
        var x = s
        let h = stepping.fineStep, thr = surrogate.threshold
        for _ in 0..<stepping.fineSteps {
            x = coefficients.euler(x, current: current, h: h)
            record?(x)
            if x.v >= thr { break }
        }
        return x
    }

    /// Reset from the previous step's spike (no gradient through the spike).
    func reset(_ s: FeLIFState, previousSpike: Double) -> FeLIFState {
        FeLIFState(v: (1 - previousSpike) * s.v + previousSpike * surrogate.resetVoltage,
                   p: (1 - previousSpike) * s.p + previousSpike * surrogate.polarizationAfterReset)
    }

    /// Runs the sequence `inputs` (one current per coarse step, [A]) from `initial`.
    public func forward(_ inputs: [Double], from initial: FeLIFState? = nil) -> FeLIFTape {
        var states = [initial ?? restingState]
        states.reserveCapacity(inputs.count + 1)
        var spikes: [Double] = []
        spikes.reserveCapacity(inputs.count)
        var fine: [[FeLIFState]] = []
        var previousSpike = 0.0
        for current in inputs {
            let start = states.last!
            let advanced: FeLIFState
            switch stepping.mode {
            case .bruno, .bpttCheckpointed:
                advanced = fineWindow(start, current: current)
            case .bptt:
                var window: [FeLIFState] = []
                advanced = fineWindow(start, current: current) { window.append($0) }
                fine.append(window)
            case .coarseOnly:
                advanced = coefficients.euler(start, current: current, h: stepping.coarseStep)
            }
            let next = reset(advanced, previousSpike: previousSpike)
            let spike: Double = next.v >= surrogate.threshold ? 1 : 0
            states.append(next)
            spikes.append(spike)
            previousSpike = spike
        }
        return FeLIFTape(states: states, spikes: spikes, inputs: inputs, fineStates: fine)
    }

    /// Gradients of a loss with respect to the inputs and the initial state, given dL/ds for every step and
    /// optionally dL/dV for every step's (post-reset) membrane voltage.
    public func backward(_ tape: FeLIFTape, spikeGradients: [Double], voltageGradients: [Double]? = nil)
        -> (inputs: [Double], initialV: Double, initialP: Double)
    {
        let T = tape.inputs.count
        precondition(spikeGradients.count == T && (voltageGradients?.count ?? T) == T, "one gradient per step")
        var gradInputs = [Double](repeating: 0, count: T)
        var gv = 0.0, gp = 0.0            // dL/d(state after step n), accumulated from later steps
        let thr = surrogate.threshold
        for n in stride(from: T - 1, through: 0, by: -1) {
            let after = tape.states[n + 1]
            gv += spikeGradients[n] * stepping.spikeGradient.derivative(after.v - thr)
            if let vg = voltageGradients { gv += vg[n] }
            // Reset with the previous spike, detached: scales the gradient of the merged state.
            let keep = 1 - (n > 0 ? tape.spikes[n - 1] : 0)
            var gvm = keep * gv, gpm = keep * gp
            let start = tape.states[n], current = tape.inputs[n]
            switch stepping.mode {
            case .bruno, .coarseOnly:
                let (a, b, c) = eulerVJP(start, current: current, h: stepping.coarseStep, gv: gvm, gp: gpm, detachTau: stepping.detachTau,
                                         exponential: stepping.exponentialCoarseGradient)
                gvm = a; gpm = b; gradInputs[n] = c
            case .bptt, .bpttCheckpointed:
                var window: [FeLIFState]
                if stepping.mode == .bptt {
                    window = tape.fineStates[n]
                } else {
                    window = []
                    _ = fineWindow(start, current: current) { window.append($0) }
                }
                var gi = 0.0
                for k in stride(from: window.count - 1, through: 0, by: -1) {
                    let from = k == 0 ? start : window[k - 1]
                    let (a, b, c) = eulerVJP(from, current: current, h: stepping.fineStep, gv: gvm, gp: gpm, detachTau: stepping.detachTau)
                    gvm = a; gpm = b; gi += c
                }
                gradInputs[n] = gi
            }
            gv = gvm
            gp = gpm
        }
        return (gradInputs, gv, gp)
    }

    /// Vector–Jacobian product of one clipped Euler step: given dL/d(next state), returns dL/d(state) and dL/dI.
    public func eulerVJP(_ s: FeLIFState, current: Double, h: Double, gv: Double, gp: Double, detachTau: Bool, exponential: Bool = false) -> (Double, Double, Double) {
        let c = coefficients
        let f = c.rates(v: s.v, p: s.p, current: current, detachTau: detachTau)
        // Effective step per component: h for Euler; h·φ₁(h·a) with a the component's self-derivative for the
        // exponential-Euler step (φ₁(z) = (e^z − 1)/z), so that 1 + hₑ·a = e^{h·a}.
        let hv = exponential ? h * FeLIFNeuron.phi1(h * f.dvdv) : h
        let hp = exponential ? h * FeLIFNeuron.phi1(h * f.dpdp) : h
        let vNext = s.v + hv * f.dv, pNext = s.p + hp * f.dp
        // The clip passes the gradient only where it did not clip.
        let mv: Double = abs(vNext) < c.vmax ? 1 : 0
        let mp: Double = abs(pNext) < c.ps ? 1 : 0
        let gvn = gv * mv, gpn = gp * mp
        return (gvn * (1 + hv * f.dvdv) + gpn * hp * f.dpdv,
                gvn * hv * f.dvdp + gpn * (1 + hp * f.dpdp),
                gvn * hv * c.invC)
    }

    /// φ₁(z) = (e^z − 1)/z, 1 at z = 0.
    static func phi1(_ z: Double) -> Double {
        abs(z) < 1e-8 ? 1 + z / 2 : Foundation.expm1(z) / z
    }
}
