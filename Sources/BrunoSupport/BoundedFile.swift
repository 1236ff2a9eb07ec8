import Foundation

/// Reads a whole input file a user named (config, card, data set, checkpoint) only when it is a regular file of
/// bounded size.
///
/// Why: `Data(contentsOf:)` on `/dev/zero` or a named pipe never returns (or exhausts memory), and on a
/// directory it fails with a Foundation message that names nothing useful. Every reader of a user's file goes
/// through here so that such a path is one clear error before anything is allocated.
public enum BoundedFile {
    /// Limits by kind of file [bytes].
    public static let textLimit = 64 << 20
    public static let dataLimit = 4 << 30

    /// Why a file was not read; `reason` is a sentence fragment after the path.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Kind: Sendable, Equatable { case missing, notRegular, tooLarge, unreadable }
        public var kind: Kind
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// The 1-based line of the first NUL byte, or nil: a NUL means the file is not the text it should be.
    public static func lineOfFirstNUL(_ data: Data) -> Int? {
        guard let nul = data.firstIndex(of: 0) else { return nil }
        return data[..<nul].reduce(1) { $0 + ($1 == 10 ? 1 : 0) }
    }

    /// The file's bytes, or a refusal saying what the path is instead of a regular file of at most `limit` bytes.
    public static func read(_ url: URL, limit: Int = textLimit) throws -> Data {
        let path = url.path
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = errno == ENOENT ? "file not found" : String(cString: strerror(errno))
            throw Refusal(kind: .missing, path: path, reason: reason)
        }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFREG else {
            let what = kind == S_IFDIR ? "a directory" : kind == S_IFIFO ? "a named pipe"
                : kind == S_IFCHR || kind == S_IFBLK ? "a device" : kind == S_IFSOCK ? "a socket" : "not a regular file"
            throw Refusal(kind: .notRegular, path: path, reason: "is \(what); only regular files are read")
        }
        guard Int(info.st_size) <= limit else {
            throw Refusal(kind: .tooLarge, path: path, reason: "has \(info.st_size) bytes, more than the limit of \(limit)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Refusal(kind: .unreadable, path: path, reason: "cannot be read (permission denied?)")
        }
        return data
    }
}
