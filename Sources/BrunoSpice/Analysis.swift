import Foundation

/// Which analysis to run on a loaded netlist.
public enum Analysis: Sendable, Equatable {
    /// The analyses the netlist itself asks for (`.tran`, `.dc`, `.op`, `.ac` lines).
    case netlist
    /// A transient from Swift (ngspice `tran`): print step, stop time, optional start time and maximum
    /// internal step (all seconds); `useInitialConditions` skips the operating point and starts from `.ic`.
    case transient(step: Double, stop: Double, start: Double = 0, maxStep: Double? = nil, useInitialConditions: Bool = false)
    /// A DC sweep of one source (ngspice `dc`).
    case dc(source: String, start: Double, stop: Double, step: Double)
    /// The DC operating point (ngspice `op`).
    case operatingPoint

    /// The ngspice command that runs it.
    func command() throws -> String {
        func n(_ x: Double, _ what: String) throws -> String {
            guard x.isFinite else { throw SpiceError.invalidRequest("The \(what) of the analysis must be a finite number, not \(x).") }
            return "\(x)"
        }
        switch self {
        case .netlist:
            return "run"
        case let .transient(step, stop, start, maxStep, uic):
            guard step > 0, stop > start, start >= 0 else {
                throw SpiceError.invalidRequest("A transient needs step > 0 and stop > start ≥ 0 (got step \(step), start \(start), stop \(stop)).")
            }
            var c = "tran \(try n(step, "step")) \(try n(stop, "stop time"))"
            if start != 0 || maxStep != nil { c += " \(try n(start, "start time"))" }
            if let m = maxStep {
                guard m > 0 else { throw SpiceError.invalidRequest("The maximum step must be positive (got \(m)).") }
                c += " \(try n(m, "maximum step"))"
            }
            if uic { c += " uic" }
            return c
        case let .dc(source, start, stop, step):
            guard step != 0, !source.isEmpty, !source.contains(where: \.isWhitespace) else {
                throw SpiceError.invalidRequest("A DC sweep needs a source name and a non-zero step (got '\(source)', step \(step)).")
            }
            return "dc \(source) \(try n(start, "start")) \(try n(stop, "stop")) \(try n(step, "step"))"
        case .operatingPoint:
            return "op"
        }
    }
}
