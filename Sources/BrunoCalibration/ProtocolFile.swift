import BrunoCards
import BrunoSupport
import Foundation
import TOMLKit

/// A FeLIF calibration protocol (`calibration/felif.toml`): the netlist, the stimuli, which are held out,
/// which quantities are fitted and how.
public struct FeLIFProtocol: Sendable {
    public var file: URL
    public var netlist: URL
    public var sampleInterval: Double
    public var step: Double
    /// ngspice's largest time step [s] (`[simulation] max_step`).
    public var maxStep = FeLIFStimulus.defaultMaxStep
    public var quantities: [FeLIFFitQuantity]
    public var starts: Int
    public var startSpread: Double
    public var maxIterations: Int
    public var seed: UInt64
    public var stimuli: [FeLIFStimulus]
    /// The quality gate: a card whose worst held-out membrane NRMSE exceeds this fails (`[fit] max_heldout_nrmse`).
    public var maxHeldOutNRMSE = 0.02
    /// Fitted pairs more correlated than this are not separable by the stimuli: one is fixed from the netlist.
    public var maxCorrelation = 0.95

    public static func load(_ url: URL) throws -> FeLIFProtocol {
        let file = url.path
        let root = try StrictTable(try StrictTable.parse(url), path: "top level", file: file, allowed: ["simulation", "fit", "stimulus"])
        guard let sim = try root.subtable("simulation", allowed: ["netlist", "sample_interval", "step", "max_step"]) else {
            throw ProtocolError(file: file, "missing [simulation] table")
        }
        let netlistPath = try sim.string("netlist")
        let netlist = StrictTable.resolve(netlistPath, relativeTo: url)
        let fit = try root.subtable("fit", allowed: ["quantities", "starts", "start_spread", "max_iterations", "seed",
                                                     "max_heldout_nrmse", "max_correlation"])
        var quantities: [FeLIFFitQuantity] = [.threshold, .deadTime, .resetPolarization]
        if let fit, fit.table["quantities"] != nil {
            quantities = try fit.strings("quantities").map { name in
                guard let q = FeLIFFitQuantity(rawValue: name) else {
                    throw ProtocolError(file: file, "[fit] unknown quantity '\(name)'; known: \(FeLIFFitQuantity.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return q
            }
        }
        guard let list = root.table["stimulus"]?.array, !list.isEmpty else {
            throw ProtocolError(file: file, "no [[stimulus]] entries")
        }
        var stimuli: [FeLIFStimulus] = []
        for (i, item) in list.enumerated() {
            guard let t = item.table else { throw ProtocolError(file: file, "stimulus \(i + 1) must be a table") }
            let s = try StrictTable(t, path: "stimulus \(i + 1)", file: file,
                                    allowed: ["name", "kind", "current", "duration", "on", "window", "currents", "max_current", "seed", "held_out"])
            let kind = try s.string("kind")
            let name = try s.string("name", default: "\(kind)-\(i + 1)")
            let duration = try s.positive("duration")
            let heldOut = try s.bool("held_out", default: false)
            switch kind {
            case "constant":
                stimuli.append(.constant(name, current: try s.double("current"), duration: duration, heldOut: heldOut))
            case "burst":
                stimuli.append(.burst(name, current: try s.double("current"), on: try s.positive("on"), duration: duration,
                                      window: try s.positive("window", default: 1e-3), heldOut: heldOut))
            case "steps":
                stimuli.append(FeLIFStimulus(name: name, window: try s.positive("window"), currents: try s.doubles("currents"), duration: duration, heldOut: heldOut))
            case "random":
                let window = try s.positive("window", default: 1e-3), maxCurrent = try s.positive("max_current")
                var rng = SeededRandom(seed: UInt64(try s.int("seed", default: 1)))
                let n = Int((duration / window).rounded(.up))
                stimuli.append(FeLIFStimulus(name: name, window: window, currents: (0..<n).map { _ in maxCurrent * rng.uniform() }, duration: duration, heldOut: heldOut))
            default:
                throw ProtocolError(file: file, "[stimulus \(i + 1)] unknown kind '\(kind)'; expected constant, burst, steps or random")
            }
        }
        if Set(stimuli.map(\.name)).count != stimuli.count {
            throw ProtocolError(file: file, "stimulus names must be unique")
        }
        var p = FeLIFProtocol(
            file: url, netlist: netlist,
            sampleInterval: try sim.positive("sample_interval", default: 1e-4), step: try sim.positive("step", default: 1e-6),
            quantities: quantities, starts: try fit?.int("starts", default: 4) ?? 4,
            startSpread: try fit?.positive("start_spread", default: 1.5) ?? 1.5,
            maxIterations: try fit?.int("max_iterations", default: 60) ?? 60,
            seed: UInt64(try fit?.int("seed", default: 1) ?? 1), stimuli: stimuli)
        p.maxStep = try sim.double("max_step", default: FeLIFStimulus.defaultMaxStep, in: 1e-9...1e-3)
        if let fit {
            p.maxHeldOutNRMSE = try fit.double("max_heldout_nrmse", default: 0.02, in: 1e-6...1)
            p.maxCorrelation = try fit.double("max_correlation", default: 0.95, in: 0.5...1)
        }
        return p
    }
}
