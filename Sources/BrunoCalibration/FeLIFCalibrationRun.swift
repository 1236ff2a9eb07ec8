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
        let p = protocolFile
        let netlistURL = netlistOverride ?? p.netlist
        let netlist = try Netlist(contentsOf: netlistURL)
        // Every parameter the netlist sets is read (ngspice evaluates it); the fit starts there and fits only
        // the protocol's quantities.
        let read = try FeLIFNetlistParameters.read(netlist, spice: pool.instances[0])
        log("read \(read.readings.count) parameters of \(read.instance) from the netlist")
        for name in read.missing {
            log("WARNING: the netlist has no counterpart of '\(name)' (see docs/calibration.md); the card keeps Bruno's default")
        }
        var start = read.applied(to: FeLIFTraceSimulation())
        start.step = p.step
        _ = try p.stimuli.map { try $0.deck(from: netlist, maxStep: p.maxStep) }  // every stimulus applies to this netlist
        // Inputs checked, nothing written yet. One writer per output folder; temporaries of a killed earlier run are removed first.
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let lock = try RunFolderLock(out)
        defer { lock.release() }
        let stale = AtomicFile.removeStaleTemporaries(in: out)
        if stale > 0 { log("removed \(stale) temporary file(s) left by an interrupted write") }

        var calibration = FeLIFCalibration(netlist: netlist, stimuli: p.stimuli, quantities: p.quantities, start: start)
        calibration.netlistParameters = read
        calibration.sampleInterval = p.sampleInterval
        calibration.maxStep = p.maxStep
        log("simulating \(p.stimuli.count) stimuli in SPICE on \(pool.count) ngspice instance(s)…")
        let t0 = Date()
        let references = try await calibration.references(on: pool) { done, total in log("  SPICE run \(done)/\(total)") }
        log(String(format: "SPICE done in %.1f s; fitting %d quantities (%d starts)…", Date().timeIntervalSince(t0), p.quantities.count, p.starts))
        var optimizer = LevenbergMarquardt(maxIterations: p.maxIterations, starts: p.starts, seed: p.seed)
        optimizer.startSpread = p.startSpread
        var result = try calibration.fitIdentifiable(references, optimizer: optimizer, maxCorrelation: p.maxCorrelation)
        log(String(format: "fit done in %.1f s total: held-out NRMSE %.3f %%, worst first-spike error %.3f %%",
                   Date().timeIntervalSince(t0), result.heldOutNRMSE * 100, result.worstFirstSpikeError * 100))
        for note in result.notes { log("note: \(note)") }
        // The quality gate: the worst held-out stimulus (the fitted ones when nothing is held out).
        let judged = result.stimuli.contains(where: \.heldOut) ? result.stimuli.filter(\.heldOut) : result.stimuli
        let worst = judged.max { $0.nrmse < $1.nrmse }
        let passed = (worst?.nrmse ?? .infinity) <= p.maxHeldOutNRMSE
        result.notes.append(String(format: "Quality gate: worst %@ membrane NRMSE %.3f %% (%@) against a bound of %.2f %%: %@.",
                                   result.stimuli.contains(where: \.heldOut) ? "held-out" : "fitted", (worst?.nrmse ?? .nan) * 100,
                                   worst?.name ?? "—", p.maxHeldOutNRMSE * 100, passed ? "passed" : "**failed**"))
        let provenance = try DeviceCard.Provenance.now(netlist: netlistURL, protocolFile: p.file, seeds: ["fit": p.seed],
                                                       tool: "bruno calibrate felif", spice: pool.instances[0])
        var card = result.card(provenance: provenance)
        card.statistics["quality_gate_max_heldout_nrmse"] = p.maxHeldOutNRMSE
        card.statistics["quality_gate_passed"] = passed ? 1 : 0
        let cardURL = out.appendingPathComponent("felif.card.json")
        try AtomicFile.write(try card.encoded(), to: cardURL)
        try FeLIFReport.write(result: result, references: references, card: card, sampleInterval: p.sampleInterval, to: out)
        if !passed {
            throw CalibrationError.qualityGate(card: cardURL.path, stimulus: worst?.name ?? "—", nrmse: worst?.nrmse ?? .nan,
                                               bound: p.maxHeldOutNRMSE)
        }
        return card
    }
}
