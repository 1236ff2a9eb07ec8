import Foundation

/// A place in a netlist: the file (or a name for a netlist given as a string), the 1-based line, its text.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var text: String

    public init(file: String, line: Int, text: String) {
        self.file = file
        self.line = line
        self.text = text
    }

    /// `file:line: text`, or `file:line` where the text is not quoted (a line of an included file).
    public var description: String {
        let t = text.trimmingCharacters(in: .whitespaces)
        return t.isEmpty ? "\(file):\(line)" : "\(file):\(line): \(t)"
    }
}

/// Every way a simulation can fail, each carrying what ngspice itself printed.
///
/// ngspice's return codes say almost nothing (most failures return 0), so these are classified from the
/// lines ngspice prints and from whether the analysis produced a plot; see `SpiceDiagnostics`.
public enum SpiceError: Error, Sendable, Equatable {
    /// No `libngspice.so` at any of the searched paths.
    case libraryNotFound(searched: [String])
    /// The library was found but could not be copied, loaded or initialised.
    case libraryLoadFailed(path: String, reason: String)
    /// A netlist file, or a file it includes, does not exist.
    case fileNotFound(path: String, includedFrom: SourceLocation?)
    /// ngspice could not parse the netlist (a bad number, an unknown element, a missing node, …).
    case parse(location: SourceLocation?, messages: [String])
    /// A device refers to a `.model` that is not defined.
    case unknownModel(name: String, location: SourceLocation?, messages: [String])
    /// An `X` instance refers to a `.subckt` that is not defined.
    case unknownSubcircuit(name: String, location: SourceLocation?, messages: [String])
    /// An expression uses a parameter that no `.param` defines. (This kills a naively used ngspice instance;
    /// Bruno reloads it.)
    case undefinedParameter(name: String, location: SourceLocation?, messages: [String])
    /// A parameter override names a parameter the netlist does not define at top level.
    case unknownParameterOverride(name: String, netlist: String, defined: [String])
    /// The transient solver gave up ("timestep too small"); `time` is where, if ngspice said.
    case convergence(time: Double?, messages: [String])
    /// The run was aborted for another reason (ngspice printed "simulation(s) aborted" or ran nothing).
    case aborted(messages: [String])
    /// ngspice asked to exit (ControlledExit) for a reason not classified above; the instance was reloaded.
    case fatal(status: Int32, messages: [String])
    /// Bruno refused to hand the netlist to ngspice: an include cycle or nesting too deep, a file that is not a
    /// regular text file or is too large, an analysis with more points than the limit, … (`reason` says which).
    case refused(location: SourceLocation?, reason: String)
    /// The simulation ran longer than its wall-time limit and was halted; the instance was reset.
    case timedOut(seconds: Double, simulatedTime: Double?)
    /// The caller asked for something the binding cannot do (bad analysis values, closed instance, …).
    case invalidRequest(String)
}

extension SpiceError: LocalizedError, CustomStringConvertible {
    public var description: String { errorDescription ?? "ngspice error" }

    public var errorDescription: String? {
        func said(_ m: [String]) -> String {
            m.isEmpty ? "" : " ngspice said: " + m.prefix(8).map { "\"\($0)\"" }.joined(separator: "; ") + (m.count > 8 ? " (+\(m.count - 8) more lines)" : "") + "."
        }
        func at(_ l: SourceLocation?) -> String {
            guard let l else { return "" }
            let text = l.text.trimmingCharacters(in: .whitespaces)
            return " at \(l.file) line \(l.line)" + (text.isEmpty ? "" : " (`\(text)`)")
        }
        switch self {
        case .libraryNotFound(let searched):
            return "ngspice's shared library was not found (looked for \(searched.prefix(4).joined(separator: ", "))…). Install it with `apt-get install -y libngspice0-dev ngspice`, or set \(NgspiceInstallation.libraryEnvironmentKey) to its path."
        case .libraryLoadFailed(let path, let reason):
            return "ngspice's shared library \(path) could not be loaded: \(reason)."
        case .fileNotFound(let path, let from):
            return "File not found: \(path)" + (from.map { " (included from \($0.file) line \($0.line))" } ?? "") + "."
        case .parse(let l, let m):
            return "ngspice could not parse the netlist\(at(l))." + said(m)
        case .unknownModel(let n, let l, let m):
            return "Unknown model '\(n)'\(at(l)): no `.model \(n)` is defined or included." + said(m)
        case .unknownSubcircuit(let n, let l, let m):
            return "Unknown subcircuit '\(n)'\(at(l)): no `.subckt \(n)` is defined or included." + said(m)
        case .undefinedParameter(let n, let l, let m):
            return "Undefined parameter '\(n)'\(at(l)): define it with `.param \(n)=…` or pass it as an override." + said(m)
        case .unknownParameterOverride(let n, let netlist, let defined):
            return "Cannot override parameter '\(n)': \(netlist) defines no top-level `.param \(n)`. Defined parameters: \(defined.isEmpty ? "none" : defined.joined(separator: ", "))."
        case .convergence(let t, let m):
            return "The transient did not converge (timestep too small)" + (t.map { " at t = \($0) s" } ?? "") + ". Try a smaller step, `.options method=gear`, or smoother sources." + said(m)
        case .aborted(let m):
            return "The simulation was aborted." + said(m)
        case .fatal(let status, let m):
            return "ngspice hit a fatal error (exit status \(status)); the instance has been reloaded." + said(m)
        case .refused(let l, let reason):
            return "Bruno did not simulate the netlist\(at(l)): \(reason)."
        case .timedOut(let seconds, let reached):
            let simulated = reached.map { " (simulated time reached: \($0) s)" } ?? ""
            return "The simulation was halted after its wall-time limit of \(seconds) s\(simulated); raise the limit or "
                + "shorten the analysis."
        case .invalidRequest(let why):
            return why
        }
    }
}
