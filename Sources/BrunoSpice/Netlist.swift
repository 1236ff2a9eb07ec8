import Foundation

/// A SPICE deck as Bruno hands it to ngspice: every file expanded by Bruno itself, each line keeping the file
/// and line it came from, so that a line number ngspice reports is mapped back to the file the user wrote.
///
/// Loading reads the netlist and every `.include`/`.lib` it names within `NetlistReadLimits` (relative paths
/// resolve against the including file's folder, not the process's working directory), removes everything
/// ngspice would execute (see `DeckReader`), and lets a caller override top-level `.param` values and add
/// `.save` lines without editing the file.
public struct Netlist: Sendable, Equatable {
    /// One physical line and where it came from.
    public struct Line: Sendable, Equatable {
        public var text: String
        /// 1-based line in `sourceFile` (or in `Netlist.name` when that is nil), or nil for lines Bruno added.
        public var sourceLine: Int?
        /// The included file the line comes from; nil for the netlist's own lines and lines Bruno added.
        public var sourceFile: String?

        public init(text: String, sourceLine: Int?, sourceFile: String? = nil) {
            self.text = text
            self.sourceLine = sourceLine
            self.sourceFile = sourceFile
        }

        /// Whether the line comes from an included file (whose text errors do not quote).
        public var isIncluded: Bool { sourceFile != nil }
    }

    /// The file path, or the name given to a netlist built from a string (used in error messages).
    public var name: String
    /// Folder that relative include paths resolve against.
    public var baseDirectory: URL
    /// The expanded deck: the netlist's lines, each include replaced by a marker comment and the included lines.
    public var lines: [Line]
    /// Things Bruno changed or ignored while preparing the deck (e.g. a removed `.control` block).
    public private(set) var notes: [String] = []
    /// The limits the deck was read within (kept to read the include tree again in `includedFiles()`).
    public let limits: NetlistReadLimits
    /// The netlist's own lines as read, before expansion.
    private let sourceLines: [String]

    /// The title line (SPICE ignores the first line of a deck as a circuit element).
    public var title: String { lines.first?.text ?? "" }

    /// Reads a netlist file.
    public init(contentsOf url: URL, limits: NetlistReadLimits = .standard) throws {
        let physical = try DeckReader(limits: limits).readFile(url.path, from: nil)
        try self.init(
            physical: physical, name: url.path, baseDirectory: url.deletingLastPathComponent(), limits: limits)
    }

    /// A netlist from text; `baseDirectory` (default: the working directory) anchors relative includes.
    public init(
        string: String, name: String = "<netlist>", baseDirectory: URL? = nil,
        limits: NetlistReadLimits = .standard
    ) throws {
        if string.utf8.contains(0) {
            throw SpiceError.refused(location: nil, reason: "\(name) contains a NUL byte: it is not a text netlist")
        }
        let base = baseDirectory ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        try self.init(physical: DeckReader.physicalLines(string), name: name, baseDirectory: base, limits: limits)
    }

    private init(physical: [String], name: String, baseDirectory: URL, limits: NetlistReadLimits) throws {
        self.name = name
        self.baseDirectory = baseDirectory
        self.limits = limits
        sourceLines = physical
        var reader = DeckReader(limits: limits)
        lines = try reader.expand(physical, file: name, base: baseDirectory, isTop: true)
        notes = reader.notes
        let expanded = self
        try AssignmentSyntax.check(lines) { expanded.location(ofLineAt: $0) }
    }

    // MARK: - Preparing the deck

    /// The lines to send to ngspice, ending in `.end`. Blank lines are left out: ngspice does not count them, so
    /// without them its "line N" is the Nth line sent (see `deckLineIndices`).
    public var deck: [String] {
        var out = deckLineIndices.map { lines[$0].text }
        if endLineIndex == nil { out.append(".end") }
        return out
    }

    /// Indices into `lines` of the lines sent to ngspice, in order (up to and including `.end`).
    var deckLineIndices: [Int] {
        let last = endLineIndex ?? (lines.count - 1)
        guard last >= 0 else { return [] }
        return (0...last).filter { $0 == 0 || !lines[$0].text.allSatisfy { $0 == " " || $0 == "\t" } }
    }

