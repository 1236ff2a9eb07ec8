import ArgumentParser
import BrunoCalibration
import BrunoDevices
import BrunoSpice
import Foundation

struct Calibrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit a device's fast surrogate to SPICE transients and write its calibration card and report.",
        discussion: "Writes DIR/felif.card.json and DIR/felif-report.md with SVG plots. The committed default card was made with --out calibration."
    )

    enum Device: String, ExpressibleByArgument, CaseIterable { case felif }

    @Argument(help: "The device to calibrate: felif.") var device: Device
    @Option(help: "The neuron netlist (default: the protocol's).") var netlist: String?
    @Option(help: "The protocol file (default: calibration/felif.toml).") var `protocol`: String?
    @Option(help: "Output folder.") var out = "runs/calibration"
    @Option(help: "Parallel ngspice instances (default: one per core).") var instances: Int?

    func run() async throws {
        let library = try DeviceLibrary.locate()
        let protocolURL = `protocol`.map { URL(fileURLWithPath: $0) } ?? library.root.appendingPathComponent("calibration/felif.toml")
        do {
            let p = try FeLIFProtocol.load(protocolURL)
            let pool = try SpicePool(count: instances ?? ProcessInfo.processInfo.activeProcessorCount)
            let run = FeLIFCalibrationRun(protocolFile: p, netlistOverride: netlist.map { URL(fileURLWithPath: $0) })
            let card = try await run.run(pool: pool, out: URL(fileURLWithPath: out)) { print($0) }
            for param in card.parameters where param.fitted {
                print("  \(param.name) = \(String(format: "%.5g", param.value)) \(param.unit) ± \(param.stderr.map { String(format: "%.2g", $0) } ?? "—")\(param.atBound == true ? " (at bound)" : "")")
            }
            print("wrote \(out)/felif.card.json and \(out)/felif-report.md")
        } catch let e as ProtocolError {
            throw CLIError(e.description)
        } catch let e as CalibrationError {
            throw CLIError(e.description)
        } catch let e as SpiceError {
            throw CLIError(e.description)
        }
    }
}
