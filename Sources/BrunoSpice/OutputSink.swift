import Foundation

/// Collects what one ngspice instance prints (through its SendChar callback) and whether it asked to exit.
///
/// The callbacks are C functions; they find their sink through the `userData` pointer given at init.
final class OutputSink: @unchecked Sendable {
    private let lock = NSCondition()
    private var _lines: [String] = []
    private var _exitStatus: Int32?
    private var _echo: (@Sendable (String) -> Void)?
    private var backgroundRunning = false

    /// Called with each printed line (already stripped of ngspice's `stdout `/`stderr ` prefix) when set. Set on
    /// the caller's thread and read on ngspice's, so it lives under the lock.
    var echo: (@Sendable (String) -> Void)? {
        get { lock.withLock { _echo } }
        set { lock.withLock { _echo = newValue } }
    }

    /// Lines as ngspice sent them, including the `stdout ` / `stderr ` prefix.
    var lines: [String] { lock.withLock { _lines } }
    /// Set when ngspice called ControlledExit: the instance must not be used again.
    var exitStatus: Int32? { lock.withLock { _exitStatus } }

    func append(_ line: String) {
        let echo = lock.withLock {
            _lines.append(line)
            return _echo
        }
        if let echo { echo(OutputSink.stripPrefix(line)) }
    }

    /// ControlledExit. Also ends a wait for the background thread: a dying instance sends nothing more.
    func requestExit(status: Int32) {
        lock.withLock {
            _exitStatus = status
            backgroundRunning = false
            lock.broadcast()
        }
    }

    /// Call before starting a `bg_` command.
    func backgroundStarted() { lock.withLock { backgroundRunning = true } }

    /// ngspice's BGThreadRunning callback with `ended` true.
    func backgroundEnded() {
        lock.withLock {
            backgroundRunning = false
            lock.broadcast()
        }
    }

    /// Waits until the background thread has ended or `seconds` have passed; true if it ended.
    func waitForBackground(seconds: Double?) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let deadline = seconds.map { Date(timeIntervalSinceNow: $0) } ?? .distantFuture
        while backgroundRunning {
            if !lock.wait(until: deadline) { return !backgroundRunning }
        }
        return true
    }

    func reset() {
        lock.withLock {
            _lines.removeAll(keepingCapacity: true)
            _exitStatus = nil
        }
    }

    static func stripPrefix(_ line: String) -> String {
        if line.hasPrefix("stdout ") || line.hasPrefix("stderr ") { return String(line.dropFirst(7)) }
        return line
    }
}
