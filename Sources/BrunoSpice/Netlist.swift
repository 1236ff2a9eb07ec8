import Foundation

/// A SPICE deck as Bruno hands it to ngspice: the physical lines of a file (or string), kept one-to-one so
/// that a line number ngspice reports is the user's line number.
///
/// Loading resolves relative `.include`/`.lib` paths against the netlist's folder (ngspice would resolve them
/// against the process's working directory), checks that they exist, and lets a caller override top-level
/// `.param` values and add `.save` lines without editing the file.
public struct Netlist: Sendable, Equatable {
    /// One physical line and where it came from.
    public struct Line: Sendable, Equatable {
        public var text: String
        /// 1-based line in `Netlist.name`, or nil for lines Bruno added.
        public var sourceLine: Int?

        public init(text: String, sourceLine: Int?) {
            self.text = text
            self.sourceLine = sourceLine
        }
    }

    /// The file path, or the name given to a netlist built from a string (used in error messages).
    public var name: String
    /// Folder that relative include paths resolve against.
    public var baseDirectory: URL
    public var lines: [Line]
    /// Things Bruno changed or ignored while preparing the deck (e.g. a skipped `.control` block).
    public private(set) var notes: [String] = []

    /// The title line (SPICE ignores the first line of a deck as a circuit element).
    public var title: String { lines.first?.text ?? "" }

