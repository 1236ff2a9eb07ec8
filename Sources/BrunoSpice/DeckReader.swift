import BrunoSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Limits on what reading a netlist may do before ngspice sees it.
///
/// Why: a netlist is input from anyone, and ngspice trusts it completely — it follows `.include` into named
/// pipes and devices, recurses into cyclic includes until it crashes, and runs the commands of every
/// `.control` block or `*#` line it meets, in any file it includes. Bruno reads every file itself, within
/// these bounds, and hands ngspice one expanded deck with no command left in it.
public struct NetlistReadLimits: Sendable, Equatable {
    /// How deep `.include`/`.lib` may nest (the top-level netlist is depth 0).
    public var maxIncludeDepth: Int
    /// The largest file that is read, in bytes (a SPICE model library is kilobytes; `/dev/zero` is endless).
    public var maxFileBytes: Int
    /// The most physical lines the expanded deck may have, over all files.
    public var maxTotalLines: Int

    public init(maxIncludeDepth: Int = 16, maxFileBytes: Int = 16 << 20, maxTotalLines: Int = 2_000_000) {
        self.maxIncludeDepth = maxIncludeDepth
        self.maxFileBytes = maxFileBytes
        self.maxTotalLines = maxTotalLines
    }

    public static let standard = NetlistReadLimits()
}

/// Reads a netlist and everything it includes into one deck, removing what ngspice would execute.
///
/// What is removed, each noted once: `.control … .endc` blocks (matched by prefix, as ngspice does, so
/// `.controls` and `.control;x` count), `*#` lines (ngspice runs them as commands), a `*ng_script` title
/// (ngspice runs the whole file as a script) and `.lib NAME … .endl` section definitions that nothing calls.
/// What is refused: include cycles, nesting beyond the limit, files that are not regular files, are too large,
/// or contain NUL bytes. Directives are matched by prefix too (`.inc`, `.lib`), so no spelling of an include
/// reaches ngspice, which therefore never opens a file of its own accord.
struct DeckReader {
    let limits: NetlistReadLimits
    /// Files read, each once, in the order first met (what a card hashes besides the netlist).
    private(set) var includedFiles: [String] = []
    private(set) var notes: [String] = []
    /// What is being expanded, outermost first.
    private var stack: [Expanding] = []
    private var total = 0

    private struct Expanding: Equatable, CustomStringConvertible {
        var path: String
        var section: String
        var description: String {
            let name = URL(fileURLWithPath: path).lastPathComponent
            return section.isEmpty ? name : "\(name) section \(section)"
        }
    }

    init(limits: NetlistReadLimits) {
        self.limits = limits
    }

    /// Splits text into physical lines: `\r\n`, a lone `\r` (old Mac files) and `\n` all end a line.
    static func physicalLines(_ text: String) -> [String] {
        var lines: [String] = []
        var current = ""
        var previousCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\n" {
                if !previousCR { lines.append(current); current = "" }
                previousCR = false
            } else if scalar == "\r" {
                lines.append(current)
                current = ""
                previousCR = true
            } else {
                current.unicodeScalars.append(scalar)
                previousCR = false
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    /// Reads one file within the limits; `from` is the line that included it (nil for the netlist itself).
    func readFile(_ path: String, from: SourceLocation?) throws -> [String] {
        let data: Data
        do { data = try BoundedFile.read(URL(fileURLWithPath: path), limit: limits.maxFileBytes) } catch let refusal as BoundedFile.Refusal {
            if refusal.kind == .missing { throw SpiceError.fileNotFound(path: path, includedFrom: from) }
            throw SpiceError.refused(location: from, reason: "\(path) \(refusal.reason)")
        }
        if let line = BoundedFile.lineOfFirstNUL(data) {
            throw SpiceError.refused(
                location: SourceLocation(file: path, line: line, text: ""),
                reason: "\(path) contains a NUL byte at line \(line): it is not a text netlist")
        }
        // Model files written on other systems use Latin-1 for µ and Ω; ngspice reads bytes, so both are fine.
        guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
            throw SpiceError.refused(location: from, reason: "\(path) is not text")
        }
        return DeckReader.physicalLines(text)
    }

