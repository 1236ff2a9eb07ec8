import BrunoSurrogates

/// One FeLIF surrogate parameter as a card stores it: the card's name, its SI unit and where it lives in the
/// surrogate simulation. The card writer (calibration) and the reader below walk this one list, so a parameter
/// added to the surrogate is added here once and both sides follow.
public struct FeLIFCardParameter {
    /// The name in the card (`parameters[].name`).
    public let name: String
    /// SI unit as the card writes it; a card in another unit is refused on reading.
    public let unit: String
    public let keyPath: WritableKeyPath<FeLIFTraceSimulation, Double>
    /// The value assumed for a card written before the parameter existed; nil: the parameter is required.
    public let olderCardsAssume: Double?

    init(_ name: String, _ unit: String, _ keyPath: WritableKeyPath<FeLIFTraceSimulation, Double>,
         olderCardsAssume: Double? = nil) {
        self.name = name
        self.unit = unit
        self.keyPath = keyPath
        self.olderCardsAssume = olderCardsAssume
    }

    /// Every parameter of a FeLIF card, in the order cards list them.
    public static var all: [FeLIFCardParameter] {
        [
            .init("area", "m^2", \.surrogate.area),
            .init("tFe", "m", \.surrogate.tFe),
            .init("epsFe", "1", \.surrogate.epsFe),
            .init("tInt", "m", \.surrogate.tInt),
            .init("epsInt", "1", \.surrogate.epsInt),
            .init("saturationPolarization", "C/m^2", \.surrogate.saturationPolarization),
            .init("tau0", "s", \.surrogate.tau0),
            .init("activationField", "V/m", \.surrogate.activationField),
            .init("alpha", "1", \.surrogate.alpha),
            .init("softField", "V/m", \.surrogate.softField),
            .init("leakCurrentDensity", "A/m^2", \.surrogate.leakCurrentDensity),
            .init("leakVoltage", "V", \.surrogate.leakVoltage),
            .init("dischargeCurrent", "A", \.surrogate.dischargeCurrent),
            .init("parasiticCapacitance", "F", \.surrogate.parasiticCapacitance),
            .init("threshold", "V", \.surrogate.threshold),
            .init("resetVoltage", "V", \.surrogate.resetVoltage),
            .init("voltageLimit", "V", \.surrogate.voltageLimit),
            // Cards written before the reset polarization was a parameter assumed complete re-polarization.
            .init("resetPolarization", "1", \.surrogate.resetPolarization, olderCardsAssume: -1),
            .init("deadTime", "s", \.deadTime),
        ]
    }
}

extension FeLIFTraceSimulation {
    /// The surrogate a FeLIF card describes: every parameter of `FeLIFCardParameter.all` must be present in its
    /// unit (or be one older cards may lack); the step and sample grid keep their defaults.
    public init(card: DeviceCard) throws {
        try card.requireDevice("felif")
        var simulation = FeLIFTraceSimulation(surrogate: FeLIFSurrogate())
        for p in FeLIFCardParameter.all {
            if let assumed = p.olderCardsAssume, card.value(p.name) == nil {
                simulation[keyPath: p.keyPath] = assumed
            } else {
                simulation[keyPath: p.keyPath] = try card.required(p.name, unit: p.unit)
            }
        }
        self = simulation
    }
}
