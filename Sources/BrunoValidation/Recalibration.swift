import BrunoCalibration
import BrunoDevices
import BrunoSpice
import BrunoSupport
import Foundation

/// Recalibration on the failing regime: the FeLIF surrogate is re-fitted to the calibration netlist driven by the
/// network's own input currents (those of the simulated columns, piecewise constant per coarse step), with the fit
/// settings of the FeLIF protocol; the protocol's own stimuli are kept as the held-out set, so the new card is
/// judged on the regime it was calibrated for too.
public enum Recalibration {
    public static func run(report: ValidationReport, protocolURL: URL, library: DeviceLibrary, pool: SpicePool, out: URL,
                           log: @escaping @Sendable (String) -> Void) async throws -> URL {
        var p = try FeLIFProtocol.load(protocolURL)
        let dt = 1e-3
        let network = report.columns.compactMap { a -> FeLIFStimulus? in
            guard let i = a.inputCurrents, i.contains(where: { $0 != 0 }) else { return nil }
            return FeLIFStimulus(name: "network-s\(a.sample)-n\(a.column)", window: dt, currents: i, duration: Double(i.count) * dt, heldOut: false)
        }
        guard !network.isEmpty else { throw ValidationSetupError("no simulated column carried input current: nothing to recalibrate on") }
        p.stimuli = network + p.stimuli.map { s in var s = s; s.heldOut = true; return s }
        log("  \(network.count) stimuli from the network's activity (fitted), \(p.stimuli.count - network.count) from \(protocolURL.lastPathComponent) (held out)")
        _ = try await FeLIFCalibrationRun(protocolFile: p).run(pool: pool, out: out, log: { log("  " + $0) })
        return out.appendingPathComponent("felif.card.json")
    }
}
