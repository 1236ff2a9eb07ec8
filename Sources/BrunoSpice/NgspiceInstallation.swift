import Foundation

/// Where ngspice's shared library, its XSPICE code models and its `spinit` live on this machine.
///
/// Debian splits ngspice in two: `libngspice0` (the library) and `ngspice` (the `spinit` script and the
/// `*.cm` code models). Without the second one the library still loads but prints "can't find the
/// initialization file spinit" and has no `A` devices, so both are required and located here once.
public struct NgspiceInstallation: Sendable, Equatable {
    /// The shared library (`libngspice.so.0`).
    public var library: URL
    /// XSPICE code-model files (`*.cm`) that the stock `spinit` loads. May be empty.
    public var codeModels: [URL]

    public init(library: URL, codeModels: [URL]) {
        self.library = library
        self.codeModels = codeModels
    }

    /// Environment variable that points Bruno at another `libngspice.so` (e.g. a self-built ngspice).
    public static let libraryEnvironmentKey = "BRUNO_NGSPICE_LIBRARY"
    /// Environment variable naming a folder of `*.cm` code models to use instead of the packaged ones.
    public static let codeModelEnvironmentKey = "BRUNO_NGSPICE_CODEMODELS"

    /// Finds the installation from the environment overrides, then Debian's multiarch paths.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> NgspiceInstallation {
        let fm = FileManager.default
        var candidates: [String] = []
        if let explicit = environment[libraryEnvironmentKey], !explicit.isEmpty { candidates.append(explicit) }
        for dir in ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"] {
            candidates.append(dir + "/libngspice.so.0")
            candidates.append(dir + "/libngspice.so")
        }
        guard let found = candidates.first(where: { fm.fileExists(atPath: $0) }) else {
            throw SpiceError.libraryNotFound(searched: candidates)
        }
        let library = URL(fileURLWithPath: found).resolvingSymlinksInPath()
        let cmDirectory: URL
        if let explicit = environment[codeModelEnvironmentKey], !explicit.isEmpty {
            cmDirectory = URL(fileURLWithPath: explicit)
        } else {
            cmDirectory = library.deletingLastPathComponent().appendingPathComponent("ngspice")
        }
        let models = ((try? fm.contentsOfDirectory(atPath: cmDirectory.path)) ?? [])
            .filter { $0.hasSuffix(".cm") }
            .sorted()
            .map { cmDirectory.appendingPathComponent($0) }
        return NgspiceInstallation(library: library, codeModels: models)
    }
}