    /// The expanded lines of a file. `isTop` marks the user's netlist, whose first line is the title.
    mutating func expand(
        _ physical: [String], file: String, section: String = "", base: URL, isTop: Bool
    ) throws -> [Netlist.Line] {
        stack.append(Expanding(path: DeckReader.canonicalPath(file), section: section.lowercased()))
        defer { stack.removeLast() }
        total += physical.count
        guard total <= limits.maxTotalLines else {
            throw SpiceError.refused(
                location: nil,
                reason: "the netlist and its includes have more than \(limits.maxTotalLines) lines")
        }
        var out: [Netlist.Line] = []
        out.reserveCapacity(physical.count)
        let origin: String? = isTop ? nil : file
        var controlStart: Int?
        var sectionStart: Int?
        for (offset, text) in physical.enumerated() {
            let n = offset + 1
            func keep(_ t: String) { out.append(Netlist.Line(text: t, sourceLine: n, sourceFile: origin)) }
            func skip() { keep("* [bruno: removed] " + (isTop ? text : "(line \(n) of \(file))")) }
            if isTop && offset == 0 {
                if DeckReader.hasPrefix(text, "*ng_script") {
                    notes.append("removed the *ng_script marker of \(file) line 1: ngspice would run the file as a script")
                    keep("* [bruno: removed *ng_script marker]")
                } else {
                    keep(text)
                }
                continue
            }
            let key = Netlist.keyword(of: text)
            if let start = controlStart {
                skip()
                if key.hasPrefix(".endc") {
                    notes.append("removed the .control block at \(file) lines \(start)–\(n): Bruno runs the analyses itself")
                    controlStart = nil
                }
                continue
            }
            if let start = sectionStart {
                skip()
                if key.hasPrefix(".endl") {
                    if isTop { notes.append("ignored the library section at \(file) lines \(start)–\(n): nothing calls it") }
                    sectionStart = nil
                }
                continue
            }
            if key.hasPrefix(".control") {
                controlStart = n
                skip()
                continue
            }
            if DeckReader.hasPrefix(text, "*#") {
                notes.append("removed the *# command line at \(file) line \(n): ngspice would run it")
                skip()
                continue
            }
            // An included file's `.end` would end the whole deck early in ngspice; only the netlist's own counts.
            if key.hasPrefix(".endc") || key.hasPrefix(".endl") || (!isTop && key == ".end") {
                skip()
                continue
            }
            let here = SourceLocation(file: file, line: n, text: isTop ? text : "")
            if key.hasPrefix(".inc") || key.hasPrefix(".lib") {
                guard let target = Netlist.includeTarget(of: text, relativeTo: base) else {
                    if key.hasPrefix(".lib"), Netlist.directiveArguments(of: text).count == 1 {
                        sectionStart = n
                        skip()
                        continue
                    }
                    throw SpiceError.refused(location: here, reason: "expected `.include FILE` or `.lib FILE SECTION`")
                }
                try checkDepthAndCycle(target.path, section: target.section, at: here)
                var lines = try readFile(target.path, from: here)
                if !target.section.isEmpty {
                    lines = try DeckReader.section(target.section, of: lines, file: target.path, at: here)
                }
                if !includedFiles.contains(target.path) { includedFiles.append(target.path) }
                keep("* [bruno: \(target.key) \"\(target.path)\"\(target.section.isEmpty ? "" : " " + target.section)]")
                let url = URL(fileURLWithPath: target.path)
                out += try expand(
                    lines, file: target.path, section: target.section, base: url.deletingLastPathComponent(),
                    isTop: false)
                continue
            }
            keep(text)
        }
        if let start = controlStart {
            notes.append("removed the .control block from \(file) line \(start) to its end (no .endc)")
        }
        if let start = sectionStart {
            throw SpiceError.refused(
                location: SourceLocation(file: file, line: start, text: isTop ? physical[start - 1] : ""),
                reason: "the library section opened here has no `.endl`")
        }
        return out
    }

    /// Refuses an include that is already being expanded (a cycle) or that nests too deep. A file and a
    /// library section together name what is expanded: a library may call its own other sections.
    private func checkDepthAndCycle(_ path: String, section: String, at here: SourceLocation) throws {
        let entry = Expanding(path: DeckReader.canonicalPath(path), section: section.lowercased())
        if let first = stack.firstIndex(of: entry) {
            let chain = (stack[first...] + [entry]).map(\.description)
            throw SpiceError.refused(
                location: here, reason: "the include is a cycle (\(chain.joined(separator: " → ")))")
        }
        guard stack.count <= limits.maxIncludeDepth else {
            throw SpiceError.refused(
                location: here, reason: "includes nest deeper than \(limits.maxIncludeDepth) files")
        }
    }

    /// The lines of library section `name` (`.lib NAME` … `.endl`), matched case-insensitively as ngspice does.
    static func section(_ name: String, of lines: [String], file: String, at here: SourceLocation) throws -> [String] {
        let wanted = name.lowercased()
        var start: Int?
        for (i, text) in lines.enumerated() {
            let key = Netlist.keyword(of: text)
            if start == nil, key == ".lib" {
                let args = Netlist.directiveArguments(of: text)
                if args.count == 1, args[0].lowercased() == wanted { start = i }
            } else if let s = start, key.hasPrefix(".endl") {
                // Keep line numbers: everything outside the section becomes a blank line.
                return lines.indices.map { $0 > s && $0 < i ? lines[$0] : "" }
            }
        }
        throw SpiceError.refused(
            location: here,
            reason: start == nil ? "\(file) has no library section `\(name)`" : "section `\(name)` of \(file) has no `.endl`")
    }

    /// ngspice's `ciprefix`: does the line, without leading blanks, start with `prefix` (case-insensitive)?
    static func hasPrefix(_ text: String, _ prefix: String) -> Bool {
        text.drop { $0 == " " || $0 == "\t" }.lowercased().hasPrefix(prefix)
    }

    /// One spelling per file, so that `a/../b.lib` and a symbolic link to `b.lib` are seen as the same file.
    static func canonicalPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
