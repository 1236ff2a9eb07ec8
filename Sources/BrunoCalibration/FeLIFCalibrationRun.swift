import BrunoCards
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

    /// What the netlist and protocol fix before any stimulus is simulated: the parameters read from the netlist,
    /// the fit's start, every stimulus checked against the netlist. Nothing is written.
    public struct Prepared: Sendable {
        public var netlistURL: URL
        public var calibration: FeLIFCalibration
    }

    public func prepare(spice: SpiceInstance, log: @escaping @Sendable (String) -> Void) throws -> Prepared {
        let p = protocolFile
        let netlistURL = netlistOverride ?? p.netlist
        let netlist = try Netlist(contentsOf: netlistURL)
        // Every parameter the netlist sets is read (ngspice evaluates it); the fit starts there and fits only
        // the protocol's quantities.
        let read = try FeLIFNetlistParameters.read(netlist, spice: spice)
        log("read \(read.readings.count) parameters of \(read.instance) from the netlist")
        for name in read.missing {
            log("WARNING: the netlist has no counterpart of '\(name)' (see docs/calibration.md); the card keeps Bruno's default")
        }
        var start = read.applied(to: FeLIFTraceSimulation())
        start.step = p.step
        _ = try p.stimuli.map { try $0.deck(from: netlist, maxStep: p.maxStep) }  // every stimulus applies to this netlist
        var calibration = FeLIFCalibration(netlist: netlist, stimuli: p.stimuli, quantities: p.quantities, start: start)
        calibration.netlistParameters = read
        calibration.sampleInterval = p.sampleInterval
        calibration.maxStep = p.maxStep
        return Prepared(netlistURL: netlistURL, calibration: calibration)
    }

    public func run(pool: SpicePool, out: URL, log: @escaping @Sendable (String) -> Void) async throws -> DeviceCard {
        let prepared = try prepare(spice: pool.instances[0], log: log)
        // Inputs checked, nothing written yet. One writer per output folder; temporaries of a killed earlier run are removed first.
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let lock = try RunFolderLock(out)
        defer { lock.release() }
        let stale = AtomicFile.removeStaleTemporaries(in: out)
        if stale > 0 { log("removed \(stale) temporary file(s) left by an interrupted write") }
        log("simulating \(protocolFile.stimuli.count) stimuli in SPICE on \(pool.count) ngspice instance(s)…")
        let t0 = Date()
        let references = try await prepared.calibration.references(on: pool) { done, total in log("  SPICE run \(done)/\(total)") }
        log(String(format: "SPICE done in %.1f s", Date().timeIntervalSince(t0)))
        return try finish(prepared, references: references, spice: pool.instances[0], out: out, log: log)
    }

    /// Fits the surrogate to the SPICE references (one per stimulus, in the protocol's order), writes the card and
    /// the report into `out` and applies the quality gate. Pure in the references: the same traces give the same
    /// card whether they were simulated here or in shards.
    public func finish(_ prepared: Prepared, references: [FeLIFReference], spice: SpiceInstance, out: URL,
                       log: @escaping @Sendable (String) -> Void) throws -> DeviceCard {
        let p = protocolFile
        guard references.map(\.stimulus) == p.stimuli else {
            throw CalibrationError.netlistShape("the SPICE references do not match the protocol's \(p.stimuli.count) stimuli")
        }
        let t0 = Date()
        log("fitting \(p.quantities.count) quantities (\(p.starts) starts)…")
        var optimizer = LevenbergMarquardt(maxIterations: p.maxIterations, starts: p.starts, seed: p.seed)
        optimizer.startSpread = p.startSpread
        var result = try prepared.calibration.fitIdentifiable(references, optimizer: optimizer, maxCorrelation: p.maxCorrelation)
        log(String(format: "fit done in %.1f s: held-out NRMSE %.3f %%, worst first-spike error %.3f %%",
                   Date().timeIntervalSince(t0), result.heldOutNRMSE * 100, result.worstFirstSpikeError * 100))
        for note in result.notes { log("note: \(note)") }
        // The quality gate: the worst held-out stimulus (the fitted ones when nothing is held out).
        let judged = result.stimuli.contains(where: \.heldOut) ? result.stimuli.filter(\.heldOut) : result.stimuli
        let worst = judged.max { $0.nrmse < $1.nrmse }
        let passed = (worst?.nrmse ?? .infinity) <= p.maxHeldOutNRMSE
        result.notes.append(String(format: "Quality gate: worst %@ membrane NRMSE %.3f %% (%@) against a bound of %.2f %%: %@.",
                                   result.stimuli.contains(where: \.heldOut) ? "held-out" : "fitted", (worst?.nrmse ?? .nan) * 100,
                                   worst?.name ?? "—", p.maxHeldOutNRMSE * 100, passed ? "passed" : "**failed**"))
        let provenance = try DeviceCard.Provenance.now(netlist: prepared.netlistURL, protocolFile: p.file, seeds: ["fit": p.seed],
                                                       tool: "bruno calibrate felif", spice: spice)
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
