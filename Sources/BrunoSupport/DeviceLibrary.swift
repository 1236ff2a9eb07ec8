import BrunoSupport
import Foundation

/// Where the shipped compact models (`models/*.lib`) and device netlists (`netlists/*.cir`) are.
///
/// Generated decks `.include` the model libraries by absolute path, so they run from any folder.
public struct DeviceLibrary: Sendable, Equatable {
    public var root: URL

    public init(root: URL) { self.root = root }

    public var models: URL { root.appendingPathComponent("models") }
    public var netlists: URL { root.appendingPathComponent("netlists") }
    public func model(_ name: String) -> URL { models.appendingPathComponent(name) }
    public func netlist(_ name: String) -> URL { netlists.appendingPathComponent(name) }

    /// Environment variable naming the folder that holds `models/` and `netlists/`.
    public static let environmentKey = "BRUNO_HOME"

    /// Finds the library from `BRUNO_HOME`, then the working directory and its parents, then the executable's
    /// folder and its parents (a `swift run` build lives inside the package).
    public static func locate(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> DeviceLibrary {
        var starts: [URL] = []
        if let home = environment[environmentKey], !home.isEmpty { starts.append(URL(fileURLWithPath: home)) }
        starts.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        starts.append(
            URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
                .deletingLastPathComponent())
        var searched: [String] = []
        for start in starts {
            var dir = start.standardizedFileURL
            for _ in 0..<8 {
                let candidate = DeviceLibrary(root: dir)
                searched.append(candidate.models.path)
                if FileManager.default.fileExists(atPath: candidate.model("felif.lib").path) { return candidate }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        throw NotFound(searched: Array(searched.prefix(3)))
    }

    /// No folder with `models/felif.lib` where the library is looked for. (Here, not in the simulator's
    /// errors: reading a card or an experiment needs the package folder but no simulator.)
    public struct NotFound: Error, Sendable, Equatable, CustomStringConvertible {
        /// The first folders searched.
        public var searched: [String]
        public var description: String {
            "file not found: models/felif.lib (set \(DeviceLibrary.environmentKey) to the folder that holds models/; "
                + "searched \(searched.joined(separator: ", "))…)"
        }
    }
}
