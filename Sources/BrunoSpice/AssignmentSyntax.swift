import Foundation

/// Checks the `NAME=VALUE` assignments of `.param`, `.subckt` and `X` lines before ngspice parses them.
///
/// Why: ngspice 39 crashes the process (SIGSEGV) on some malformed assignments inside a subcircuit, such as
/// `.param =`, and kills the instance on others (`.param = 3`, `x=` with no value). A crash cannot be
/// recovered from in process, so these are refused with the file and line before the deck is sent.
enum AssignmentSyntax {
    /// The first problem in one statement (a line and its `+` continuations joined, comments removed), or nil.
    static func problem(in statement: String) -> String? {
        let code = statement
        let key = Netlist.keyword(of: code)
        let isParam = key == ".param"
        guard isParam || key == ".subckt" || key.hasPrefix("x") else { return nil }
        let chars = Array(code)
        var depth = 0
        var quote: Character?
        var equals: [Int] = []
        for (i, c) in chars.enumerated() {
            if let q = quote {
                if c == q { quote = nil }
                continue
            }
            switch c {
            case "'", "\"": quote = c
            case "{", "(": depth += 1
            case "}", ")": depth = max(0, depth - 1)
            case "=" where depth == 0:
                let previous = i > 0 ? chars[i - 1] : " "
                let next = i + 1 < chars.count ? chars[i + 1] : " "
                // Comparison operators (==, !=, <=, >=) inside an unbraced expression are not assignments.
                if "=!<>".contains(previous) || next == "=" { continue }
                equals.append(i)
            default: break
            }
        }
        if quote != nil { return "a quote is not closed" }
        if isParam && equals.isEmpty { return "expected NAME=VALUE after .param" }
        // Where each assignment's name starts: its value runs from after its '=' to the next name.
        var nameStarts: [Int] = []
        for at in equals {
            var j = at - 1
            while j >= 0, chars[j] == " " || chars[j] == "\t" { j -= 1 }
            var start = j
            while start >= 0, chars[start].isLetter || chars[start].isNumber || "_.".contains(chars[start]) {
                start -= 1
            }
            let name = j > start ? String(chars[(start + 1)...j]) : ""
            guard let first = name.first, first.isLetter || first == "_" else {
                return "expected a parameter name before '=' (NAME=VALUE)"
            }
            nameStarts.append(start + 1)
        }
        for (n, at) in equals.enumerated() {
            let end = n + 1 < equals.count ? nameStarts[n + 1] : chars.count
            let value = at + 1 < end ? String(chars[(at + 1)..<end]) : ""
            if value.trimmingCharacters(in: .whitespaces).isEmpty {
                let name = String(chars[nameStarts[n]..<at]).trimmingCharacters(in: .whitespaces)
                return "parameter '\(name)' has no value (NAME=VALUE)"
            }
        }
        return nil
    }

    /// Checks every statement of `lines`; throws `.refused` naming the first bad one's file and line.
    static func check(_ lines: [Netlist.Line], location: (Int) -> SourceLocation) throws {
        var index = 1
        while index < lines.count {
            var statement = Netlist.stripComment(lines[index].text)
            var next = index + 1
            while next < lines.count {
                let t = lines[next].text.drop { $0 == " " || $0 == "\t" }
                if t.hasPrefix("+") {
                    statement += " " + Netlist.stripComment(String(t.dropFirst()))
                    next += 1
                } else if t.isEmpty || t.hasPrefix("*") {
                    next += 1
                } else {
                    break
                }
            }
            if let problem = problem(in: statement) {
                throw SpiceError.refused(location: location(index), reason: problem)
            }
            index = next
        }
    }
}
