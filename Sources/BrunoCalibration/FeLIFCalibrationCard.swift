import BrunoCards
import BrunoSupport
import BrunoSurrogates
import Foundation

extension FeLIFCalibrationResult {
    /// Every surrogate parameter, fitted or fixed, in SI units.
    func cardParameters() -> [DeviceCard.Parameter] {
        let all = FeLIFCardParameter.all.map { ($0.name, simulation[keyPath: $0.keyPath], $0.unit) }
        return all.map { name, value, unit in
            let read = netlistParameters?.readings[name]
            if let k = fit.parameters.firstIndex(where: { $0.name == name }) {
                let p = fit.parameters[k]
                return .init(
                    name: name, value: fit.values[k], unit: unit, fitted: true, stderr: fit.standardErrors[k],
                    lower: p.lower,
                    upper: p.upper, atBound: fit.atBound[k], source: "fitted", place: read?.place,
                    netlistValue: read?.value)
            }
            if let read {
                return .init(
                    name: name, value: value, unit: unit, fitted: false, stderr: nil, lower: nil, upper: nil,
                    atBound: nil,
                    source: "netlist", place: read.place)
            }
            return .init(
                name: name, value: value, unit: unit, fitted: false, stderr: nil, lower: nil, upper: nil, atBound: nil,
                source: netlistParameters == nil ? nil : "default")
        }
    }

    public func card(provenance: DeviceCard.Provenance) -> DeviceCard {
        let held = stimuli.filter(\.heldOut), used = stimuli.filter { !$0.heldOut }
        var stats: [String: Double] = [
            "rms_residual": fit.rms, "cost": fit.cost, "iterations": Double(fit.iterations),
            "evaluations": Double(fit.evaluations),
            "fitted_nrmse_max": used.map(\.nrmse).max() ?? .nan,
            "fitted_first_spike_error_max": used.compactMap(\.firstSpikeError).max() ?? 0,
            "fitted_r_squared_min": used.map(\.rSquared).min() ?? .nan,
            "f_i_rate_error_max": stimuli.compactMap(\.rateError).max() ?? .nan,
        ]
        if !held.isEmpty {
            stats["held_out_nrmse_max"] = held.map(\.nrmse).max()!
            stats["held_out_first_spike_error_max"] = held.compactMap(\.firstSpikeError).max() ?? 0
            stats["held_out_r_squared_min"] = held.map(\.rSquared).min()!
        }
        stats = stats.filter { $0.value.isFinite }
        return DeviceCard(
            format: DeviceCard.format, version: DeviceCard.currentVersion, device: "felif",
            parameters: cardParameters(),
            statistics: stats, stimuli: stimuli, correlation: fit.correlation, provenance: provenance)
    }
}
