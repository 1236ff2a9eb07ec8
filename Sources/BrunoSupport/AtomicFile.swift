import Foundation

/// Writes files so that a reader (or a crash) never sees half of one: write a temporary file in the same
/// folder, flush it, then rename it over the target (rename is atomic within a file system).
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let fm = FileManager.default
        let folder = url.deletingLastPathComponent()
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        let temp = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        guard fm.createFile(atPath: temp.path, contents: data) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temp.path, NSLocalizedDescriptionKey: "cannot create \(temp.path)"])
        }
        do {
            let handle = try FileHandle(forWritingTo: temp)
            try handle.synchronize()
            try handle.close()
            if rename(temp.path, url.path) != 0 {
                let reason = String(cString: strerror(errno))
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path, NSLocalizedDescriptionKey: "cannot move \(temp.path) to \(url.path): \(reason)"])
            }
        } catch {
            try? fm.removeItem(at: temp)
            throw error
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
