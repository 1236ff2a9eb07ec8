import Foundation

/// The FeLIF surrogate run like the circuit: fine Euler steps in continuous time, and at a threshold
/// crossing an immediate reset (V → V_reset, P → resetPolarization·Ps) held for a dead time, as the netlist's latch does. This
/// is what calibration compares with SPICE; training uses the coarse-grid `FeLIFNeuron` on the same parameters.
public struct FeLIFTraceSimulation: Sendable {
    public var surrogate: FeLIFSurrogate
    /// Euler step [s].
    public var step = 1e-6
    /// How long the reset holds the membrane [s] (the circuit's latch: ≈ 0.9 × its reset timer).
    public var deadTime = 18e-6
    /// Spacing of the returned membrane samples [s].
    public var sampleInterval = 1e-4

    public init(surrogate: FeLIFSurrogate = .reference, step: Double = 1e-6, deadTime: Double = 18e-6, sampleInterval: Double = 1e-4) {
        self.surrogate = surrogate
        self.step = step
        self.deadTime = deadTime
        self.sampleInterval = sampleInterval
    }

    public struct Trace: Sendable, Equatable {
        /// Membrane voltage [V] at t = k·sampleInterval, k = 0…
        public var membrane: [Double]
        /// Spike times [s] (threshold crossings, interpolated within the step).
        public var spikes: [Double]
    }

    /// Simulates `duration` seconds of input `current(t)` held piecewise constant over `window` seconds.
    public func run(currents: [Double], window: Double, duration: Double, from initial: FeLIFState? = nil) -> Trace {
        let c = surrogate.coefficients
        var s = initial ?? FeLIFState(v: 0, p: -surrogate.saturationPolarization)
        let steps = Int((duration / step).rounded())
        let perSample = max(1, Int((sampleInterval / step).rounded()))
        var membrane: [Double] = [s.v]
        membrane.reserveCapacity(steps / perSample + 1)
        var spikes: [Double] = []
        var holdUntil = -1.0
        for k in 0..<steps {
            let t = Double(k) * step
            let w = min(Int(t / window), currents.count - 1)
            if t + step <= holdUntil {
                s = FeLIFState(v: surrogate.resetVoltage, p: surrogate.polarizationAfterReset)
            } else {
                // The hold ends inside this step: integrate only the remainder, so spike times (and the fit's
                // Jacobian) depend continuously on the dead time rather than in whole steps.
                let h = t < holdUntil ? t + step - holdUntil : step
                let next = c.euler(s, current: currents[w], h: h)
                if next.v >= surrogate.threshold {
                    let f = (surrogate.threshold - s.v) / max(next.v - s.v, 1e-300)
                    let crossing = t + (step - h) + f * h
                    spikes.append(crossing)
                    holdUntil = crossing + deadTime
                    s = FeLIFState(v: surrogate.resetVoltage, p: surrogate.polarizationAfterReset)
                } else {
                    s = next
                }
            }
            if (k + 1) % perSample == 0 { membrane.append(s.v) }
        }
        return Trace(membrane: membrane, spikes: spikes)
    }
}
