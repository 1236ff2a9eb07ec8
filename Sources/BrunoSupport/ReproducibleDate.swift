import Foundation

/// Dates written into results: `SOURCE_DATE_EPOCH` (seconds since 1970, the reproducible-builds convention) when
/// set, so that a rerun can be byte-identical; otherwise the current time.
public enum ReproducibleDate {
    public static func now() -> String {
        let f = ISO8601DateFormatter()
        if let s = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"], let seconds = TimeInterval(s) {
            return f.string(from: Date(timeIntervalSince1970: seconds))
        }
        return f.string(from: Date())
    }
}
