import BrunoSurrogates

extension RRAMSynapse {
    /// The surrogate an RRAM card describes.
    public init(card: DeviceCard) throws {
        try card.requireDevice("rram")
        let v = card.required(_:unit:)
        var levels: [Level] = []
        for l in 0..<8 {
            levels.append(
                Level(
                    conductance: try v("level\(l).conductance", "S"),
                    deviceSpread: try v("level\(l).deviceSpread", "1"),
                    cycleSpread: try v("level\(l).cycleSpread", "1")))
        }
        self.init(levels: levels, readVoltage: try v("readVoltage", "V"), nonlinearity: try v("nonlinearity", "V"))
    }
}