    /// Index of the netlist's first `.end` line (ngspice reads nothing after it); an included file's `.end` does
    /// not end the deck (`DeckReader` comments it out).
    var endLineIndex: Int? {
        lines.firstIndex { !$0.isIncluded && Netlist.keyword(of: $0.text) == ".end" }
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

    /// The location of a 1-based deck line (as ngspice numbers them), mapped back to the file it came from.
    public func location(ofDeckLine n: Int) -> SourceLocation? {
        let indices = deckLineIndices
        guard n >= 1, n <= indices.count else { return nil }
        return location(ofLineAt: indices[n - 1])
    }

    /// Where `lines[index]` came from. An included file's text is not quoted: it may be anything the netlist
    /// named (a secrets file included by mistake or on purpose).
    func location(ofLineAt index: Int) -> SourceLocation {
        let line = lines[index]
        if let file = line.sourceFile {
            return SourceLocation(file: file, line: line.sourceLine ?? 0, text: "")
        }
        return SourceLocation(
            file: line.sourceLine == nil ? "\(name) (line added by Bruno)" : name,
            line: line.sourceLine ?? index + 1, text: line.text)
    }

    /// The first line whose text contains `needle` (case-insensitive), for errors ngspice reports by content.
    public func location(containing needle: String) -> SourceLocation? {
        let n = needle.lowercased().trimmingCharacters(in: .whitespaces)
        guard !n.isEmpty else { return nil }
        for i in deckLineIndices where lines[i].text.lowercased().contains(n) {
            return location(ofLineAt: i)
        }
        return nil
    }

    /// `message` with the text of any included file replaced, so that an error quotes no file contents beyond
    /// the netlist's own lines: a whole included line becomes its place (`‹models.lib line 3›`), and any word of
    /// an included file that the netlist itself does not use becomes `…` (ngspice also quotes single words,
    /// as in "unknown parameter (word)"). For many messages, build one `redactor()` and reuse it.
    public func redacted(_ message: String) -> String { redactor()(message) }

    /// A function that redacts messages as `redacted(_:)` does, with the word sets built once.
    public func redactor() -> @Sendable (String) -> String {
        let separators = CharacterSet.whitespaces.union(CharacterSet(charactersIn: "()[]{}'\"=,;:"))
        func words(_ text: String) -> [String] {
            text.lowercased().components(separatedBy: separators).filter { $0.count >= 3 }
        }
        let included = lines.filter { $0.isIncluded && !$0.text.hasPrefix("* [bruno:") }
        let own = Set(lines.filter { !$0.isIncluded }.flatMap { words($0.text) })
        // Words of statements only: a library's comments are prose ("too", "nodes") that ngspice's own
        // messages share, and ngspice never echoes a comment.
        let statements = included.filter { !$0.text.drop { $0 == " " || $0 == "\t" }.hasPrefix("*") }
        let foreign = Set(statements.flatMap { words(Netlist.stripComment($0.text)) }).subtracting(own)
        let wholeLines: [(String, String)] = included.compactMap { line in
            let text = line.text.trimmingCharacters(in: .whitespaces)
            guard text.count >= 3 else { return nil }
            let file = URL(fileURLWithPath: line.sourceFile ?? "").lastPathComponent
            return (text, "‹\(file) line \(line.sourceLine ?? 0)›")
        }
        return { message in
            var result = message
            for (text, place) in wholeLines where result.range(of: text, options: .caseInsensitive) != nil {
                result = result.replacingOccurrences(of: text, with: place, options: .caseInsensitive)
            }
            guard !foreign.isEmpty else { return result }
            var out = ""
            var word = ""
            func flush() {
                out += foreign.contains(word.lowercased()) ? "…" : word
                word = ""
            }
            for scalar in result.unicodeScalars {
                if separators.contains(scalar) {
                    flush()
                    out.unicodeScalars.append(scalar)
                } else {
                    word.unicodeScalars.append(scalar)
                }
            }
            flush()
            return out
        }
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
            if depth == 0 && inParam && !lines[index].isIncluded { result.append(index) }
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

    /// The words after a line's directive (`.lib`, `.include`, …), without a trailing comment.
    static func directiveArguments(of text: String) -> [String] {
        afterDirective(text).split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    }

    /// What follows a line's first word (a directive may run straight into a quote: `.inc"file"`), without the
    /// trailing comment and the blanks before it.
    static func afterDirective(_ text: String) -> Substring {
        Substring(Netlist.stripComment(text))
            .drop { $0 == " " || $0 == "\t" }
            .drop { $0 != " " && $0 != "\t" && $0 != "\"" && $0 != "'" }
            .drop { $0 == " " || $0 == "\t" }
    }

    /// The file an include directive names, resolved against `base`, with the directive and the library section
    /// (empty for `.include`); nil for `.lib NAME`, which opens a section, and for lines that are not includes.
    /// Directives are matched by prefix, as ngspice does: `.inc`, `.include`, `.includes` are all includes.
    static func includeTarget(
        of text: String, relativeTo base: URL
    ) -> (key: String, path: String, section: String)? {
        let key = Netlist.keyword(of: text)
        let isLib = key.hasPrefix(".lib")
        guard key.hasPrefix(".inc") || isLib else { return nil }
        let rest = afterDirective(text)
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
        if (isLib && tail.isEmpty) || path.isEmpty { return nil }
        if path.hasPrefix("~/") { path = NSString(string: path).expandingTildeInPath }
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
        return (isLib ? ".lib" : ".include", url.standardizedFileURL.path, isLib ? tail : "")
    }

    /// Every file this netlist includes, directly or through the files it includes (a library that includes
    /// another), each once, in the order first met: what a simulation of it reads besides the netlist itself.
    /// The tree is read again from disk, so a file removed since loading is an error: a calibration card hashes
    /// them all, so that editing a model library invalidates the card as editing the netlist does.
    public func includedFiles() throws -> [URL] {
        var reader = DeckReader(limits: limits)
        _ = try reader.expand(sourceLines, file: name, base: baseDirectory, isTop: true)
        return reader.includedFiles.map { URL(fileURLWithPath: $0) }
    }
}
