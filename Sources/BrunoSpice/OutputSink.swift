import Foundation

/// Collects what one ngspice instance prints (through its SendChar callback) and whether it asked to exit.
///
/// The callbacks are C functions; they find their sink through the `userData` pointer given at init.
final class OutputSink: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []
    private var _exitStatus: Int32?
    /// Called with each printed line (already stripped of ngspice's `stdout `/`stderr ` prefix) when set.
    var echo: (@Sendable (String) -> Void)?

    /// Lines as ngspice sent them, including the `stdout ` / `stderr ` prefix.
    var lines: [String] { lock.withLock { _lines } }
    /// Set when ngspice called ControlledExit: the instance must not be used again.
    var exitStatus: Int32? { lock.withLock { _exitStatus } }

    func append(_ line: String) {
        lock.withLock { _lines.append(line) }
        if let echo { echo(OutputSink.stripPrefix(line)) }
    }

    func requestExit(status: Int32) { lock.withLock { _exitStatus = status } }

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