    /// Reads a netlist file.
    public init(contentsOf url: URL) throws {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw SpiceError.fileNotFound(path: url.path, includedFrom: nil)
        }
        guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
            throw SpiceError.parse(location: SourceLocation(file: url.path, line: 1, text: ""), messages: ["the file is not text"])
        }
        try self.init(string: text, name: url.path, baseDirectory: url.deletingLastPathComponent())
    }

    /// A netlist from text; `baseDirectory` (default: the working directory) anchors relative includes.
    public init(string: String, name: String = "<netlist>", baseDirectory: URL? = nil) throws {
        self.name = name
        self.baseDirectory = baseDirectory ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        var physical = string.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
        if physical.last == "" { physical.removeLast() }
        lines = physical.enumerated().map { Line(text: $0.element, sourceLine: $0.offset + 1) }
        try resolveIncludes()
        skipControlBlocks()
    }

    // MARK: - Preparing the deck

    /// The lines to send to ngspice, ending in `.end`.
    public var deck: [String] {
        var out = lines.map(\.text)
        if let endIndex = endLineIndex {
            out = Array(out[...endIndex])
        } else {
            out.append(".end")
        }
        return out
    }

    /// Index of the `.end` line, if the netlist has one.
    var endLineIndex: Int? {
        lines.lastIndex { Netlist.keyword(of: $0.text) == ".end" }
    }

    /// Adds lines just before `.end`, so that every line number before them is unchanged.
    public mutating func append(_ newLines: [String]) {
        let added = newLines.map { Line(text: $0, sourceLine: nil) }
        if let end = endLineIndex {
            lines.insert(contentsOf: added, at: end)
        } else {
            lines.append(contentsOf: added)
        }
    }

    /// Asks ngspice to keep only these vectors (e.g. `v(out)`, `i(v1)`), which also saves memory.
    public mutating func save(_ vectors: [String]) {
        guard !vectors.isEmpty else { return }
        append([".save " + vectors.joined(separator: " ")])
    }

    /// Names of the parameters defined by top-level `.param` lines (outside any `.subckt`), in order.
    public var topLevelParameters: [String] {
        topLevelParamLineIndices.flatMap { Netlist.paramAssignments(in: lines[$0].text).map(\.name) }
    }

    /// Replaces the value of a top-level `.param NAME=…` in place. Throws if the netlist does not define it,
    /// so a typo in a parameter name is caught rather than silently adding an unused parameter.
    public mutating func setParameter(_ name: String, to value: String) throws {
        var found = false
        let lower = name.lowercased()
        for index in topLevelParamLineIndices {
            let text = lines[index].text
            // Replace from the end so earlier ranges stay valid if a line assigns the name twice.
            for match in Netlist.paramAssignments(in: text).reversed() where match.name.lowercased() == lower {
                lines[index].text = (lines[index].text as NSString)
                    .replacingCharacters(in: match.valueRange, with: Netlist.formatValue(value))
                found = true
            }
        }
        if !found {
            throw SpiceError.unknownParameterOverride(name: name, netlist: self.name, defined: topLevelParameters)
        }
    }

    /// `setParameter` for a number (written with full precision).
    public mutating func setParameter(_ name: String, to value: Double) throws {
        try setParameter(name, to: Netlist.spiceNumber(value))
    }

    /// Formats a number so that ngspice reads back exactly the same double.
    public static func spiceNumber(_ value: Double) -> String {
        "\(value)"
    }

    /// The location of a 1-based deck line (as ngspice numbers them), mapped back to the user's file.
    public func location(ofDeckLine n: Int) -> SourceLocation? {
        guard n >= 1, n <= lines.count else { return nil }
        let line = lines[n - 1]
        return SourceLocation(file: line.sourceLine == nil ? "\(name) (line added by Bruno)" : name,
                              line: line.sourceLine ?? n, text: line.text)
    }

    /// The first line whose text contains `needle` (case-insensitive), for errors ngspice reports by content.
    public func location(containing needle: String) -> SourceLocation? {
        let n = needle.lowercased().trimmingCharacters(in: .whitespaces)
        guard !n.isEmpty else { return nil }
        for (i, line) in lines.enumerated() where line.text.lowercased().contains(n) {
            return location(ofDeckLine: i + 1)
        }
        return nil
    }

    // MARK: - Internals

    /// The first token of a line, lower-cased (`.param`, `.include`, `r1`, …).
    public static func keyword(of text: String) -> String {
        let trimmed = text.drop { $0 == " " || $0 == "\t" }
        return String(trimmed.prefix { $0 != " " && $0 != "\t" && $0 != "(" }).lowercased()
    }

    /// Indices of the physical lines that belong to top-level `.param` statements (with continuations).
    private var topLevelParamLineIndices: [Int] {
        var depth = 0
        var inParam = false
        var result: [Int] = []
        for index in lines.indices.dropFirst() {
            let key = Netlist.keyword(of: lines[index].text)
            if key == ".subckt" { depth += 1 }
            if key == ".ends" { depth = max(0, depth - 1) }
            if key == ".param" { inParam = true } else if !key.hasPrefix("+") { inParam = false }
            if depth == 0 && inParam { result.append(index) }
        }
        return result
    }

    struct ParamAssignment {
        var name: String
        var valueRange: NSRange
    }

    /// `name = value` pairs on a `.param` (or `+` continuation) line; values may be `{…}`, `'…'` or a token.
    static func paramAssignments(in text: String) -> [ParamAssignment] {
        let code = stripComment(text)
        let pattern = #"([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(\{[^}]*\}|'[^']*'|[^\s]+)"#
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        let ns = code as NSString
        return regex.matches(in: code, range: NSRange(location: 0, length: ns.length)).map {
            ParamAssignment(name: ns.substring(with: $0.range(at: 1)), valueRange: $0.range(at: 2))
        }
    }

    /// The line without a trailing `;`, `$ ` or `//` comment (same length up to the comment).
    static func stripComment(_ text: String) -> String {
        var result = text
        for marker in [" ;", "\t;", " $ ", "\t$ ", "//"] {
            if let r = result.range(of: marker) { result = String(result[..<r.lowerBound]) }
        }
        return result
    }

    static func formatValue(_ value: String) -> String {
        let v = value.trimmingCharacters(in: .whitespaces)
        if Double(v) != nil || v.hasPrefix("{") || v.hasPrefix("'") { return v }
        // SPICE numbers with scale suffixes (1k, 10p, 2meg) are single tokens without operators.
        if v.range(of: #"^[-+]?[0-9.]+(e[-+]?[0-9]+)?[a-z]*$"#, options: [.regularExpression, .caseInsensitive]) != nil {
            return v
        }
        return "{\(v)}"
    }

    /// The file an `.include`/`.inc`/`.lib FILE SECTION` line names, resolved against `base`, with the keyword and
    /// what follows the path (a library section); nil for other lines and for `.lib NAME`, which opens a section.
    static func includeTarget(of text: String, relativeTo base: URL) -> (key: String, path: String, tail: String)? {
        let key = Netlist.keyword(of: text)
        guard key == ".include" || key == ".inc" || key == ".lib" else { return nil }
        var rest = Netlist.stripComment(text).trimmingCharacters(in: .whitespaces)
        rest = String(rest.dropFirst(key.count)).trimmingCharacters(in: .whitespaces)
        var path: String
        var tail = ""
        if let q = rest.first, q == "\"" || q == "'" {
            guard let close = rest.dropFirst().firstIndex(of: q) else { return nil }
            path = String(rest[rest.index(after: rest.startIndex)..<close])
            tail = String(rest[rest.index(after: close)...]).trimmingCharacters(in: .whitespaces)
        } else {
            let parts = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = parts.first else { return nil }
            path = first
            tail = parts.dropFirst().joined(separator: " ")
        }
        if key == ".lib" && tail.isEmpty { return nil }
        if path.hasPrefix("~/") { path = NSString(string: path).expandingTildeInPath }
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
        return (key, url.standardizedFileURL.path, tail)
    }

    /// Makes `.include`/`.inc`/`.lib FILE SECTION` paths absolute and checks that the files exist.
    private mutating func resolveIncludes() throws {
        for index in lines.indices.dropFirst() {
            guard let target = Netlist.includeTarget(of: lines[index].text, relativeTo: baseDirectory) else { continue }
            guard FileManager.default.fileExists(atPath: target.path) else {
                throw SpiceError.fileNotFound(path: target.path, includedFrom: location(ofDeckLine: index + 1))
            }
            lines[index].text = "\(target.key) \"\(target.path)\"" + (target.tail.isEmpty ? "" : " \(target.tail)")
        }
    }

    /// Every file this netlist includes, directly or through the files it includes (a library that includes
    /// another), each once, in the order first met. What a simulation of it reads besides the netlist itself: a
    /// calibration card hashes them all, so that editing a model library invalidates the card as editing the
    /// netlist does.
    public func includedFiles() throws -> [URL] {
        var seen: [String] = []
        // `firstLine` is the line number of texts[0] in `origin` (a netlist's first line is its title, not a statement).
        func visit(_ texts: [String], firstLine: Int, base: URL, from origin: String) throws {
            for (n, text) in texts.enumerated() {
                guard let target = Netlist.includeTarget(of: text, relativeTo: base), !seen.contains(target.path) else { continue }
                guard let contents = try? String(contentsOfFile: target.path, encoding: .utf8) else {
                    throw SpiceError.fileNotFound(path: target.path, includedFrom: SourceLocation(file: origin, line: firstLine + n, text: text))
                }
                seen.append(target.path)
                let url = URL(fileURLWithPath: target.path)
                try visit(contents.components(separatedBy: .newlines), firstLine: 1, base: url.deletingLastPathComponent(), from: target.path)
            }
        }
        try visit(lines.dropFirst().map(\.text), firstLine: 2, base: baseDirectory, from: name)
        return seen.map { URL(fileURLWithPath: $0) }
    }

    /// Bruno runs analyses itself, so interactive `.control … .endc` blocks are commented out (line numbers
    /// kept) and noted.
    private mutating func skipControlBlocks() {
        var start: Int?
        for index in lines.indices {
            let key = Netlist.keyword(of: lines[index].text)
            if key == ".control" { start = index }
            if let s = start {
                lines[index].text = "* [bruno: skipped] " + lines[index].text
                if key == ".endc" {
                    notes.append("ignored the .control block at lines \(s + 1)–\(index + 1): Bruno runs the analyses itself")
                    start = nil
                }
            }
        }
    }
}
