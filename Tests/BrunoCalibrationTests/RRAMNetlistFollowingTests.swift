import BrunoCalibration
import BrunoDevices
import BrunoSpice
import BrunoSupport
import Foundation
import XCTest

/// Issue #12, RRAM: `bruno calibrate rram --netlist COPY` follows the copy's read voltage, compliance table
/// (level targets) and declared variability.
final class RRAMNetlistFollowingTests: XCTestCase {
    static let root = FeLIFCalibrationTests.root


    /// A small Monte Carlo with the shipped programming recipe; `variability` lines go into [variability].
    func smallProtocol(_ netlist: URL, variability: String = "", in dir: URL, name: String) throws -> RRAMProtocol {
        let text = """
        [simulation]
        netlist = "\(netlist.path)"
        [variability]
        \(variability)
        seed = 5
        [monte_carlo]
        devices = 3
        cycles = 2
        held_out_devices = 2
        held_out_seed = 6
        [programming]
        method = "ispp"
        tolerance = 0.05
        max_pulses = 24
        """
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return try RRAMProtocol.load(url)
    }

    func testTheCardFollowsTheNetlistsReadVoltageLevelTargetAndVariability() async throws {
        let dir = try netlistWorkspace()
        let cir = dir.appendingPathComponent("netlists/rram_program.cir")
        var text = try String(contentsOf: cir, encoding: .utf8)
        for (old, new) in [("ic5=596u", "ic5=650u"), (".param vread=0.2 ", ".param vread=0.25 ")] {
            XCTAssertTrue(text.contains(old), old)
            text = text.replacingOccurrences(of: old, with: new)
        }
        try text.write(to: cir, atomically: true, encoding: .utf8)
        // The same device with its device-to-device spread declared in the netlist.
        let declared = dir.appendingPathComponent("netlists/rram_declared.cir")
        try text.replacingOccurrences(of: ".param tset=10u", with: ".param sigma_dev=0.05\n.param tset=10u")
            .write(to: declared, atomically: true, encoding: .utf8)
        let pool = try SpicePool(count: 2)
        let library = DeviceLibrary(root: Self.root)
        let fromNetlist = try await RRAMCalibrationRun(protocolFile: try smallProtocol(declared, in: dir, name: "a.toml"))
            .run(pool: pool, library: library, out: dir.appendingPathComponent("a")) { _ in }
        let fromProtocol = try await RRAMCalibrationRun(protocolFile: try smallProtocol(cir, variability: "device_sigma = 0.05", in: dir, name: "b.toml"))
            .run(pool: pool, library: library, out: dir.appendingPathComponent("b")) { _ in }
        // The variability the netlist declares is the one drawn: the same card as the protocol saying it.
        XCTAssertEqual(fromNetlist.card.parameters.map(\.value), fromProtocol.card.parameters.map(\.value))
        // The read voltage is the netlist's, with its place.
        let read = try XCTUnwrap(fromNetlist.card.parameters.first { $0.name == "readVoltage" })
        XCTAssertEqual(read.value, 0.25)
        XCTAssertEqual(read.source, "netlist")
        XCTAssertTrue(read.place?.hasSuffix("rram_declared.cir:\(try line(of: ".param vread", in: declared))") == true, "\(read)")
        // Level 5 follows the larger compliance: programmed within the window of this netlist's own target,
        // which lies well above the shipped one.
        var programmer = RRAMProgrammer(library: library)
        programmer.netlistURL = cir
        programmer.readVoltage = 0.25
        let target = try programmer.program(level: 5, on: pool.instances[0]).conductance
        let level5 = try XCTUnwrap(fromNetlist.card.value("level5.conductance"))
        XCTAssertEqual(level5, target, accuracy: target * 0.05, "level 5 within ±5 % of the netlist's target")
        var shipped = RRAMProgrammer(library: library)
        shipped.readVoltage = 0.25
        let shippedTarget = try shipped.program(level: 5, on: pool.instances[0]).conductance
        XCTAssertGreaterThan(target / shippedTarget, 1.06, "the change moves the target")
    }

    func line(of prefix: String, in url: URL) throws -> Int {
        let lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
        return try XCTUnwrap(lines.firstIndex { $0.hasPrefix(prefix) }) + 1
    }
}
