import BrunoCalibration
import BrunoCards
import BrunoDevices
import BrunoSpice
import BrunoSupport
import BrunoSurrogates
import Foundation

/// What an RRAM synapse costs: one read event at each of the 8 levels, and one programming to each level.
///
/// A read event is one read pulse of the chip (V_read for `pulseWidth`, `edge`-long ramps) on a frozen cell of the
/// level's conductance, simulated in ngspice as the whole-chip decks write it (`FeLIFColumn`, junction cells) and
/// checked against the closed form. A programming is the card's recipe (ISPP with verify reads) on a seeded Monte
/// Carlo of devices with the protocol's variability, the energy drawn from the bit line over every pulse and read.
public struct SynapseEnergy: Sendable, Equatable, Codable {
    public struct Level: Sendable, Equatable, Codable {
        public var level: Int
        /// Read conductance at V_read [S].
        public var conductance: Double
        /// Energy [J] of one read pulse on one cell, from ngspice and in closed form.
        public var readEnergy: Double
        public var readEnergyClosedForm: Double
        /// Energy [J] of one programming to this level: mean and standard deviation over the Monte Carlo.
        public var programmingMean: Double?
        public var programmingSpread: Double?
        public var programmings: Int
    }

    public var readVoltage: Double
    /// Read pulse: flat top plus one ramp [s] (the chip's coarse step less its edges), and each ramp [s].
    public var pulseWidth: Double
    public var edge: Double
    public var levels: [Level]
    /// Seed of the programming Monte Carlo (`RRAMVariability.seed`).
    public var programmingSeed: UInt64?

    /// Read energy per siemens of read conductance [J/S]: a cell's read energy is k·∫V·sinh(V/v0)dt, proportional
    /// to its conductance at a fixed pulse, so this one number prices every programmed cell.
    public var readEnergyPerSiemens: Double {
        levels.map { $0.readEnergy / $0.conductance }.reduce(0, +) / Double(max(1, levels.count))
    }

    /// V_r²·G·(width − edge) on the flat top plus two ramps, each edge·V_r·k·(a·cosh a − sinh a)/a² with a = V_r/v0
    /// and k = G·V_r/sinh a (the cell's I = k·sinh(V/v0) through its read conductance).
    public static func closedForm(conductance g: Double, readVoltage vr: Double, v0: Double, pulseWidth: Double, edge: Double) -> Double {
        let a = vr / v0, k = g * vr / sinh(a)
        return vr * vr * g * (pulseWidth - edge) + 2 * edge * vr * k * (a * cosh(a) - sinh(a)) / (a * a)
    }

    /// Reads at each level's conductance in one deck (one input line per level, one pulse each, `gap` apart).
    public static func measureReads(conductances: [Double], readVoltage: Double, readModel: RRAMReadModel, pulseWidth: Double,
                                    on pool: SpicePool, library: DeviceLibrary) async throws -> [(spice: Double, closed: Double)] {
        let gap = 20e-6, period = pulseWidth + gap
        var column = FeLIFColumn(synapses: conductances.map { .init(plus: $0, minus: 0) },
                                 inputSpikes: conductances.indices.map { [Double($0) * period + gap] },
                                 duration: Double(conductances.count) * period + 2 * gap)
        column.pulseWidth = pulseWidth
        column.readVoltage = readVoltage
        column.readModel = readModel
        column.recordsEnergy = true
        column.maxStep = min(column.maxStep, pulseWidth / 20)
        let result = try await pool.simulate(column.netlist(library: library))
        guard let plot = result.plot("tran") else { throw EnergyError("the read deck returned no transient") }
        let edge = min(1e-6, pulseWidth / 10)
        return try conductances.enumerated().map { l, g in
            let e = try plot.deliveredEnergy(FeLIFColumnEnergy.inputProbes(synapses: conductances.count)[l])
            return (e, closedForm(conductance: g, readVoltage: readVoltage, v0: readModel.v0, pulseWidth: pulseWidth, edge: edge))
        }
    }

    /// Read energies of the card's levels, and (when `programmingsPerLevel` > 0) programming energies from the RRAM
    /// protocol's Monte Carlo with the card's recipe.
    public static func measure(card: DeviceCard, pulseWidth: Double, protocolFile: URL?, programmingsPerLevel: Int,
                               on pool: SpicePool, library: DeviceLibrary, log: @escaping @Sendable (String) -> Void) async throws
        -> SynapseEnergy
    {
        let synapse = try RRAMSynapse(card: card)
        var model = RRAMReadModel()
        model.v0 = synapse.nonlinearity
        let g = synapse.levels.map(\.conductance)
        let reads = try await measureReads(conductances: g, readVoltage: synapse.readVoltage, readModel: model, pulseWidth: pulseWidth,
                                           on: pool, library: library)
        var levels = g.enumerated().map { l, g in
            Level(level: l, conductance: g, readEnergy: reads[l].spice, readEnergyClosedForm: reads[l].closed, programmings: 0)
        }
        var seed: UInt64?
        if programmingsPerLevel > 0, let protocolFile {
            var p = try RRAMProtocol.load(protocolFile)
            p.incremental = try RRAMIncrementalProgramming(recipeOf: card) ?? p.incremental
            let spice = try SpiceInstance()
            var plan = try RRAMCalibrationJob.plan(p, netlistOverride: nil, library: library, out: FileManager.default.temporaryDirectory,
                                                   spice: spice, log: log)
            plan.devices = programmingsPerLevel
            plan.cycles = 1
            plan.heldOutDevices = 0
            seed = plan.variability.seed
            log("programming energy: \(plan.itemCount) programmings (\(programmingsPerLevel) devices per level, seed \(plan.variability.seed))")
            let results = try await RRAMCalibrationJob.program(0..<plan.itemCount, of: plan, on: pool)
            for l in levels.indices {
                let e = (0..<plan.itemCount).filter { plan.item($0).level == l }.compactMap { results[$0].energy }
                guard !e.isEmpty else { continue }
                let mean = e.reduce(0, +) / Double(e.count)
                let squares: Double = e.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
                let sd: Double = e.count > 1 ? (squares / Double(e.count - 1)).squareRoot() : 0
                levels[l].programmingMean = mean
                levels[l].programmingSpread = sd
                levels[l].programmings = e.count
            }
        }
        return SynapseEnergy(readVoltage: synapse.readVoltage, pulseWidth: pulseWidth, edge: min(1e-6, pulseWidth / 10), levels: levels,
                             programmingSeed: seed)
    }
}
