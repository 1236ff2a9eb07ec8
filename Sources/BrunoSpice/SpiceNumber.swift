import Foundation

/// SPICE number syntax: `1k`, `10u`, `2.5meg`, `1e-3`, `5ns` (trailing unit letters are ignored, as in SPICE).
public enum SpiceNumber {
    public static func parse(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let m = t.range(of: #"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)(e[-+]?[0-9]+)?"#, options: .regularExpression),
              let base = Double(t[m]) else { return nil }
        let suffix = t[m.upperBound...]
        guard suffix.allSatisfy({ $0.isLetter }) else { return nil }
        let scales: [(String, Double)] = [("meg", 1e6), ("mil", 25.4e-6), ("t", 1e12), ("g", 1e9), ("k", 1e3), ("m", 1e-3), ("u", 1e-6), ("µ", 1e-6), ("n", 1e-9), ("p", 1e-12), ("f", 1e-15), ("a", 1e-18)]
        for (p, s) in scales where suffix.hasPrefix(p) { return base * s }
        return base
    }
}
