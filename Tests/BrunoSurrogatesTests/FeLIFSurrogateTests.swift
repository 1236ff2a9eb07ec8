import BrunoSurrogates
import Foundation
import XCTest

final class FeLIFSurrogateTests: XCTestCase {
    let model = FeLIFSurrogate.reference

    func testDerivedConstantsMatchTheReference() {
        XCTAssertEqual(model.fieldPerVolt, 9.05e7, accuracy: 0.01e7)
        XCTAssertEqual(model.fieldPerPolarization, 4.26e8, accuracy: 0.01e8)
        XCTAssertEqual(model.totalCapacitance, 0.573e-12, accuracy: 0.001e-12)
    }

    /// τ(E) with P = −Ps: ≈ 0.74 s at 0 V, 5 µs at 0.5 V, 22 ns at 1 V, 40 ps at 2.5 V (reference §1).
    func testSwitchingTimesMatchTheReference() {
        let c = model.coefficients
        for (v, tau) in [(0.0, 0.74), (0.5, 5e-6), (1.0, 22e-9), (2.5, 40e-12)] {
            let f = c.rates(v: v, p: -model.saturationPolarization, current: 0)
            let r = f.dp / (2 * model.saturationPolarization)       // (Ps − (−Ps))·(1/τ)
            XCTAssertEqual(1 / r, tau, accuracy: tau * 0.1, "τ at \(v) V")
        }
    }

    /// The reference table, simulated from the same equations at 1 µs with the BRUNO forward (freeze after
    /// threshold, reset at the next coarse step).
    func testFirstSpikeTimesMatchTheReferenceTable() {
        let neuron = FeLIFNeuron()
        for (current, first, isi) in [(100e-12, 138.0, 148.0), (200e-12, 65.0, 71.0), (500e-12, 25.0, 29.0), (1e-9, 12.0, 15.0)] {
            let tape = neuron.forward(Array(repeating: current, count: 320))
            let spikes = tape.spikes.indices.filter { tape.spikes[$0] == 1 }.map { Double($0 + 1) }   // ms
            XCTAssertEqual(spikes.first ?? .infinity, first, accuracy: 2, "first spike at \(current) A")
            if spikes.count >= 2 { XCTAssertEqual(spikes[1] - spikes[0], isi, accuracy: 2, "ISI at \(current) A") }
        }
        let quiet = neuron.forward(Array(repeating: 50e-12, count: 300))
        XCTAssertEqual(quiet.spikes.reduce(0, +), 0, "no spike at 50 pA within 300 ms")
    }

    func testRatePartialsMatchFiniteDifferences() {
        let c = model.coefficients
        for (v, p) in [(0.3, -0.2), (0.9, -0.15), (-0.4, 0.1), (1.2, 0.05)] {
            let f = c.rates(v: v, p: p, current: 1e-10)
            let hv = 1e-7, hp = 1e-9
            let dv1 = c.rates(v: v + hv, p: p, current: 1e-10), dv0 = c.rates(v: v - hv, p: p, current: 1e-10)
            let dp1 = c.rates(v: v, p: p + hp, current: 1e-10), dp0 = c.rates(v: v, p: p - hp, current: 1e-10)
            XCTAssertEqual(f.dpdv, (dv1.dp - dv0.dp) / (2 * hv), accuracy: abs(f.dpdv) * 1e-5 + 1e-12)
            XCTAssertEqual(f.dvdv, (dv1.dv - dv0.dv) / (2 * hv), accuracy: abs(f.dvdv) * 1e-5 + 1e-12)
            XCTAssertEqual(f.dpdp, (dp1.dp - dp0.dp) / (2 * hp), accuracy: abs(f.dpdp) * 1e-5 + 1e-12)
            XCTAssertEqual(f.dvdp, (dp1.dv - dp0.dv) / (2 * hp), accuracy: abs(f.dvdp) * 1e-5 + 1e-12)
            // Detaching τ keeps only the explicit −1/τ term.
            let detached = c.rates(v: v, p: p, current: 1e-10, detachTau: true)
            XCTAssertEqual(detached.dpdv, 0)
            let sgnE: Double = c.c * v - c.d * p > 0 ? 1 : -1
            let rate = f.dp / (sgnE * model.saturationPolarization - p)   // 1/τ(E)
            XCTAssertEqual(detached.dpdp, -rate, accuracy: 1e-12 * rate)
        }
    }

    func testSpikeGradientFunctions() {
        XCTAssertEqual(SpikeGradient.fastSigmoid(slope: 10).derivative(0), 1)
        XCTAssertEqual(SpikeGradient.fastSigmoid(slope: 10).derivative(0.1), 0.5)
        XCTAssertEqual(SpikeGradient.fastSigmoid(slope: 10).derivative(-0.1), 0.5)
        XCTAssertEqual(SpikeGradient.tanhSquared.derivative(0), 1)
        XCTAssertEqual(SpikeGradient.tanhSquared.derivative(0.5), 1 - tanh(0.5) * tanh(0.5), accuracy: 1e-15)
    }
}
