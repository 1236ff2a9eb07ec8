import BrunoCalibration
import BrunoCards
import Foundation

/// The report's device figures recorded in the cards, each with the conditions it was measured under.
///
/// Why copies and not the run's own cards: a run and its export name the cards it trained with by SHA-256, so those
/// stay byte for byte; `bruno energy` writes the same cards with an `energy` section beside its report.
extension EnergyReport {
    public func felifFigures() -> [DeviceCard.EnergyFigure] {
        func figures(_ n: NeuronEnergy, prefix: String) -> [DeviceCard.EnergyFigure] {
            var out = [DeviceCard.EnergyFigure(name: "\(prefix)staticPower", value: n.staticPower, unit: "W",
                                               conditions: "no input, settled (second half of the rest window), \(n.conditions)"),
                       .init(name: "\(prefix)powerUpEnergy", value: n.powerUpEnergy, unit: "J",
                             conditions: "once, charging the neuron from 0 V (uic) at power-up, \(n.conditions)")]
            for p in n.firing.sorted(by: { $0.current < $1.current }) {
                let c = "constant input \(p.current) A for \(p.duration) s, \(p.spikes) spikes, \(n.conditions); "
                    + "(E_window − E_power-up − P_static·T)/N from every supply's ∫v·i dt in ngspice (trtol 0.1, steps ≤ 1 µs)"
                out.append(.init(name: "\(prefix)energyPerSpike@\(p.current)A", value: p.dynamicPerSpike!, unit: "J", conditions: c))
                out.append(.init(name: "\(prefix)energyPerSpikePerArea@\(p.current)A", value: p.dynamicPerSpike! / n.area, unit: "J/m^2",
                                 conditions: c + "; over the electrode area \(n.area) m^2"))
            }
            return out
        }
        return figures(neuronDevice, prefix: "") + (neuronChip.flatMap { $0 == neuronDevice ? nil : figures($0, prefix: "chip.") } ?? [])
    }

    public func rramFigures() -> [DeviceCard.EnergyFigure] {
        guard let s = synapse else { return [] }
        let read = "one read pulse of \(s.readVoltage) V for \(s.pulseWidth) s (\(s.edge) s ramps) on one frozen cell, ngspice"
        var out = [DeviceCard.EnergyFigure(name: "readEnergyPerSiemens", value: s.readEnergyPerSiemens, unit: "J/S", conditions: read)]
        for l in s.levels {
            out.append(.init(name: "level\(l.level).readEnergy", value: l.readEnergy, unit: "J", conditions: read + " at \(l.conductance) S"))
            if let m = l.programmingMean, let sd = l.programmingSpread {
                let c = "the card's programming recipe (verify reads included) over \(l.programmings) Monte-Carlo programmings, "
                    + "seed \(s.programmingSeed.map(String.init) ?? "?"), bit-line ∫v·i dt in ngspice"
                out.append(.init(name: "level\(l.level).programmingEnergyMean", value: m, unit: "J", conditions: c))
                out.append(.init(name: "level\(l.level).programmingEnergySpread", value: sd, unit: "J", conditions: c + " (standard deviation)"))
            }
        }
        return out
    }

    /// `card` with this report's figures for its device in its `energy` section (any earlier figures replaced).
    public func recording(in card: DeviceCard) -> DeviceCard {
        var c = card
        let figures = card.device == "felif" ? felifFigures() : card.device == "rram" ? rramFigures() : []
        c.energy = figures.isEmpty ? card.energy : figures
        return c
    }
}
