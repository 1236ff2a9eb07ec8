import Foundation

/// Bounds on one simulation, checked before it runs (points) and while it runs (wall time).
///
/// Why: ngspice accepts `.tran 1e-300 1m` or `.dc v1 0 1 1e-9` and then works for days, or allocates until the
/// machine runs out of memory; a training run's SPICE check on a diverged network never returns. A deck over
/// the point limit is refused with the estimate; a deck over the time limit is halted on ngspice's background
/// thread and reported as failed, and the instance stays usable.
public struct SpiceLimits: Sendable, Equatable {
    /// The most output points an analysis may ask for (time points of a transient at its print or maximum
    /// step, frequencies of an AC sweep, points of a DC sweep, nested sweeps multiplied).
    public var maxPoints: Double
    /// Wall-clock seconds one deck may run; nil for no limit.
    public var timeLimit: Double?

    public init(maxPoints: Double = 2e7, timeLimit: Double? = 600) {
        self.maxPoints = maxPoints
        self.timeLimit = timeLimit
    }

    /// Environment variables that override the defaults (`BRUNO_SPICE_MAX_POINTS`, `BRUNO_SPICE_TIME_LIMIT`
    /// in seconds; `0` or `none` turns the time limit off).
    public static let maxPointsEnvironmentKey = "BRUNO_SPICE_MAX_POINTS"
    public static let timeLimitEnvironmentKey = "BRUNO_SPICE_TIME_LIMIT"

    /// The defaults, with the environment's overrides.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> SpiceLimits {
        var limits = SpiceLimits()
        if let text = environment[maxPointsEnvironmentKey], let n = SpiceNumber.parse(text), n > 0 {
            limits.maxPoints = n
        }
        if let text = environment[timeLimitEnvironmentKey] {
            if text == "none" || SpiceNumber.parse(text) == 0 {
                limits.timeLimit = nil
            } else if let t = SpiceNumber.parse(text), t > 0 {
                limits.timeLimit = t
            }
        }
        return limits
    }
}

/// Estimates how many points the analyses of a deck ask for, so that an absurd one is refused before it runs.
enum AnalysisBounds {
    /// The largest estimate over the deck's analysis lines and the requested analysis, with where it came from.
    static func check(_ netlist: Netlist, _ analysis: Analysis, limits: SpiceLimits) throws {
        var estimates: [(Double, SourceLocation?, String)] = []
        switch analysis {
        case .netlist:
            let values = parameterValues(netlist)
            for index in netlist.deckLineIndices {
                let text = netlist.lines[index].text
                if let (points, what) = points(ofAnalysisLine: text, parameters: values) {
                    estimates.append((points, netlist.location(ofLineAt: index), what))
                }
            }
        case let .transient(step, stop, start, maxStep, _):
            estimates.append(((stop - start) / min(step, maxStep ?? step), nil, "the requested transient"))
        case let .dc(_, start, stop, step):
            estimates.append((abs(stop - start) / abs(step) + 1, nil, "the requested DC sweep"))
        case .operatingPoint:
            break
        }
        for (points, location, what) in estimates where !(points <= limits.maxPoints) {
            let count = points.isFinite ? String(format: "%.3g", points) : "an unbounded number of"
            throw SpiceError.refused(
                location: location,
                reason: "\(what) asks for \(count) points, more than the limit of \(String(format: "%.3g", limits.maxPoints)) "
                    + "(set \(SpiceLimits.maxPointsEnvironmentKey) to raise it)")
        }
    }

    /// Numeric top-level `.param` values, so that `.tran 10u {tstop}` can be estimated.
    static func parameterValues(_ netlist: Netlist) -> [String: Double] {
        var values: [String: Double] = [:]
        var inParam = false
        for index in netlist.deckLineIndices {
            let text = netlist.lines[index].text
            let key = Netlist.keyword(of: text)
            if key == ".param" { inParam = true } else if !key.hasPrefix("+") { inParam = false }
            guard inParam else { continue }
            let ns = Netlist.stripComment(text) as NSString
            for a in Netlist.paramAssignments(in: text) {
                let raw = ns.substring(with: a.valueRange).trimmingCharacters(in: CharacterSet(charactersIn: "{}' "))
                if let v = SpiceNumber.parse(raw) { values[a.name.lowercased()] = v }
            }
        }
        return values
    }

    /// A number, or a `{name}` of a known parameter; nil for anything else (an expression is not estimated).
    static func value(_ token: String, _ parameters: [String: Double]) -> Double? {
        if let v = SpiceNumber.parse(token) { return v }
        let name = token.trimmingCharacters(in: CharacterSet(charactersIn: "{}' ")).lowercased()
        return parameters[name]
    }

    /// Points asked for by one `.tran`, `.ac` or `.dc` line; nil when it is not one or cannot be estimated.
    static func points(ofAnalysisLine text: String, parameters: [String: Double]) -> (Double, String)? {
        let key = Netlist.keyword(of: text)
        let args = Netlist.directiveArguments(of: text).filter { $0.lowercased() != "uic" }
        switch key {
        case ".tran":
            guard args.count >= 2, let step = value(args[0], parameters), let stop = value(args[1], parameters)
            else { return nil }
            let start = args.count > 2 ? value(args[2], parameters) ?? 0 : 0
            let maxStep = args.count > 3 ? value(args[3], parameters) : nil
            let finest = min(abs(step), abs(maxStep ?? step))
            return (abs(stop - start) / finest, ".tran")
        case ".ac":
            guard args.count >= 4, let n = value(args[1], parameters), let f1 = value(args[2], parameters),
                let f2 = value(args[3], parameters)
            else { return nil }
            switch args[0].lowercased() {
            case "lin": return (n, ".ac")
            case "dec": return (n * abs(log10(f2 / f1)) + 1, ".ac")
            case "oct": return (n * abs(log2(f2 / f1)) + 1, ".ac")
            default: return nil
            }
        case ".dc":
            // One or two sweeps: SOURCE START STOP STEP [SOURCE2 START2 STOP2 STEP2].
            var total = 1.0
            var i = 0
            while i + 3 < args.count {
                guard let a = value(args[i + 1], parameters), let b = value(args[i + 2], parameters),
                    let s = value(args[i + 3], parameters)
                else { return nil }
                total *= abs(b - a) / abs(s) + 1
                i += 4
            }
            return i == 0 ? nil : (total, ".dc")
        default:
            return nil
        }
    }
}
