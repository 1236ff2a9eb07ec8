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

    public func run(pool: SpicePool, out: URL, log: @escaping @Sendable (String) -> Void) async throws -> DeviceCard {
        // One writer per output folder; temporaries of a killed earlier run are removed first.
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let lock = try RunFolderLock(out)
        defer { lock.release() }
        let stale = AtomicFile.removeStaleTemporaries(in: out)
        if stale > 0 { log("removed \(stale) temporary file(s) left by an interrupted write") }
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
        let provenance = try DeviceCard.Provenance.now(netlist: netlistURL, protocolFile: p.file, seeds: ["fit": p.seed],
                                                       tool: "bruno calibrate felif", spice: pool.instances[0])
        let card = result.card(provenance: provenance)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try AtomicFile.write(try card.encoded(), to: out.appendingPathComponent("felif.card.json"))
        try FeLIFReport.write(result: result, references: references, card: card, sampleInterval: p.sampleInterval, to: out)
        return card
    }
}
