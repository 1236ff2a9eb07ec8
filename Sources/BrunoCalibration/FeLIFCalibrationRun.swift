import BrunoDevices
import BrunoSpice
import BrunoSupport
import BrunoSurrogates
import Foundation

/// The whole FeLIF calibration as `bruno calibrate felif` runs it: protocol → SPICE → fit → card + report.
public struct FeLIFCalibrationRun: Sendable {
    public var protocolFile: FeLIFProtocol
    /// Overrides the protocol's netlist.
    public var netlistOverride: URL?

    public init(protocolFile: FeLIFProtocol, netlistOverride: URL? = nil) {
        self.protocolFile = protocolFile
        self.netlistOverride = netlistOverride
    }

    /// A path relative to the working directory when it lies below it (so committed cards carry no machine paths).
    static func display(_ url: URL) -> String {
        let cwd = FileManager.default.currentDirectoryPath + "/"
        let path = url.standardizedFileURL.path
        return path.hasPrefix(cwd) ? String(path.dropFirst(cwd.count)) : path
    }

    public func run(pool: SpicePool, out: URL, log: @escaping @Sendable (String) -> Void) async throws -> DeviceCard {
        let p = protocolFile
        let netlistURL = netlistOverride ?? p.netlist
        let netlist = try Netlist(contentsOf: netlistURL)
        var start = FeLIFTraceSimulation()
        start.step = p.step
        var calibration = FeLIFCalibration(netlist: netlist, stimuli: p.stimuli, quantities: p.quantities, start: start)
        calibration.sampleInterval = p.sampleInterval
        log("simulating \(p.stimuli.count) stimuli in SPICE on \(pool.count) ngspice instance(s)…")
        let t0 = Date()
        let references = try await calibration.references(on: pool) { done, total in log("  SPICE run \(done)/\(total)") }
        log(String(format: "SPICE done in %.1f s; fitting %d quantities (%d starts)…", Date().timeIntervalSince(t0), p.quantities.count, p.starts))
        var optimizer = LevenbergMarquardt(maxIterations: p.maxIterations, starts: p.starts, seed: p.seed)
        optimizer.startSpread = p.startSpread
        let result = try calibration.fit(references, optimizer: optimizer)
        log(String(format: "fit done in %.1f s total: held-out NRMSE %.3f %%, worst first-spike error %.3f %%",
                   Date().timeIntervalSince(t0), result.heldOutNRMSE * 100, result.worstFirstSpikeError * 100))
        let version = (try? pool.instances[0].version()) ?? "ngspice (version unknown)"
        let provenance = DeviceCard.Provenance(
            netlist: FeLIFCalibrationRun.display(netlistURL), netlistSHA256: try SHA256.hex(ofFile: netlistURL), ngspice: version,
            protocolFile: FeLIFCalibrationRun.display(p.file), protocolSHA256: try SHA256.hex(ofFile: p.file), seeds: ["fit": p.seed],
            date: ISO8601DateFormatter().string(from: Date()), tool: "bruno calibrate felif")
        let card = result.card(provenance: provenance)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try AtomicFile.write(try card.encoded(), to: out.appendingPathComponent("felif.card.json"))
        try FeLIFReport.write(result: result, references: references, card: card, sampleInterval: p.sampleInterval, to: out)
        return card
    }
}
