import Foundation

/// Turns what ngspice printed into typed errors and surfaced warnings.
///
/// ngspice returns 0 from `ngSpice_Circ` and `run` for most failures (see the reference notes), so failure is
/// read from its messages and from whether a plot appeared. Patterns are matched case-insensitively on the
/// text after ngspice's `stdout `/`stderr ` prefix.
enum SpiceDiagnostics {
    /// Messages worth quoting in an error: ngspice's error and warning lines (deduplicated), or its last
    /// lines when none look like one. Banners, notes, node tables and gmin-stepping chatter are left out.
    /// Text of included files is replaced by its place (`Netlist.redacted`).
    static func relevant(_ lines: [String], _ netlist: Netlist) -> [String] {
        let keys = ["error", "undefined", "unknown", "can't", "cannot", "could not", "too small", "aborted",
                    "failed", "warning", "interrupted", "not found", "singular", "no such"]
        var out: [String] = []
        let printed = lines.map { OutputSink.stripPrefix($0).trimmingCharacters(in: .whitespaces) }
        for (i, line) in printed.enumerated() {
            let l = line.lowercased()
            guard keys.contains(where: l.contains), !l.hasPrefix("trying gmin"), !l.contains("further gmin increment"),
                  !l.hasPrefix("note:"), !out.contains(line) else { continue }
            out.append(line)
            // ngspice prints the offending source line on the line after "can't find model … from line".
            if l.hasSuffix("from line"), i + 1 < printed.count, !out.contains(printed[i + 1]) { out.append(printed[i + 1]) }
        }
        if out.isEmpty {
            out = Array(printed.filter { !$0.isEmpty && !$0.lowercased().hasPrefix("note:") }.suffix(6))
        }
        return out.map(netlist.redactor())
    }

    /// The deck line ngspice named in "Netlist line no. N" (mapped back to the user's file), if any.
    static func reportedLocation(_ lines: [String], _ netlist: Netlist) -> SourceLocation? {
        for line in lines.map(OutputSink.stripPrefix) {
            let pattern = #"(line no\.\s*|error on line\s+)([0-9]+)"#
            if let r = line.range(of: pattern, options: [.regularExpression, .caseInsensitive]) {
                let digits = line[r].filter(\.isNumber)
                if let n = Int(digits), let loc = netlist.location(ofDeckLine: n) { return loc }
            }
        }
        return nil
    }

    static func firstCapture(_ pattern: String, in lines: [String]) -> (String, Int)? {
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else { return nil }
        for (i, raw) in lines.enumerated() {
            let line = OutputSink.stripPrefix(raw)
            let ns = line as NSString
            if let m = regex.firstMatch(in: line, range: NSRange(location: 0, length: ns.length)), m.numberOfRanges > 1,
               m.range(at: 1).location != NSNotFound {
                return (ns.substring(with: m.range(at: 1)), i)
            }
        }
        return nil
    }

    /// Errors that ngspice reports while parsing a deck (it still returns 0).
    static func loadError(lines: [String], netlist: Netlist) -> SpiceError? {
        let messages = relevant(lines, netlist)
        if let e = commonError(lines: lines, netlist: netlist, messages: messages) { return e }
        let lower = lines.map { OutputSink.stripPrefix($0).lowercased() }
        if lower.contains(where: { $0.contains("circuit not parsed") || $0.hasPrefix("error") || $0.contains(" error:") || $0.contains("fatal error") }) {
            return .parse(location: reportedLocation(lines, netlist) ?? errorLineLocation(lines, netlist), messages: messages)
        }
        return nil
    }

    /// Classification shared by the load and the run phases.
    private static func commonError(lines: [String], netlist: Netlist, messages: [String]) -> SpiceError? {
        if let (name, _) = firstCapture(#"undefined parameter \[([^\]]+)\]"#, in: lines) {
            return .undefinedParameter(name: name, location: reportedLocation(lines, netlist), messages: messages)
        }
        if let (instance, _) = firstCapture(#"unknown subckt:\s*(.+)$"#, in: lines) {
            let tokens = instance.split(whereSeparator: \.isWhitespace).map(String.init).filter { !$0.contains("=") }
            let name = tokens.last ?? instance
            return .unknownSubcircuit(name: name, location: netlist.location(containing: instance), messages: messages)
        }
        if let (name, index) = firstCapture(#"can't find model '([^']+)'"#, in: lines) {
            let next = index + 1 < lines.count ? OutputSink.stripPrefix(lines[index + 1]).trimmingCharacters(in: .whitespaces) : ""
            return .unknownModel(name: name, location: netlist.location(containing: next) ?? reportedLocation(lines, netlist), messages: messages)
        }
        if let (name, index) = firstCapture(#"unable to find definition of model ([^\s]+)"#, in: lines) {
            let next = index + 1 < lines.count ? OutputSink.stripPrefix(lines[index + 1]).trimmingCharacters(in: .whitespaces) : ""
            return .unknownModel(name: name, location: netlist.location(containing: next) ?? reportedLocation(lines, netlist), messages: messages)
        }
        if let (path, _) = firstCapture(#"could not find include file\s+(.+)$"#, in: lines) {
            return .fileNotFound(path: path.trimmingCharacters(in: CharacterSet(charactersIn: " \"'")), includedFrom: reportedLocation(lines, netlist))
        }
        return nil
    }

