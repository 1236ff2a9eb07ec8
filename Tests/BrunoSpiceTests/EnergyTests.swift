import BrunoSpice
import Foundation
import XCTest

/// Energy from transients against closed forms: a source charging a capacitor through a resistor delivers
/// C·V²·(1 − e^(−T/τ)), of which the capacitor stores C·v(T)²/2 and the resistor turns the rest into heat; a
/// resistor across a DC source dissipates V²/R per second.
final class EnergyTests: XCTestCase {
    static let rcCharge = """
    RC charge: energy bookkeeping
    V1 in 0 DC 1
    R1 in out 1k
    C1 out 0 1u IC=0
    .options reltol=1e-6 abstol=1e-15 vntol=1e-9 method=trap
    .save v(in) v(out) i(v1) @r1[i] @c1[i]
    .tran 1u 5m 0 1u uic
    .end
    """

    func testRCChargeEnergiesMatchClosedForm() throws {
        let spice = try SpiceInstance()
        let plot = try XCTUnwrap(try spice.simulate(Netlist(string: Self.rcCharge)).plot("tran"))
        let (v, r, c, t) = (1.0, 1e3, 1e-6, 5e-3)
        let tau = r * c
        let delivered = try plot.deliveredEnergy(.source("supply", name: "v1", plus: "in"))
        let stored = try plot.absorbedEnergy(EnergyProbe(label: "capacitor", plus: "out", current: "@c1[i]"))
        let heat = try plot.absorbedEnergy(EnergyProbe(label: "resistor", plus: "in", minus: "out", current: "@r1[i]"))
        let exactDelivered = c * v * v * (1 - exp(-t / tau))
        let exactStored = 0.5 * c * pow(v * (1 - exp(-t / tau)), 2)
        XCTAssertEqual(delivered, exactDelivered, accuracy: 0.005 * exactDelivered)
        XCTAssertEqual(stored, exactStored, accuracy: 0.005 * exactStored)
        XCTAssertEqual(heat, exactDelivered - exactStored, accuracy: 0.005 * (exactDelivered - exactStored))
        // Conservation on the simulator's own points, far tighter than the closed forms are met.
        XCTAssertEqual(delivered, stored + heat, accuracy: 1e-4 * delivered)
    }

    func testResistorOnDCDissipatesVSquaredOverROverAnyWindow() throws {
        let spice = try SpiceInstance()
        let deck = """
        DC resistor
        V1 a 0 DC 2
        R1 a 0 1k
        .save v(a) i(v1) @r1[i]
        .tran 10u 1m 0 10u
        .end
        """
        let plot = try XCTUnwrap(try spice.simulate(Netlist(string: deck)).plot("tran"))
        let power = 2.0 * 2.0 / 1e3
        let probe = EnergyProbe(label: "resistor", plus: "a", current: "@r1[i]")
        XCTAssertEqual(try plot.absorbedEnergy(probe), power * 1e-3, accuracy: 0.005 * power * 1e-3)
        // A window whose ends fall between time points (interpolated) takes its share exactly.
        let w = 0.2037e-3...0.7011e-3
        XCTAssertEqual(try plot.absorbedEnergy(probe, window: w), power * (w.upperBound - w.lowerBound),
                       accuracy: 1e-6 * power * 1e-3)
        XCTAssertEqual(try plot.deliveredEnergy(.source("supply", name: "v1", plus: "a")), power * 1e-3,
                       accuracy: 0.005 * power * 1e-3)
    }

    func testTrapezoidIsExactOnLinearPowerAndEmptyOutsideTheTrace() {
        let t = [0.0, 1, 3, 4], p = [0.0, 1, 3, 4]   // p = t
        XCTAssertEqual(SpiceEnergy.integral(time: t, power: p), 8, accuracy: 1e-12)
        XCTAssertEqual(SpiceEnergy.integral(time: t, power: p, window: 0.5...2.5), 3, accuracy: 1e-12)
        XCTAssertEqual(SpiceEnergy.integral(time: t, power: p, window: 5...6), 0)
    }

    func testMissingVectorNamesItAndHowToSaveIt() throws {
        let spice = try SpiceInstance()
        let plot = try XCTUnwrap(try spice.simulate(Netlist(string: Self.rcCharge)).plot("tran"))
        XCTAssertThrowsError(try plot.absorbedEnergy(EnergyProbe(label: "diode", plus: "out", current: "@d1[i]"))) {
            let text = "\($0)"
            XCTAssertTrue(text.contains("Energy of diode"), text)
            XCTAssertTrue(text.contains(".save @d1[i]"), text)
        }
    }
}
