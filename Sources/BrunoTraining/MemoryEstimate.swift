import Foundation

/// How much memory a training run will need, estimated from the config before anything is allocated.
///
/// Why: `network.hidden=[65536]` or `felif.mode=bptt` with `fine_steps=100000` asked for 17–141 GB and the
/// process died in the allocator with no word. The estimate counts what dominates — the weights with their
/// gradients and optimizer moments, one batch's activations for the backward pass, and fine-grid BPTT's stored
/// sub-steps — and a run that would not fit is refused with the number, before the data is even batched.
public struct MemoryEstimate: Sendable, Equatable {
    public var parameterBytes: Double
    public var activationBytes: Double
    /// Fine sub-steps kept for fine-grid BPTT (zero in BRUNO, checkpointed and coarse-only modes).
    public var fineTapeBytes: Double

    public var totalBytes: Double { parameterBytes + activationBytes + fineTapeBytes }

    public init(_ c: TrainingConfig, data: ExperimentData) {
        let steps = Double([data.train, data.valid, data.test].flatMap(\.samples).map(\.steps).max() ?? 1)
        let batch = Double(max(1, min(c.batch, max(data.train.count, data.valid.count, data.test.count))))
        let outputs = c.outputSize ?? (data.isClassification ? data.classes.count : data.targetChannels)
        var widths = [Double(data.channels)]
        if c.encoding > 0 { widths.append(Double(c.encoding)) }
        widths += c.hidden.map(Double.init)
        widths.append(Double(outputs))
        if c.readout { widths.append(Double(data.targetChannels)) }
        // Weights, realised weights, gradients and two optimizer moments: five Float copies per synapse.
        let synapses = zip(widths, widths.dropFirst()).map { $0 * $1 }.reduce(0, +)
        parameterBytes = synapses * 4 * 5
        // Per layer and step: inputs, spikes, membranes and their gradients (Float), with slack for the FeLIF
        // layer's Double coarse states.
        activationBytes = widths.reduce(0, +) * steps * batch * 4 * 8
        let k = Double(c.stepping.fineSteps)
        fineTapeBytes = c.output == .felif && c.stepping.mode == .bptt ? 2 * steps * k * batch * Double(outputs) * 8 : 0
    }

    /// Physical memory of this machine.
    public static var availableBytes: Double { Double(ProcessInfo.processInfo.physicalMemory) }

    /// Throws `TrainingError.tooLarge` when the estimate exceeds `fraction` of `available`.
    public func check(available: Double = MemoryEstimate.availableBytes, fraction: Double = 0.8) throws {
        guard totalBytes > available * fraction else { return }
        throw TrainingError.tooLarge(estimate: self, available: available)
    }

    public var summary: String {
        func gb(_ x: Double) -> String { String(format: "%.3g GB", x / 1e9) }
        var s = "\(gb(totalBytes)) (weights and optimizer \(gb(parameterBytes)), activations \(gb(activationBytes))"
        if fineTapeBytes > 0 { s += ", fine-grid BPTT sub-steps \(gb(fineTapeBytes))" }
        return s + ")"
    }
}