    /// A location for a generic parse error: the netlist line whose text ngspice quoted, if any.
    static func errorLineLocation(_ lines: [String], _ netlist: Netlist) -> SourceLocation? {
        let printed = lines.map { OutputSink.stripPrefix($0).trimmingCharacters(in: .whitespaces) }
        // "too few nodes: NAME": the element itself.
        if let (element, _) = firstCapture(#"too few nodes:\s*(\S+)"#, in: lines),
           let loc = elementLocation(quoted: element, netlist) {
            return loc
        }
        // "NAME equals what?": an assignment without a value; the line is the one assigning NAME.
        if let (name, _) = firstCapture(#"([A-Za-z_][A-Za-z0-9_]*) equals what"#, in: lines) {
            for i in netlist.deckLineIndices.dropFirst()
            where netlist.lines[i].text.range(of: #"\b\#(name)\s*="#, options: [.regularExpression, .caseInsensitive]) != nil {
                return netlist.location(ofLineAt: i)
            }
        }
        // "bad type given for option NAME": the .option(s) line setting NAME.
        if let (name, _) = firstCapture(#"bad type given for option\s+([A-Za-z_][A-Za-z0-9_]*)"#, in: lines) {
            for i in netlist.deckLineIndices.dropFirst() where Netlist.keyword(of: netlist.lines[i].text).hasPrefix(".opt")
                && netlist.lines[i].text.range(of: #"\b\#(name)\b"#, options: [.regularExpression, .caseInsensitive]) != nil {
                return netlist.location(ofLineAt: i)
            }
        }
        for (i, line) in printed.enumerated() where line.lowercased().contains("error") {
            // ngspice often quotes the offending line after a colon or on the next line.
            if let colon = line.range(of: ":", options: .backwards) {
                let quoted = String(line[colon.upperBound...]).trimmingCharacters(in: .whitespaces)
                if quoted.count > 2, let loc = netlist.location(containing: quoted) { return loc }
            }
            if i + 1 < printed.count, printed[i + 1].count > 2, let loc = netlist.location(containing: printed[i + 1]) {
                return loc
            }
            if i + 1 < printed.count, let loc = elementLocation(quoted: printed[i + 1], netlist) { return loc }
        }
        return nil
    }

    /// The line of the element ngspice quotes after flattening: `b.xn.xfe.be …` is element `Be` of a subcircuit
    /// instance, `a$poly$f1 …` the polynomial source ngspice made of `F1`. The parameters it shows are already
    /// substituted, so the line is found by the element's own name.
    static func elementLocation(quoted: String, _ netlist: Netlist) -> SourceLocation? {
        guard var name = quoted.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) else {
            return nil
        }
        if name.lowercased().hasPrefix("a$poly$") { name = String(name.dropFirst(7)) }
        if !name.hasPrefix("."), name.contains("."), let last = name.split(separator: ".").last { name = String(last) }
        name = name.lowercased()
        guard name.count >= 2 else { return nil }
        let matches = netlist.deckLineIndices.dropFirst().filter { Netlist.keyword(of: netlist.lines[$0].text) == name }
        // Several lines of that name (two `.options`, one element name in two subcircuits): the one that also
        // holds the quoted line's next word.
        let tokens = quoted.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" })
        if matches.count > 1, tokens.count > 1,
           let best = matches.first(where: { netlist.lines[$0].text.lowercased().contains(tokens[1]) }) {
            return netlist.location(ofLineAt: best)
        }
        return matches.first.map { netlist.location(ofLineAt: $0) }
    }

    /// Errors of the analysis itself: convergence, aborted runs, runs that produced nothing.
    static func runError(lines: [String], allLines: [String], netlist: Netlist, plots: [SpicePlot]) -> SpiceError? {
        let messages = relevant(allLines, netlist)
        if let e = commonError(lines: lines, netlist: netlist, messages: messages) { return e }
        let lower = lines.map { OutputSink.stripPrefix($0).lowercased() }
        if lower.contains(where: { $0.contains("timestep too small") }) {
            let time = firstCapture(#"time\s*=\s*([-+0-9.eE]+)"#, in: lines).flatMap { Double($0.0) }
            return .convergence(time: time, messages: messages)
        }
        if lower.contains(where: { $0.contains("no convergence") || $0.contains("iteration limit reached") || $0.contains("gmin stepping failed") || $0.contains("source stepping failed") }) && plots.allSatisfy({ $0.vectors.allSatisfy { $0.count == 0 } }) {
            return .convergence(time: nil, messages: messages)
        }
        if lower.contains(where: { $0.contains("there aren't any circuits loaded") || $0.contains("no circuit loaded") || $0.contains("circuit not parsed") }) {
            return .parse(location: reportedLocation(allLines, netlist) ?? errorLineLocation(allLines, netlist), messages: messages)
        }
        if lower.contains(where: { $0.contains("simulation(s) aborted") || $0.contains("simulation interrupted") }) {
            return .aborted(messages: messages)
        }
        if plots.isEmpty {
            return .aborted(messages: messages.isEmpty ? ["no analysis ran: the netlist has no .tran/.dc/.op/.ac line and none was given"] : messages)
        }
        return nil
    }

    /// ControlledExit: classify what ngspice said before dying.
    static func fatalError(status: Int32, lines: [String], netlist: Netlist) -> SpiceError {
        let messages = relevant(lines, netlist)
        if let e = commonError(lines: lines, netlist: netlist, messages: messages) { return e }
        return .fatal(status: status, messages: messages)
    }

    /// Warnings that can change what a circuit means; they are returned with the result, not swallowed.
    static func warnings(in lines: [String]) -> [String] {
        var out: [String] = []
        for line in lines.map(OutputSink.stripPrefix) {
            let l = line.lowercased()
            if l.hasPrefix("warning") || l.contains(" warning:") || l.contains("has no value") || l.contains("set to default") {
                let t = line.trimmingCharacters(in: .whitespaces)
                if !out.contains(t) { out.append(t) }
            }
        }
        return out
    }
}
