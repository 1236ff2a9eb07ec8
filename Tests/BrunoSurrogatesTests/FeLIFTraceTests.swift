import BrunoSurrogates
import XCTest

final class FeLIFTraceTests: XCTestCase {
    /// Below threshold the trace is the same Euler integration as the coarse-grid neuron's fine forward.
    func testSubthresholdTraceEqualsTheFineForward() {
        let sim = FeLIFTraceSimulation(step: 1e-6, sampleInterval: 1e-3)
        let trace = sim.run(currents: [5e-11, 8e-11, 2e-11], window: 1e-3, duration: 3e-3)
        let neuron = FeLIFNeuron(stepping: FeLIFStepping(fineSteps: 1000, mode: .bruno))
        let tape = neuron.forward([5e-11, 8e-11, 2e-11])
        XCTAssertEqual(trace.membrane.count, 4)
        for k in 1...3 { XCTAssertEqual(trace.membrane[k], tape.states[k].v, accuracy: 1e-12) }
        XCTAssertEqual(trace.spikes, [])
    }

    /// Circuit-like reset: spikes come at the netlist's times (docs/devices.md: 25.40 ms, then every 27.10 ms at
    /// 500 pA), not on the 1 ms grid.
    func testSpikeTimesLikeTheCircuit() {
        let trace = FeLIFTraceSimulation().run(currents: [5e-10], window: 1, duration: 0.1)
        XCTAssertEqual(trace.spikes.first ?? 0, 25.40e-3, accuracy: 0.1e-3)
        XCTAssertEqual(trace.spikes[1] - trace.spikes[0], 27.10e-3, accuracy: 0.2e-3)
    }
}
