import BrunoDevices
import BrunoSpice
import BrunoSurrogates
import Foundation
import XCTest

/// The FeCap and the FeLIF neuron netlists behave like the devices they model.
final class FeLIFNeuronTests: XCTestCase {
    let library = DeviceTestSupport.library

    func testFeCapLoopHasHZORemanenceAndCoerciveField() throws {
        let spice = try SpiceInstance()
        let loop = FeCapLoop(amplitude: 3.5, frequency: 1e3)
        let figures = try loop.figures(try spice.simulate(loop.netlist(library: library)))
        let prMicroCoulombPerCm2 = figures.remanentPolarization * 100   // 1 C/m² = 100 µC/cm²
        let ecMVPerCm = figures.apparentCoerciveField / 1e8             // 1 MV/cm = 1e8 V/m
        XCTAssertTrue((10...30).contains(prMicroCoulombPerCm2), "Pr = \(prMicroCoulombPerCm2) µC/cm²")
        XCTAssertTrue((0.8...1.5).contains(ecMVPerCm), "Ec = \(ecMVPerCm) MV/cm")
        // Faster sweeps need more field to switch (nucleation-limited switching): Ec grows with frequency.
        let fast = FeCapLoop(amplitude: 3.5, frequency: 1e5)
        let fastFigures = try fast.figures(try spice.simulate(fast.netlist(library: library)))
        XCTAssertGreaterThan(fastFigures.coerciveVoltage, figures.coerciveVoltage * 1.05)
    }

    func testShippedNeuronNetlistRunsAsIsAndFires() throws {
        let spice = try SpiceInstance()
        let trace = try NeuronTrace(try spice.simulate(Netlist(contentsOf: library.netlist("felif_neuron.cir"))))
        XCTAssertGreaterThanOrEqual(trace.spikeTimes.count, 3)
    }

    func testMoreInputFiresEarlier() throws {
        let spice = try SpiceInstance()
        let firsts = try [200e-12, 500e-12, 1e-9].map { i in
            try XCTUnwrap(FeLIFNeuronBench(input: .constant(i), duration: 100e-3).run(on: spice, library: library).firstSpike, "no spike at \(i) A")
        }
        XCTAssertGreaterThan(firsts[0], firsts[1])
        XCTAssertGreaterThan(firsts[1], firsts[2])
    }

    func testLeakWithoutInputNoSpikeAndMembraneDecays() throws {
        let spice = try SpiceInstance()
        // 1 nA for 8 ms (first spike would come at ≈ 12.5 ms), then nothing for 40 ms.
        let currents = Array(repeating: 1e-9, count: 8) + Array(repeating: 0.0, count: 40)
        let trace = try FeLIFNeuronBench(input: .piecewise(window: 1e-3, currents: currents), duration: 48e-3).run(on: spice, library: library)
        XCTAssertEqual(trace.spikeTimes, [])
        let atRemoval = trace.membrane(at: 8e-3), later = trace.membrane(at: 20e-3), end = trace.membrane(at: 48e-3)
        XCTAssertGreaterThan(atRemoval, 1.0)
        XCTAssertLessThan(later, atRemoval)
        XCTAssertLessThan(end, later)
    }

    func testFiresAndResetsRepeatedly() throws {
        let spice = try SpiceInstance()
        let trace = try FeLIFNeuronBench(input: .constant(1e-9), duration: 60e-3).run(on: spice, library: library)
        let spikes = trace.spikeTimes
        XCTAssertGreaterThanOrEqual(spikes.count, 4)
        let p = FeLIFParameters.reference
        for t in spikes.dropLast() {
            // 0.1 ms after each spike the reset has finished: membrane at vreset, FeCap re-polarized to −Ps.
            let after = trace.time.firstIndex { $0 >= t + 0.1e-3 }!
            XCTAssertEqual(trace.membrane[after], p.resetVoltage, accuracy: 0.15)
            XCTAssertEqual(trace.polarization[after], -1, accuracy: 0.01)
        }
        // Regular firing under constant input: intervals agree within 1 %.
        let intervals = zip(spikes.dropFirst(), spikes).map { $0 - $1 }
        for d in intervals { XCTAssertEqual(d, intervals[0], accuracy: intervals[0] * 0.01) }
    }

    func testFICurveIsMonotonicWithARheobase() async throws {
        let pool = try SpicePool(count: 2)
        let currents = [30e-12, 50e-12, 100e-12, 200e-12, 500e-12, 1e-9, 2e-9]
        var rates: [Double] = []
        for i in currents {
            let trace = try await FeLIFNeuronBench(input: .constant(i), duration: 300e-3).run(on: pool, library: library)
            rates.append(Double(trace.spikeTimes.count) / 0.3)
        }
        XCTAssertEqual(rates[0], 0, "below rheobase")
        XCTAssertEqual(rates[1], 0, "below rheobase (reference: none at ≤ 50 pA)")
        XCTAssertGreaterThan(rates[2], 0, "100 pA is above rheobase")
        for k in 1..<rates.count { XCTAssertGreaterThanOrEqual(rates[k], rates[k - 1], "f–I not monotonic at \(currents[k]) A: \(rates)") }
        XCTAssertGreaterThan(rates.last!, 10 * rates[2])
    }

    func testDeviceVariationIsReproducibleAndMatters() throws {
        var a = SeededRandom(seed: 11), b = SeededRandom(seed: 11)
        let va = FeLIFVariation.sample(sigma: 0.05, using: &a), vb = FeLIFVariation.sample(sigma: 0.05, using: &b)
        XCTAssertEqual(va, vb)
        let spice = try SpiceInstance()
        var bench = FeLIFNeuronBench(input: .constant(500e-12), duration: 40e-3)
        let nominal = try XCTUnwrap(bench.run(on: spice, library: library).firstSpike)
        // +10 % saturation polarization means 10 % more switching charge before threshold: a later spike.
        bench.variation.saturationPolarization = 1.1
        let morePs = try XCTUnwrap(bench.run(on: spice, library: library).firstSpike)
        XCTAssertGreaterThan(morePs, nominal * 1.03)
    }
}

import BrunoSupport
