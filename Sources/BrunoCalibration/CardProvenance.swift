import BrunoCards
import BrunoSpice
import BrunoSupport
import Foundation

/// Provenance needs the simulator (its version) and the netlist parser (its includes): it is written here,
/// where cards are made, and read everywhere through `BrunoCards`.
extension DeviceCard.Provenance {
    /// The provenance of a calibration run now: the netlist, every file it includes and the protocol hashed,
    /// paths relative to the working directory when below it (so committed cards carry no machine paths), the
    /// ngspice version of `spice`.
    public static func now(
        netlist: URL, protocolFile: URL, seeds: [String: UInt64], tool: String, spice: SpiceInstance
    ) throws -> DeviceCard.Provenance {
        var includes: [String: String] = [:]
        for file in try Netlist(contentsOf: netlist).includedFiles() {
            includes[display(file)] = try SHA256.hex(ofFile: file)
        }
        return DeviceCard.Provenance(
            netlist: display(netlist), netlistSHA256: try SHA256.hex(ofFile: netlist),
            ngspice: (try? spice.version()) ?? "ngspice (version unknown)",
            protocolFile: display(protocolFile), protocolSHA256: try SHA256.hex(ofFile: protocolFile),
            seeds: seeds, date: ReproducibleDate.now(), tool: tool, includes: includes)
    }

    static func display(_ url: URL) -> String {
        let cwd = FileManager.default.currentDirectoryPath + "/"
        let path = url.standardizedFileURL.path
        return path.hasPrefix(cwd) ? String(path.dropFirst(cwd.count)) : path
    }
}
