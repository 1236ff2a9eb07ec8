import ArgumentParser
import BrunoCalibration
import BrunoDevices
import BrunoSpice
import Foundation

struct Calibrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit a device's fast surrogate to SPICE transients and write its calibration card and report.",
        discussion: "Writes DIR/<device>.card.json and DIR/<device>-report.md with SVG plots. The committed default cards were made with --out calibration."
    )

    enum Device: String, ExpressibleByArgument, CaseIterable { case felif, rram }

    @Argument(help: "The device to calibrate: felif or rram.") var device: Device
    @Option(help: "The device netlist (default: the protocol's).") var netlist: String?
    @Option(help: "The protocol file (default: calibration/<device>.toml).") var `protocol`: String?
    @Option(help: "Output folder.") var out = "runs/calibration"
    @Option(help: "Parallel ngspice instances (default: one per core).") var instances: Int?

    func run() async throws {
        let library = try DeviceLibrary.locate()
        let protocolURL = `protocol`.map { URL(fileURLWithPath: $0) } ?? library.root.appendingPathComponent("calibration/\(device.rawValue).toml")
        do {
            let pool = try SpicePool(count: instances ?? ProcessInfo.processInfo.activeProcessorCount)
            if device == .rram {
                let p = try RRAMProtocol.load(protocolURL)
                let outcome = try await RRAMCalibrationRun(protocolFile: p, netlistOverride: netlist.map { URL(fileURLWithPath: $0) })
                    .run(pool: pool, library: library, out: URL(fileURLWithPath: out)) { print($0) }
                for (l, level) in outcome.surrogate.levels.enumerated() {
                    print(String(format: "  level %d: G = %.2f µS, device spread %.2f %%, cycle spread %.2f %%", l, level.conductance * 1e6, level.deviceSpread * 100, level.cycleSpread * 100))
                }
                print(String(format: "  held out: worst mean error %.2f %%, worst spread error %.1f %%",
                             (outcome.card.statistics["held_out_mean_error_max"] ?? .nan) * 100, (outcome.card.statistics["held_out_spread_error_max"] ?? .nan) * 100))
                print("wrote \(out)/rram.card.json and \(out)/rram-report.md")
                return
            }
            let p = try FeLIFProtocol.load(protocolURL)
            let run = FeLIFCalibrationRun(protocolFile: p, netlistOverride: netlist.map { URL(fileURLWithPath: $0) })
            let card = try await run.run(pool: pool, out: URL(fileURLWithPath: out)) { print($0) }
            for param in card.parameters where param.fitted {
                print("  \(param.name) = \(String(format: "%.5g", param.value)) \(param.unit) ± \(param.stderr.map { String(format: "%.2g", $0) } ?? "—")\(param.atBound == true ? " (at bound)" : "")")
            }
            print("wrote \(out)/felif.card.json and \(out)/felif-report.md")
        } catch {
            throw userFacing(error)
        }
    }
}
