import BrunoSupport
import Foundation
import TOMLKit

/// Strict access to a TOML table: every key must be known, every value of the expected type.
package struct StrictTable {
    package let table: TOMLTable
    package let path: String
    package let file: String

    package init(_ table: TOMLTable, path: String, file: String, allowed: [String]) throws {
        self.table = table
        self.path = path
        self.file = file
        for key in table.keys where !allowed.contains(key) {
            let hint =
                allowed.min { StrictTable.distance($0, key) < StrictTable.distance($1, key) }
                .flatMap { StrictTable.distance($0, key) <= 3 ? " (did you mean '\($0)'?)" : nil } ?? ""
            throw ProtocolError(
                file: file, "[\(path)] unknown key '\(key)'\(hint); allowed: \(allowed.joined(separator: ", "))")
        }
    }

    package func error(_ key: String, _ expected: String) -> ProtocolError {
        ProtocolError(file: file, "[\(path)] '\(key)' must be \(expected)")
    }

    package func double(_ key: String, default d: Double? = nil) throws -> Double {
        guard let v = table[key] else {
            if let d { return d }
            throw ProtocolError(file: file, "[\(path)] missing '\(key)'")
        }
        if let x = v.double, x.isFinite { return x }
        if let i = v.int { return Double(i) }
        throw error(key, "a finite number")
    }

    package func positive(_ key: String, default d: Double? = nil) throws -> Double {
        let x = try double(key, default: d)
        guard x > 0 else { throw error(key, "positive (got \(x))") }
        return x
    }

    package func int(_ key: String, default d: Int) throws -> Int {
        guard let v = table[key] else { return d }
        guard let i = v.int else { throw error(key, "an integer") }
        return i
    }

    /// An integer that must lie in `range` (a count, a size, a seed): out of range is an error naming the key,
    /// never a trap later (`UInt64(-1)`, an array of −5 elements).
    package func int(_ key: String, default d: Int, in range: ClosedRange<Int>) throws -> Int {
        let i = try int(key, default: d)
        guard range.contains(i) else { throw error(key, "an integer in \(Self.describe(range)) (got \(i))") }
        return i
    }

    /// A number that must lie in `range`.
    package func double(_ key: String, default d: Double? = nil, in range: ClosedRange<Double>) throws -> Double {
        let x = try double(key, default: d)
        guard range.contains(x) else { throw error(key, "a number in \(Self.describe(range)) (got \(x))") }
        return x
    }

    /// A positive number no larger than `maximum`.
    package func positive(_ key: String, default d: Double? = nil, atMost maximum: Double) throws -> Double {
        let x = try positive(key, default: d)
        guard x <= maximum else { throw error(key, "positive and at most \(maximum) (got \(x))") }
        return x
    }

    /// A list of whole numbers in `range` (layer widths).
    package func ints(_ key: String, in range: ClosedRange<Int>) throws -> [Int] {
        try doubles(key).map { x in
            guard x == x.rounded(), x >= Double(range.lowerBound), x <= Double(range.upperBound) else {
                throw error(key, "a list of integers in \(Self.describe(range)) (got \(x))")
            }
            return Int(x)
        }
    }

    static func describe<T: Comparable>(_ range: ClosedRange<T>) -> String {
        "\(range.lowerBound)…\(range.upperBound)"
    }

    package func bool(_ key: String, default d: Bool) throws -> Bool {
        guard let v = table[key] else { return d }
        guard let b = v.bool else { throw error(key, "true or false") }
        return b
    }

    package func string(_ key: String, default d: String? = nil) throws -> String {
        guard let v = table[key] else {
            if let d { return d }
            throw ProtocolError(file: file, "[\(path)] missing '\(key)'")
        }
        guard let s = v.string else { throw error(key, "a string") }
        return s
    }

    package func strings(_ key: String) throws -> [String] {
        guard let a = table[key]?.array else { throw error(key, "a list of strings") }
        return try a.map {
            guard let s = $0.string else { throw error(key, "a list of strings") }; return s
        }
    }

    package func doubles(_ key: String) throws -> [Double] {
        guard let a = table[key]?.array else { throw error(key, "a list of numbers") }
        return try a.map { v in
            if let x = v.double, x.isFinite { return x }
            if let i = v.int { return Double(i) }
            throw error(key, "a list of finite numbers")
        }
    }

    package func subtable(_ key: String, allowed: [String]) throws -> StrictTable? {
        guard let v = table[key] else { return nil }
        guard let t = v.table else { throw ProtocolError(file: file, "'\(key)' must be a table [\(key)]") }
        return try StrictTable(t, path: key, file: file, allowed: allowed)
    }

    package static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var prev = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let cur = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return row[b.count]
    }

    /// A path named in a protocol file: absolute as given, relative to the protocol file's folder otherwise.
    package static func resolve(_ path: String, relativeTo file: URL) -> URL {
        path.hasPrefix("/")
            ? URL(fileURLWithPath: path)
            : file.deletingLastPathComponent().appendingPathComponent(path).standardizedFileURL
    }

    /// Parses a TOML file. A NUL byte or a byte that is not UTF-8 is an error naming its line: TOMLKit's parser
    /// stops at a NUL and would silently drop the rest of the file.
    package static func parse(_ url: URL) throws -> TOMLTable {
        let data: Data
        do { data = try BoundedFile.read(url) } catch let refusal as BoundedFile.Refusal {
            throw ProtocolError(file: url.path, refusal.reason)
        }
        func line(at offset: Int) -> Int { data.prefix(offset).reduce(1) { $0 + ($1 == 10 ? 1 : 0) } }
        if let nul = BoundedFile.lineOfFirstNUL(data) {
            throw ProtocolError(file: url.path, "line \(nul): a NUL byte; TOML is text")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            let bad = firstInvalidUTF8(data) ?? 0
            throw ProtocolError(file: url.path, "line \(line(at: bad)): a byte that is not UTF-8; TOML is UTF-8 text")
        }
        if let bad = unsafeTableHeaderLine(text) {
            throw ProtocolError(
                file: url.path,
                "line \(bad): a table header must be [name] or [name.sub] "
                    + "(a letter, digit, '_', '-' or a quoted name after the '[')")
        }
        do {
            return try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw ProtocolError(
                file: url.path, "line \(e.source.begin.line), column \(e.source.begin.column): \(e.description)")
        } catch {
            throw ProtocolError(file: url.path, "\(error)")
        }
    }

    /// The first line holding a table header that TOMLKit's parser (toml++ 3) cannot reject safely, or nil.
    ///
    /// Why: after a `[` that opens a header, toml++ *assumes* a key character or a quote follows; anything else
    /// (`[` at the end of a line, `[ #`, `[=`, `[.x]`) fails an assertion in debug builds (the process aborts)
    /// and is undefined behaviour in release builds. Headers are found with a small lexer that skips strings,
    /// comments and the brackets of array values, so `[` inside a value is never mistaken for one.
    package static func unsafeTableHeaderLine(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        var i = 0, line = 1, depth = 0  // depth: open brackets/braces of a value
        var atLineStart = true
        func isKeyStart(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
                || c == 0x22 || c == 0x27 || c == 0x5D
        }
        func starts(_ s: String, at k: Int) -> Bool {
            let u = Array(s.utf8)
            return k + u.count <= bytes.count && Array(bytes[k..<(k + u.count)]) == u
        }
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x0A { line += 1; atLineStart = true; i += 1; continue }
            if c == 0x20 || c == 0x09 || c == 0x0D { i += 1; continue }
            if c == 0x23 {  // a comment to the end of the line
                while i < bytes.count && bytes[i] != 0x0A { i += 1 }
                continue
            }
            if c == 0x5B && depth == 0 && atLineStart {  // a table header
                var k = i + 1
                if k < bytes.count && bytes[k] == 0x5B { k += 1 }
                while k < bytes.count && (bytes[k] == 0x20 || bytes[k] == 0x09) { k += 1 }
                if k >= bytes.count || !isKeyStart(bytes[k]) { return line }
                while i < bytes.count && bytes[i] != 0x0A && bytes[i] != 0x23 && bytes[i] != 0x22 && bytes[i] != 0x27 {
                    i += 1
                }
                atLineStart = false
                continue
            }
            atLineStart = false
            if c == 0x22 || c == 0x27 {  // strings: basic, literal, and their multi-line forms
                let triple = starts(c == 0x22 ? "\"\"\"" : "'''", at: i)
                i += triple ? 3 : 1
                while i < bytes.count {
                    if bytes[i] == 0x0A { if !triple { break }; line += 1 }
                    if c == 0x22 && bytes[i] == 0x5C { i += 2; continue }  // an escape
                    if bytes[i] == c && (!triple || starts(c == 0x22 ? "\"\"\"" : "'''", at: i)) {
                        i += triple ? 3 : 1
                        break
                    }
                    i += 1
                }
                continue
            }
            if c == 0x5B || c == 0x7B { depth += 1 } else if (c == 0x5D || c == 0x7D) && depth > 0 { depth -= 1 }
            i += 1
        }
        return nil
    }

    /// Offset of the first byte that does not start or continue a UTF-8 sequence (nil if none is found).
    static func firstInvalidUTF8(_ data: Data) -> Int? {
        let bytes = [UInt8](data)
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            let n = c < 0x80 ? 1 : c & 0xE0 == 0xC0 ? 2 : c & 0xF0 == 0xE0 ? 3 : c & 0xF8 == 0xF0 ? 4 : 0
            guard n > 0, i + n <= bytes.count else { return i }
            for k in 1..<max(n, 1) where bytes[i + k] & 0xC0 != 0x80 { return i }
            i += n
        }
        return nil
    }
}
