import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes files so that a reader (or a crash) never sees half of one: write a temporary file in the same
/// folder, flush it, then rename it over the target (rename is atomic within a file system).
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let fm = FileManager.default
        let folder = url.deletingLastPathComponent()
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        let temp = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        // Plain POSIX calls: Foundation's createFile writes through a temporary of its own (`.dat.nosync…`), which a
        // kill would leave behind under a name no cleanup recognises.
        func failure(_ what: String, _ path: String) -> CocoaError {
            CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: "cannot \(what) \(path): \(String(cString: strerror(errno)))"])
        }
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("create", temp.path) }
        var written = 0
        let ok: Bool = data.withUnsafeBytes { raw in
            while written < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 { if errno == EINTR { continue }; return false }
                written += n
            }
            return fsync(fd) == 0
        }
        let error = ok ? nil : failure("write", temp.path)
        if close(fd) != 0 || error != nil {
            let e = error ?? failure("close", temp.path)
            unlink(temp.path)
            throw e
        }
        if rename(temp.path, url.path) != 0 {
            let e = failure("move \(temp.path) to", url.path)
            unlink(temp.path)
            throw e
        }
    }

    /// Removes temporaries that a killed writer left in `folder` (`.NAME.tmp-PID-N` of a process that no longer
    /// runs); returns how many. A live writer's temporaries are left alone.
    @discardableResult
    public static func removeStaleTemporaries(in folder: URL) -> Int {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: folder.path) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix(".") && name.contains(".tmp-") {
            let fields = name[name.range(of: ".tmp-")!.upperBound...].split(separator: "-")
            guard let pid = fields.first.flatMap({ Int32($0) }), pid > 0 else { continue }
            if kill(pid, 0) == 0 && pid != getpid() { continue }
            if (try? fm.removeItem(at: folder.appendingPathComponent(name))) != nil { removed += 1 }
        }
        return removed
    }

    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }
}
