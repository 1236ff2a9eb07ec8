import BrunoSpice
import Foundation
import XCTest

/// Circuits with closed-form answers: the binding must hand back ngspice's numbers unchanged.
final class AnalyticCircuitTests: XCTestCase {
    func testRCStepMatchesExponential() throws {
        let spice = try SpiceInstance()
        let result = try spice.simulate(try Fixtures.netlist(Fixtures.rc))
        XCTAssertEqual(result.plots.map(\.kind), ["tran"])
        XCTAssertEqual(result["time"]?.quantity, .time)
        XCTAssertEqual(result["v(out)"]?.quantity, .voltage)
        XCTAssertLessThan(try Fixtures.rcError(result), 1e-4, "relative to the 1 V step")
    }

    func testRLCUnderdampedStepResponse() throws {
        let spice = try SpiceInstance()
        let result = try spice.simulate(try Fixtures.netlist(Fixtures.rlc))
        let (r, l, c) = (10.0, 1e-3, 1e-6)
        let alpha = r / (2 * l), omegaD = (1 / (l * c) - alpha * alpha).squareRoot()
        let t = try XCTUnwrap(result["time"]).real
        let v = try XCTUnwrap(result["v(b)"]).real
        var worst = 0.0
        for (ti, vi) in zip(t, v) {
            let exact = 1 - exp(-alpha * ti) * (cos(omegaD * ti) + alpha / omegaD * sin(omegaD * ti))
            worst = max(worst, abs(vi - exact))
        }
        // Peak overshoot is ≈ 0.6 V; trapezoidal at 0.5 µs steps keeps the error far below 1 mV.
        XCTAssertLessThan(worst, 1e-3)
        XCTAssertGreaterThan(v.max() ?? 0, 1.5, "an underdamped RLC overshoots")
    }

    func testDiodeSweepFollowsShockley() throws {
        let spice = try SpiceInstance()
        let result = try spice.simulate(try Fixtures.netlist(Fixtures.diode))
        let dc = try XCTUnwrap(result.plot("dc"))
        let sweep = try XCTUnwrap(dc.scale).real
        let current = try XCTUnwrap(dc["i(v1)"]).real
        XCTAssertEqual(sweep.count, 71)
        let vt = 1.380649e-23 * 300.15 / 1.602176634e-19
        for (v, i) in zip(sweep, current) where v >= 0.3 {
            let exact = 1e-14 * (exp(v / (1.5 * vt)) - 1)
            // The source current flows out of the + terminal: i(v1) = −I_diode. GMIN (1e-12 S) adds v·1e-12.
            XCTAssertEqual(-i, exact + v * 1e-12, accuracy: exact * 2e-3, "at \(v) V")
        }
    }

    func testOperatingPointAndTransientFromSwift() throws {
        let spice = try SpiceInstance()
        let divider = try Fixtures.netlist("""
        divider
        V1 in 0 DC 3
        R1 in mid 2k
        R2 mid 0 1k
        .end
        """)
        let op = try spice.simulate(divider, analysis: .operatingPoint)
        XCTAssertEqual(op.plots.first?.kind, "op")
        XCTAssertEqual(try XCTUnwrap(op["v(mid)"]).real.first!, 1.0, accuracy: 1e-9)

        // The netlist's own .tran is replaced by the one given from Swift.
        let tran = try spice.simulate(try Fixtures.netlist(Fixtures.rc), analysis: .transient(step: 10e-6, stop: 2e-3, maxStep: 1e-6, useInitialConditions: true))
        let time = try XCTUnwrap(tran["time"]).real
        XCTAssertEqual(time.last!, 2e-3, accuracy: 1e-12)
        XCTAssertLessThan(try Fixtures.rcError(tran), 1e-4)
    }

    func testParameterOverrideChangesTheCircuit() throws {
        let spice = try SpiceInstance()
        var netlist = try Fixtures.netlist(Fixtures.rc)
        try netlist.setParameter("rval", to: "2k")
        XCTAssertLessThan(try Fixtures.rcError(try spice.simulate(netlist), tau: 2e-3), 1e-4)
        try netlist.setParameter("RVAL", to: 500.0)
        XCTAssertLessThan(try Fixtures.rcError(try spice.simulate(netlist), tau: 0.5e-3), 1e-4)
    }

    func testSaveKeepsOnlyRequestedVectors() throws {
        let spice = try SpiceInstance()
        var netlist = try Fixtures.netlist(Fixtures.rc)
        netlist.save(["v(out)"])
        let plot = try XCTUnwrap(spice.simulate(netlist).plot("tran"))
        XCTAssertEqual(Set(plot.vectors.map(\.name)), ["time", "out"])
    }

    func testComplexVectorsFromAC() throws {
        let spice = try SpiceInstance()
        let result = try spice.simulate(try Fixtures.netlist("""
        RC low-pass AC
        V1 in 0 DC 0 AC 1
        R1 in out 1k
        C1 out 0 1u
        .ac dec 10 10 100k
        .end
        """))
        let ac = try XCTUnwrap(result.plot("ac"))
        XCTAssertEqual(ac.scale?.quantity, .frequency)
        let out = try XCTUnwrap(ac["v(out)"])
        let h = try XCTUnwrap(out.complex)
        let f = try XCTUnwrap(ac.scale).real
        for (fi, hi) in zip(f, h) {
            let w = 2 * Double.pi * fi * 1e-3
            XCTAssertEqual(hi.real, 1 / (1 + w * w), accuracy: 1e-6)
            XCTAssertEqual(hi.imaginary, -w / (1 + w * w), accuracy: 1e-6)
        }
    }
}
