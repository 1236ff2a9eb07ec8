import CNgspice
import CSpiceHeap
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// C signatures of the entry points Bruno uses (from sharedspice.h), resolved with dlsym.
typealias NgSendChar = @convention(c) (UnsafeMutablePointer<CChar>?, Int32, UnsafeMutableRawPointer?) -> Int32
typealias NgControlledExit = @convention(c) (Int32, Bool, Bool, Int32, UnsafeMutableRawPointer?) -> Int32
/// `BGThreadRunning`: called when ngspice's background thread starts (false) and when it ends (true).
typealias NgBackgroundThread = @convention(c) (Bool, Int32, UnsafeMutableRawPointer?) -> Int32
typealias NgInit = @convention(c) (
    NgSendChar?, NgSendChar?, NgControlledExit?, OpaquePointer?, OpaquePointer?, NgBackgroundThread?,
    UnsafeMutableRawPointer?
) -> Int32
typealias NgCommand = @convention(c) (UnsafeMutablePointer<CChar>?) -> Int32
typealias NgCirc = @convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32
typealias NgGetVecInfo = @convention(c) (UnsafeMutablePointer<CChar>?) -> UnsafeMutablePointer<vector_info>?
typealias NgAllPlots = @convention(c) () -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
typealias NgAllVecs = @convention(c) (UnsafeMutablePointer<CChar>?) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?

/// Serialises the process-global steps of loading an instance (environment variables read by
/// `ngSpice_Init`, the working directory ngspice may consult) across all instances.
let ngspiceLoadLock = NSLock()

