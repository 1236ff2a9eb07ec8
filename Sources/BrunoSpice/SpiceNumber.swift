import Foundation

/// SPICE number syntax: `1k`, `10u`, `2.5meg`, `1e-3`, `5ns` (trailing unit letters are ignored, as in SPICE).
public enum SpiceNumber {
    /// The value, correctly rounded (`10u` is exactly the double nearest 1e-5), or nil if it is not a number.
    public static func parse(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let m = t.range(of: #"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)"#, options: .regularExpression) else { return nil }
        let mantissa = String(t[m])
        var rest = t[m.upperBound...]
        var exponent = 0
        if let e = rest.range(of: #"^e[-+]?[0-9]+"#, options: .regularExpression) {
            exponent = Int(rest[e].dropFirst()) ?? 0
            rest = rest[e.upperBound...]
        }
        guard rest.allSatisfy({ $0.isLetter }) else { return nil }
        if rest.hasPrefix("mil") { return Double("\(mantissa)e\(exponent)").map { $0 * 25.4e-6 } }
        let scales: [(String, Int)] = [("meg", 6), ("t", 12), ("g", 9), ("k", 3), ("m", -3), ("u", -6), ("µ", -6), ("n", -9), ("p", -12), ("f", -15), ("a", -18)]
        for (p, s) in scales where rest.hasPrefix(p) {
            exponent += s
            break
        }
        return Double("\(mantissa)e\(exponent)")
    }
}
