import Foundation

/// A protocol file that cannot be used: which file, which table and key, what was expected.
public struct ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var message: String
    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }
    public var description: String { "\(file): \(message)" }
}
