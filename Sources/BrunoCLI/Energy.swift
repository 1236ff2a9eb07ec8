import ArgumentParser
import BrunoDevices
import BrunoEnergy
import BrunoSpice
import BrunoSupport
import Foundation

struct EnergyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "energy",
        abstract: "Energy from SPICE: per spike and at rest (FeLIF), per read and programming (RRAM), per inference of a run.",
        discussion: """
            With --run: the run's cards, its chip's programmed conductances and the test set's event counts, checked against \
            whole-column ngspice runs. Without: the neuron (and, with --rram-card, the synapse) only. Writes energy.json, \
            energy.md, energy-per-spike.svg and energy-comparison.svg into --out (docs/energy.md).
            """
    )

    @Option(name: .customLong("run"), help: "Trained run folder.") var runFolder: String?
    @Option(help: "Output folder (default RUN/energy, or runs/energy without --run).") var out: String?
    @Option(name: .customLong("set"), help: "Override a setting of the run's config: table.key=value (repeatable).") var overrides: [String] = []
    @Option(help: "FeLIF calibration protocol whose constant currents are the f–I range (default calibration/felif.toml).")
    var felifProtocol: String?
    @Option(help: "RRAM calibration protocol for the programming Monte Carlo (default calibration/rram.toml).") var rramProtocol: String?
    @Option(help: "RRAM card without --run (default calibration/rram.card.json).") var rramCard: String?
    @Option(help: "FeLIF card (electrode area) without --run (default calibration/felif.card.json).") var felifCard: String?
    @Option(help: "Input current [A] instead of the protocol's f–I range (repeatable; pairs with --duration).") var current: [Double] = []
    @Option(help: "Window [s] per --current (one value applies to all).") var duration: [Double] = []
    @Option(help: "ISPP programmings per level for the programming energy (0: skip).") var programmings = 8
    @Option(help: "Test samples to price (default: all).") var samples: Int?
    @Option(help: "Whole-column SPICE check: samples (comma-separated indices).") var checkSamples = "0,1"
    @Option(help: "Whole-column SPICE check: the most active columns per sample (0: no check).") var checkColumns = 4
    @Option(help: "Parallel ngspice instances.") var instances = 2

    func validate() throws {
        if runFolder != nil && (rramCard != nil || felifCard != nil) {
            throw ValidationError("--rram-card/--felif-card are for device figures without --run; a run prices the cards it trained with")
        }
        if let bad = current.first(where: { !($0 >= 0 && $0.isFinite) }) { throw ValidationError("--current \(bad): a current must be ≥ 0 A") }
        if let bad = duration.first(where: { !($0 > 0 && $0.isFinite) }) { throw ValidationError("--duration \(bad): a window must be > 0 s") }
        if !duration.isEmpty && current.isEmpty { throw ValidationError("--duration needs --current") }
        if !current.isEmpty && !(duration.count == 1 || duration.count == current.count) {
            throw ValidationError("give one --duration, or one per --current (\(current.count) currents, \(duration.count) durations)")
        }
        if programmings < 0 || checkColumns < 0 || instances < 1 { throw ValidationError("--programmings, --check-columns ≥ 0; --instances ≥ 1") }
    }

    func run() async throws {
        do {
            let library = try DeviceLibrary.locate()
            let calibration = library.root.appendingPathComponent("calibration")
            var job = EnergyRun(run: runFolder.map { URL(fileURLWithPath: $0) },
                                felifProtocol: felifProtocol.map { URL(fileURLWithPath: $0) } ?? calibration.appendingPathComponent("felif.toml"),
                                rramProtocol: rramProtocol.map { URL(fileURLWithPath: $0) } ?? calibration.appendingPathComponent("rram.toml"))
            job.overrides = overrides
            // Without a run: the shipped cards unless others are named.
            job.rramCard = (rramCard ?? (runFolder == nil ? calibration.appendingPathComponent("rram.card.json").path : nil))
                .map { URL(fileURLWithPath: $0) }
            job.felifCard = (felifCard ?? (runFolder == nil ? calibration.appendingPathComponent("felif.card.json").path : nil))
                .map { URL(fileURLWithPath: $0) }
            if !current.isEmpty {
                job.currents = current.enumerated().map { (current: $1, duration: duration.count == 1 ? duration[0] : (duration.isEmpty ? 0.1 : duration[$0])) }
            }
            job.programmingsPerLevel = programmings
            job.samples = samples
            job.checkColumns = checkColumns
            job.checkSamples = try checkSamples.split(separator: ",").map {
                guard let k = Int($0.trimmingCharacters(in: .whitespaces)), k >= 0 else {
                    throw CLIError("--check-samples \(checkSamples): expected comma-separated sample indices (e.g. 0,1)")
                }
                return k
            }
            let folder = URL(fileURLWithPath: out ?? runFolder.map { "\($0)/energy" } ?? "runs/energy")
            let report = try await job.measure(on: try SpicePool(count: instances), library: library) { say($0) }
            let written = try report.write(to: folder)
            say(EnergySummary.lines(report).joined(separator: "\n"))
            say("wrote \(written.joined(separator: ", ")) to \(folder.path)")
        } catch {
            throw userFacing(error)
        }
    }
}
