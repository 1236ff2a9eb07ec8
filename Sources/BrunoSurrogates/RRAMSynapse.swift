import Foundation

/// The RRAM synapse surrogate: what the training engine needs from a programmed cell.
///
/// A cell programmed to level l reads G = G_l·(1 + σ_d,l·δ + σ_c,l·ε) at the read voltage, where δ ~ N(0,1) is
/// fixed per device (device-to-device) and ε ~ N(0,1) is drawn at every programming (cycle-to-cycle, i.e. the
/// programming error). Away from the read voltage the current follows the filament law's shape,
/// I(V) = G·V_r·sinh(V/V0)/sinh(V_r/V0).
public struct RRAMSynapse: Sendable, Equatable, Codable {
    public struct Level: Sendable, Equatable, Codable {
        /// Mean read conductance [S].
        public var conductance: Double
        /// Relative standard deviation between devices.
        public var deviceSpread: Double
        /// Relative standard deviation between programmings of one device.
        public var cycleSpread: Double

        public init(conductance: Double, deviceSpread: Double, cycleSpread: Double) {
            self.conductance = conductance
            self.deviceSpread = deviceSpread
            self.cycleSpread = cycleSpread
        }

        /// Relative standard deviation of a freshly programmed cell of a random device.
        public var totalSpread: Double { (deviceSpread * deviceSpread + cycleSpread * cycleSpread).squareRoot() }
    }

    public var levels: [Level]
    /// Read voltage the conductances refer to [V].
    public var readVoltage: Double
    /// Nonlinearity voltage V0 of the read current [V].
    public var nonlinearity: Double

    public init(levels: [Level], readVoltage: Double, nonlinearity: Double) {
        self.levels = levels
        self.readVoltage = readVoltage
        self.nonlinearity = nonlinearity
    }

    /// The conductance of a cell programmed to `level`, given its device draw δ and this programming's draw ε.
    public func conductance(level: Int, deviceDraw: Double, cycleDraw: Double) -> Double {
        let l = levels[level]
        return max(0, l.conductance * (1 + l.deviceSpread * deviceDraw + l.cycleSpread * cycleDraw))
    }

    /// Read current [A] at voltage `v` of a cell with read conductance `g`.
    public func current(conductance g: Double, voltage v: Double) -> Double {
        g * readVoltage * sinh(v / nonlinearity) / sinh(readVoltage / nonlinearity)
    }
}
