import Foundation

/// A counter shared by concurrent tasks, for "done k of n" progress reports.
public final class AtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    public init() {}

    /// Adds one and returns the new count.
    public func increment() -> Int { lock.withLock { value += 1; return value } }
}
