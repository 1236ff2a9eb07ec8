import BrunoDevices
import BrunoEnergy
import BrunoSpice
import BrunoSupport
import Foundation
import XCTest

/// Issue #18: neuron and synapse energies from ngspice against what must hold.
final class EnergyMeasurementTests: XCTestCase {
    let library = DeviceLibrary(root: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                                    .deletingLastPathComponent())

    /// Per spike two ways: the supplies' integral over the spike train against the sum of the parts (within 5 %);
    /// a sub-threshold window has no per-spike energy but still a static power; the parts per spike add up to the
    /// dynamic energy; the rate interpolation stays between the measured points; the static power and the power-up
    /// charge predict a rest window of another length.
    func testNeuronPerSpikeEnergyTwoWaysAndStaticPower() async throws {
        let pool = try SpicePool(count: 2)
        let e = try await NeuronEnergy.measure(parameters: .reference, currents: [(1e-9, 40e-3), (2e-9, 40e-3), (20e-12, 40e-3)],
                                               area: 25e-12, conditions: "test", on: pool, library: library)
        XCTAssertGreaterThan(e.staticPower, 0)
        XCTAssertNil(e.points[2].dynamicPerSpike, "20 pA is below the rheobase")
        XCTAssertEqual(e.points[2].spikes, 0)
        XCTAssertEqual(e.firing.count, 2)
        for p in e.firing {
            XCTAssertLessThan(p.imbalance, 0.05)
            let perSpike = try XCTUnwrap(p.dynamicPerSpike), parts = try XCTUnwrap(p.partsPerSpike)
            XCTAssertEqual(parts.total, perSpike, accuracy: 0.05 * perSpike, "parts \(parts.labels) \(parts.joules)")
            // Tens of picojoules: the FeCap's switching charge 2·Ps·A ≈ 11 pC moved through a few volts.
            XCTAssertGreaterThan(perSpike, 1e-12)
            XCTAssertLessThan(perSpike, 1e-9)
        }
        let (a, b) = (e.firing[0], e.firing[1])
        let mid = try XCTUnwrap(e.dynamicEnergy(atRate: 0.5 * (a.rate + b.rate)))
        XCTAssertEqual(mid, 0.5 * (a.dynamicPerSpike! + b.dynamicPerSpike!), accuracy: 1e-6 * mid)
        XCTAssertEqual(e.dynamicEnergy(atRate: 1e9), b.dynamicPerSpike)
        // The rest window split into a one-off power-up charge and a settled power predicts a rest window of another
        // length (a column deck of 10 ms against the 40 ms bench); P·T alone, the power-up spread over 40 ms, did not.
        XCTAssertGreaterThan(e.powerUpEnergy, 0)
        let short = try await FeLIFEnergyBench(parameters: .reference, current: 0, duration: 10e-3).run(on: pool, library: library)
        let predicted = e.powerUpEnergy + e.staticPower * 10e-3
        XCTAssertEqual(short.supplies.total, predicted, accuracy: 0.02 * short.supplies.total,
                       "power-up \(e.powerUpEnergy) J, static \(e.staticPower) W")
    }

    /// The input's ∫I·V dt from coarse steps: exact for a linear ramp (trapezoid), the hold after a crossing at the
    /// polarizing level, a negative contribution there (the input source absorbs energy at −3 V).
    func testInputEnergyFromCoarseStepsMatchesClosedForms() {
        let dt = 1e-3, i = 2e-9
        // V rises 0.1 V per step for 10 steps: ∫ I·V dt = I·dt·Σ (v_{t-1}+v_t)/2 = I·dt·0.1·Σ(t − ½) = I·dt·5.
        let ramp = (1...10).map { 0.1 * Double($0) }
        XCTAssertEqual(InferenceEnergy.inputEnergy(currents: Array(repeating: i, count: 10), membrane: ramp, threshold: 2.5, dt: dt),
                       i * dt * 5, accuracy: 1e-12 * i * dt)
        // Step 0 crosses 2.5 V (from 0 V, ending at 2.6 V); step 1 is held at −3 V; step 2 starts at the reset value
        // −1.5 V and ends at −1.0 V.
        let e = InferenceEnergy.inputEnergy(currents: [i, i, i], membrane: [2.6, -1.5, -1.0], threshold: 2.5, dt: dt, holdVoltage: -3)
        let expected = i * dt * ((0.5 * 0.5 * (0 + 2.5) + 0.5 * -3) + -3 + 0.5 * (-1.5 + -1.0))
        XCTAssertEqual(e, expected, accuracy: 1e-12 * i * dt)
        XCTAssertLessThan(e, 0)
        XCTAssertEqual(InferenceEnergy.inputEnergy(currents: [0, 0], membrane: [1, 2], threshold: 2.5, dt: dt), 0)
    }

    /// A read pulse on a cell: ngspice's source integral against the closed form at every level (within 0.5 %).
    func testReadEnergyMatchesClosedFormAtEveryLevel() async throws {
        let pool = try SpicePool(count: 1)
        let levels = RRAMLevels.shipped.conductances
        let reads = try await SynapseEnergy.measureReads(conductances: levels, readVoltage: 0.2, readModel: RRAMReadModel(),
                                                         pulseWidth: 100e-6, on: pool, library: library)
        for (g, r) in zip(levels, reads) {
            XCTAssertEqual(r.spice, r.closed, accuracy: 0.005 * r.closed, "G = \(g) S")
            // Nearly ohmic at 0.2 V: V²·G·t to within the sinh's curvature and the ramps.
            XCTAssertEqual(r.closed, 0.04 * g * 100e-6, accuracy: 0.05 * r.closed)
        }
    }
}
