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
    /// What it is, for comments in exported SPICE libraries.
    public let meaning: String
    /// The `felif` subcircuit's parameter this value sets (`models/felif.lib`, `models/fecap.lib`: the naming
    /// convention calibration reads a netlist by and export writes `.param felif_<name>` with); nil: the surrogate
    /// has it but the circuit does not.
    public let spiceName: String?
    /// The subcircuit's device-to-device factor that multiplies it (`ps*vps`), if it has one.
    public let deviceFactor: String?
    /// Set by the circuit around the device (comparator, reset source) rather than by the device: an exported
    /// chip takes the circuit's setting; the card's fitted value says where that circuit effectively fires.
    public let isCircuitSetting: Bool

    init(
        _ name: String, _ unit: String, _ keyPath: WritableKeyPath<FeLIFTraceSimulation, Double>, _ meaning: String,
        spice: String? = nil, factor: String? = nil, circuitSetting: Bool = false, olderCardsAssume: Double? = nil
    ) {
        self.name = name
        self.unit = unit
        self.keyPath = keyPath
        self.meaning = meaning
        self.spiceName = spice
        self.deviceFactor = factor
        self.isCircuitSetting = circuitSetting
        self.olderCardsAssume = olderCardsAssume
    }

    /// Every parameter of a FeLIF card, in the order cards list them.
    public static var all: [FeLIFCardParameter] {
        [
            .init("area", "m^2", \.surrogate.area, "electrode area", spice: "area", factor: "varea"),
            .init("tFe", "m", \.surrogate.tFe, "ferroelectric thickness", spice: "tfe", factor: "vtfe"),
            .init("epsFe", "1", \.surrogate.epsFe, "ferroelectric relative permittivity", spice: "epsfe"),
            .init("tInt", "m", \.surrogate.tInt, "interlayer thickness", spice: "tint", factor: "vtint"),
            .init("epsInt", "1", \.surrogate.epsInt, "interlayer relative permittivity", spice: "epsint"),
            .init(
                "saturationPolarization", "C/m^2", \.surrogate.saturationPolarization, "saturation polarization",
                spice: "ps", factor: "vps"),
            .init("tau0", "s", \.surrogate.tau0, "switching-time prefactor", spice: "tau0"),
            .init(
                "activationField", "V/m", \.surrogate.activationField, "activation field", spice: "ea", factor: "vea"),
            .init("alpha", "1", \.surrogate.alpha, "switching-law exponent", spice: "alpha"),
            .init(
                "softField", "V/m", \.surrogate.softField, "field offset keeping the switching time finite",
                spice: "esoft"),
            .init(
                "leakCurrentDensity", "A/m^2", \.surrogate.leakCurrentDensity, "leakage current density", spice: "j0",
                factor: "vj0"),
            .init("leakVoltage", "V", \.surrogate.leakVoltage, "leakage voltage scale", spice: "vt"),
            .init(
                "dischargeCurrent", "A", \.surrogate.dischargeCurrent, "discharge current", spice: "idsc",
                factor: "vidsc"),
            .init(
                "parasiticCapacitance", "F", \.surrogate.parasiticCapacitance, "parasitic capacitance", spice: "cpar"),
            .init("threshold", "V", \.surrogate.threshold, "firing threshold", spice: "vthr", circuitSetting: true),
            .init(
                "resetVoltage", "V", \.surrogate.resetVoltage, "reset voltage", spice: "vreset", circuitSetting: true),
            .init("voltageLimit", "V", \.surrogate.voltageLimit, "membrane voltage limit"),
            // Cards written before the reset polarization was a parameter assumed complete re-polarization.
            .init(
                "resetPolarization", "1", \.surrogate.resetPolarization, "polarization after a reset, fraction of Ps",
                olderCardsAssume: -1),
            .init("deadTime", "s", \.deadTime, "how long a reset holds the membrane"),
        ]
    }

    /// The parameters the `felif` subcircuit has, in card order.
    public static var withSpiceCounterpart: [FeLIFCardParameter] { all.filter { $0.spiceName != nil } }

    /// The entry for a card name.
    public static func named(_ name: String) -> FeLIFCardParameter? { all.first { $0.name == name } }
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
