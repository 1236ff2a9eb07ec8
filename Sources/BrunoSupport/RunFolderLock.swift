import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An advisory lock on a run folder, held while one process writes it.
///
/// Why: two `bruno train` into the same `--out` both exited 0, one run lost or the folder mixing one run's
/// config with the other's checkpoint. The lock is `flock` on `FOLDER/.lock`, which the kernel releases when
/// the holder exits or is killed, so a stale lock file never blocks a later run; the file records the owner's
/// pid for the error message.
public final class RunFolderLock {
    public let folder: URL
    private var descriptor: Int32

    /// Takes the lock, creating the folder if needed; throws `RunFolderLockError.held` naming the owner's pid.
    public init(_ folder: URL) throws {
        self.folder = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent(".lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw RunFolderLockError.unwritable(folder.path, String(cString: strerror(errno)))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let owner = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw RunFolderLockError.held(folder.path, owner: owner.flatMap(Int32.init))
        }
        descriptor = fd
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { write(fd, $0, strlen($0)) }
    }

    /// Releases the lock (also done when the object goes away or the process ends).
    public func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}

public enum RunFolderLockError: Error, CustomStringConvertible, Equatable {
    case held(String, owner: Int32?)
    case unwritable(String, String)

    public var description: String {
        switch self {
        case .held(let folder, let owner):
            let who = owner.map { "process \($0)" } ?? "another process"
            return "\(folder) is being written by \(who) (it holds \(folder)/.lock); wait for it to finish, stop it, "
                + "or choose another --out"
        case .unwritable(let folder, let reason):
            return "\(folder): cannot create its lock file (\(reason))"
        }
    }
}
