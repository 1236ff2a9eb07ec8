import BrunoCalibration
import BrunoDevices
import BrunoSpice
import BrunoSupport
import Foundation
import XCTest

/// The surrogate's parameters read from a neuron netlist (issue #12): values evaluated by ngspice, places
/// followed through overrides, `.param`s and included model files.
final class NetlistParameterTests: XCTestCase {
    static let root = FeLIFCalibrationTests.root


    func edit(_ url: URL, _ replacements: [(String, String)]) throws {
        var text = try String(contentsOf: url, encoding: .utf8)
        for (old, new) in replacements {
            XCTAssertTrue(text.contains(old), "\(url.lastPathComponent) has no '\(old)'")
            text = text.replacingOccurrences(of: old, with: new)
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    func testTheShippedNetlistReadsItsDefaults() throws {
        let netlist = try Netlist(contentsOf: Self.root.appendingPathComponent("netlists/felif_neuron.cir"))
        let p = try FeLIFNetlistParameters.read(netlist, spice: SpiceInstance())
        XCTAssertEqual(p.instance, "XN")
        XCTAssertEqual(p.missing, [])
        let expected: [String: Double] = [
            "area": 25e-12, "tFe": 10e-9, "epsFe": 25.2, "tInt": 1.375e-9, "epsInt": 33, "saturationPolarization": 0.22,
            "tau0": 1e-13, "activationField": 1.27e9, "alpha": 1.3, "softField": 5e-6, "leakCurrentDensity": 1e-4,
            "leakVoltage": 0.32, "dischargeCurrent": 10e-12, "parasiticCapacitance": 15e-15, "threshold": 2.5,
            "resetVoltage": -1.5,
        ]
        for (name, value) in expected {
            XCTAssertEqual(try XCTUnwrap(p.readings[name], name).value, value, accuracy: abs(value) * 1e-12, name)
        }
        // vthr is set on the instance from `.param vthr=2.5` (line 8); ps reaches XN.XFE as `ps={ps}` from the
        // felif subcircuit's default in models/felif.lib (which shadows fecap.lib's own default).
        XCTAssertTrue(p.readings["threshold"]!.place.hasSuffix("felif_neuron.cir:8"), p.readings["threshold"]!.place)
        let psLine = try line(of: "+ area=25e-12 tfe=10e-9", in: "models/felif.lib")
        XCTAssertTrue(p.readings["saturationPolarization"]!.place.hasSuffix("felif.lib:\(psLine)"), p.readings["saturationPolarization"]!.place)
    }

    func line(of needle: String, in file: String) throws -> Int {
        let lines = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8).components(separatedBy: "\n")
        return try XCTUnwrap(lines.firstIndex { $0.hasPrefix(needle) }) + 1
    }

    func testOverridesExpressionsAndModelFilesAreFollowed() throws {
        let dir = try netlistWorkspace()
        let cir = dir.appendingPathComponent("netlists/felif_neuron.cir")
        // Three changes at once, each written a different way: an expression on a .param, an instance override
        // with arithmetic, a model-file default; plus a device factor.
        try edit(cir, [(".param vthr=2.5", ".param vbase=1.1\n.param vthr={2*vbase}"),
                       ("XN mem spk felif vthr={vthr} idsc={idsc}", "XN mem spk felif vthr={vthr} idsc={idsc*1.5} j0=3e-4 vps=1.15")])
        try edit(dir.appendingPathComponent("models/felif.lib"), [("+ cpar=15f", "+ cpar=22f")])
        let p = try FeLIFNetlistParameters.read(try Netlist(contentsOf: cir), spice: SpiceInstance())
        XCTAssertEqual(p.readings["threshold"]!.value, 2.2, accuracy: 1e-12)
        XCTAssertEqual(p.readings["dischargeCurrent"]!.value, 15e-12, accuracy: 1e-24)
        XCTAssertEqual(p.readings["leakCurrentDensity"]!.value, 3e-4, accuracy: 1e-16)
        XCTAssertEqual(p.readings["saturationPolarization"]!.value, 0.22 * 1.15, accuracy: 1e-12)
        XCTAssertEqual(p.readings["parasiticCapacitance"]!.value, 22e-15, accuracy: 1e-27)
        XCTAssertTrue(p.readings["dischargeCurrent"]!.place.hasSuffix("felif_neuron.cir:13"), p.readings["dischargeCurrent"]!.place)
        XCTAssertTrue(p.readings["parasiticCapacitance"]!.place.contains("felif.lib:"), p.readings["parasiticCapacitance"]!.place)
        XCTAssertTrue(p.readings["threshold"]!.place.hasSuffix("felif_neuron.cir:9"), p.readings["threshold"]!.place)
    }

    func testANetlistWithoutTheNeuronOrWithABadExpressionIsAClearError() throws {
        let dir = try netlistWorkspace()
        let cir = dir.appendingPathComponent("netlists/felif_neuron.cir")
        try edit(cir, [("XN mem spk felif", "XN memb spk felif"), ("Iin 0 mem", "Iin 0 memb")])
        XCTAssertThrowsError(try FeLIFNetlistParameters.read(try Netlist(contentsOf: cir), spice: SpiceInstance())) {
            XCTAssertTrue("\($0)".contains("no subcircuit instance on node `mem`"), "\($0)")
        }
        try edit(cir, [("XN memb spk felif", "XN mem spk felif"), ("Iin 0 memb", "Iin 0 mem"),
                       (".param idsc=10p", ".param idsc={10p*undefinedthing}")])
        XCTAssertThrowsError(try FeLIFNetlistParameters.read(try Netlist(contentsOf: cir), spice: SpiceInstance())) {
            XCTAssertTrue("\($0)".contains("felif_neuron.cir"), "\($0)")
            XCTAssertFalse("\($0)".contains("\n\n"), "\($0)")
        }
    }
}