/// One `dlopen`ed private copy of libngspice and its own code models.
///
/// Why private copies: a library is one simulator (its globals are the circuit), `dlopen` of the same path
/// (or a link to it) returns the same handle, and instances that share `*.cm` files crash. So each load copies
/// the library and the code models into a fresh folder under a fresh file name, writes a `spinit` that loads
/// those copies, and initialises with `SPICE_SCRIPTS` pointing there. A fresh *name* on every load also means a
/// reload after a fatal error can never get the dead instance back, even if `dlclose` did not unmap it.
final class NgspiceLibrary: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    let initialize: NgInit
    let command: NgCommand
    let circ: NgCirc
    let getVecInfo: NgGetVecInfo
    let allPlots: NgAllPlots
    let allVecs: NgAllVecs
    private var closed = false
    /// The private copies of the code models, which ngspice itself `dlopen`s (and never closes).
    private var codeModelCopies: [String] = []
    /// The heap scope the copy allocates in (see CSpiceHeap), or -1 when it runs on the plain C heap.
    private var heapScope: Int32 = -1

    /// Copies the installation into `folder` as generation `generation` and dlopens it.
    init(installation: NgspiceInstallation, folder: URL, tag: String) throws {
        let fm = FileManager.default
        try? fm.removeItem(at: folder)
        var copies: [String] = []
        do {
            try fm.createDirectory(at: folder, withIntermediateDirectories: true)
            let libCopy = folder.appendingPathComponent("libngspice-\(tag).so")
            try NgspiceLibrary.copyWithoutUserInit(installation.library, to: libCopy)
            var spinit = "* spinit written by Bruno for a private ngspice instance\nalias exit quit\nunset osdi_enabled\n"
            if !installation.codeModels.isEmpty {
                spinit += "if $?xspice_enabled\n"
                for model in installation.codeModels {
                    let copy = folder.appendingPathComponent(model.deletingPathExtension().lastPathComponent + "-\(tag).cm")
                    try fm.copyItem(at: model, to: copy)
                    copies.append(copy.path)
                    spinit += " codemodel \(copy.path)\n"
                }
                spinit += "end\n"
            }
            try spinit.write(to: folder.appendingPathComponent("spinit"), atomically: true, encoding: .utf8)
            guard let h = dlopen(libCopy.path, RTLD_NOW | RTLD_LOCAL) else {
                let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
                throw SpiceError.libraryLoadFailed(path: installation.library.path, reason: reason)
            }
            handle = h
            heapScope = bruno_heap_acquire()
            if heapScope >= 0, bruno_heap_redirect(heapScope, libCopy.path, h) <= 0 {
                bruno_heap_release(heapScope)
                heapScope = -1
            }
        } catch let error as SpiceError {
            try? fm.removeItem(at: folder)
            throw error
        } catch {
            try? fm.removeItem(at: folder)
            throw SpiceError.libraryLoadFailed(path: installation.library.path, reason: "could not prepare a private copy in \(folder.path): \(error)")
        }
        codeModelCopies = copies
        let h = handle
        func symbol<T>(_ name: String, as: T.Type) throws -> T {
            guard let p = dlsym(h, name) else {
                throw SpiceError.libraryLoadFailed(path: installation.library.path, reason: "symbol \(name) not found")
            }
            return unsafeBitCast(p, to: T.self)
        }
        do {
            initialize = try symbol("ngSpice_Init", as: NgInit.self)
            command = try symbol("ngSpice_Command", as: NgCommand.self)
            circ = try symbol("ngSpice_Circ", as: NgCirc.self)
            getVecInfo = try symbol("ngGet_Vec_Info", as: NgGetVecInfo.self)
            allPlots = try symbol("ngSpice_AllPlots", as: NgAllPlots.self)
            allVecs = try symbol("ngSpice_AllVecs", as: NgAllVecs.self)
        } catch {
            dlclose(h)
            throw error
        }
    }

    /// What the copy looks for instead of `.spiceinit`: a path that can never be a file in the working directory
    /// (`/dev/null` is not a directory), and that is checked not to exist under the home directory either.
    static let userInitReplacement = "/dev/null/"

    /// Copies the library with its `.spiceinit` name replaced.
    ///
    /// Why: ngspice 39's `ngSpice_Init` sources `.spiceinit` from the working directory, else from the home
    /// directory (`getpwuid`, not `$HOME`), and runs every command in it — a file anyone can leave in a folder
    /// where Bruno is started. Later ngspice versions have `ngSpice_nospiceinit()`; 39 has no way to turn it off,
    /// so the private copy that Bruno loads gets the file name replaced by one that cannot exist. A library
    /// that has neither the name nor the switch is refused rather than loaded unprotected.
    static func copyWithoutUserInit(_ library: URL, to copy: URL) throws {
        var data = try Data(contentsOf: library)
        let name = Data(".spiceinit\0".utf8)
        let replacement = Data((userInitReplacement + "\0").utf8)
        var patched = 0
        var searchStart = data.startIndex
        while let r = data.range(of: name, in: searchStart..<data.endIndex) {
            data.replaceSubrange(r, with: replacement)
            searchStart = r.upperBound
            patched += 1
        }
        guard patched > 0 else {
            throw SpiceError.libraryLoadFailed(
                path: library.path,
                reason: "Bruno could not turn off this library's reading of .spiceinit (no `.spiceinit` name found); "
                    + "a .spiceinit in the working or home directory would run its commands")
        }
        if let home = getpwuid(getuid())?.pointee.pw_dir.map({ String(cString: $0) }),
            FileManager.default.fileExists(atPath: home + "/" + userInitReplacement)
        {
            throw SpiceError.libraryLoadFailed(
                path: library.path, reason: "\(home)/\(userInitReplacement) exists, so .spiceinit cannot be turned off")
        }
        try data.write(to: copy)
    }

    /// Unloads the copy and the code models ngspice loaded for it. Safe to call twice.
    ///
    /// Why the code models too: ngspice `dlopen`s each `*.cm` on its `codemodel` command and never closes them,
    /// so every reload after a fatal error (ControlledExit) left six libraries mapped — about half a megabyte
    /// each time. Their handles are found again with `RTLD_NOLOAD` (which adds a reference) and closed until the
    /// loader no longer has them.
    ///
    /// Then the copy's heap scope is freed: everything the copy and its code models allocated and never freed
    /// (after a ControlledExit that is the whole dead simulator, ≈ 110 kB each time).
    func close() {
        guard !closed else { return }
        closed = true
        dlclose(handle)
        for path in codeModelCopies {
            var rounds = 0
            while rounds < 8, let h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD) {
                dlclose(h)
                dlclose(h)
                rounds += 1
            }
        }
        if heapScope >= 0 { bruno_heap_release(heapScope) }
    }

    /// Puts the code models ngspice loaded during `ngSpice_Init` into the copy's heap scope, so that blocks
    /// passed between ngspice and a code model are freed by the allocator that made them.
    func scopeCodeModels() {
        guard heapScope >= 0 else { return }
        for path in codeModelCopies {
            guard let h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD) else { continue }
            _ = bruno_heap_redirect(heapScope, path, h)
            dlclose(h)
        }
    }

    /// Bytes the copy has allocated and not freed (0 without a heap scope).
    var liveHeapBytes: Int { heapScope >= 0 ? Int(bruno_heap_live_bytes(heapScope)) : 0 }

    /// Sends one command; ngspice may write into the buffer, so it gets a private mutable copy.
    func run(command text: String) -> Int32 {
        let buffer = strdup(text)
        defer { free(buffer) }
        return NgspiceLibrary.keepingSignalHandlers { command(buffer) }
    }

    /// Runs `body` and puts the process's SIGINT and SIGTERM handlers back afterwards.
    ///
    /// Why: ngspice installs its own SIGINT handler when it initialises and around every command; in a host
    /// process that handler would swallow Ctrl-C (or halt a simulation) instead of the host's own handling.
    static func keepingSignalHandlers<T>(_ body: () -> T) -> T {
        var int = sigaction(), term = sigaction()
        sigaction(SIGINT, nil, &int)
        sigaction(SIGTERM, nil, &term)
        defer {
            sigaction(SIGINT, &int, nil)
            sigaction(SIGTERM, &term, nil)
        }
        return body()
    }

    /// Sends a whole deck with `ngSpice_Circ` (ngspice copies the lines; the caller frees its own).
    func load(deck lines: [String]) -> Int32 {
        var pointers: [UnsafeMutablePointer<CChar>?] = lines.map { strdup($0) }
        pointers.append(nil)
        defer { for p in pointers { free(p) } }
        return NgspiceLibrary.keepingSignalHandlers { pointers.withUnsafeMutableBufferPointer { circ($0.baseAddress) } }
    }

    /// Names in a NULL-terminated `char **` owned by ngspice, copied out.
    static func strings(_ array: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
        guard var p = array else { return [] }
        var out: [String] = []
        while let s = p.pointee {
            out.append(String(cString: s))
            p += 1
        }
        return out
    }
}
