import Foundation

/// How well the fitted surrogate reproduces one stimulus.
public struct FeLIFStimulusFit: Sendable, Equatable, Codable {
    public var name: String
    public var heldOut: Bool
    /// RMS membrane error over the SPICE trace's range, on the samples outside the reset pulses and outside the
    /// gap between corresponding spikes of the two models (the timing is `firstSpikeError`/spike times).
    public var nrmse: Double
    /// The same over every sample, reset pulses and spike-timing gaps included.
    public var rawNRMSE: Double
    public var spiceSpikes: [Double]
    public var surrogateSpikes: [Double]
    /// |t₁(surrogate) − t₁(SPICE)| / t₁(SPICE), nil without a SPICE spike.
    public var firstSpikeError: Double?
    /// Coefficient of determination of the membrane trace (same samples as `nrmse`).
    public var rSquared: Double
    /// For constant stimuli with ≥ 2 spikes in both: |rate(surrogate) − rate(SPICE)| / rate(SPICE), rates
    /// from the mean inter-spike interval.
    public var rateError: Double?

    public init(
        name: String, heldOut: Bool, nrmse: Double, rawNRMSE: Double, spiceSpikes: [Double],
        surrogateSpikes: [Double], firstSpikeError: Double?, rSquared: Double, rateError: Double?
    ) {
        self.name = name
        self.heldOut = heldOut
        self.nrmse = nrmse
        self.rawNRMSE = rawNRMSE
        self.spiceSpikes = spiceSpikes
        self.surrogateSpikes = surrogateSpikes
        self.firstSpikeError = firstSpikeError
        self.rSquared = rSquared
        self.rateError = rateError
    }
}
