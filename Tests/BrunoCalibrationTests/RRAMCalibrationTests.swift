@testable import BrunoCalibration
import BrunoCards
import BrunoDevices
import BrunoSpice
import BrunoSupport
import BrunoSurrogates
import Foundation
import XCTest

final class RRAMCalibrationTests: XCTestCase {
    static let library = FeLIFCalibrationTests.library

    /// The variance decomposition recovers known device and cycle spreads from synthetic data.
    func testAnalysisOfVarianceRecoversKnownSpreads() {
        var rng = SeededRandom(seed: 5)
        let devices = 400, cycles = 5
        var values: [Double] = []
        for _ in 0..<devices {
            let device = rng.gaussian()
            for _ in 0..<cycles { values.append(100e-6 * (1 + 0.08 * device + 0.03 * rng.gaussian())) }
        }
        let fit = RRAMCalibration.analyse(level: 3, values: values, devices: devices, cycles: cycles)
        XCTAssertEqual(fit.conductance, 100e-6, accuracy: 100e-6 * 0.01)
        XCTAssertEqual(fit.deviceSpread, 0.08, accuracy: 0.08 * 0.1)
        XCTAssertEqual(fit.cycleSpread, 0.03, accuracy: 0.03 * 0.05)
        XCTAssertEqual(fit.samples, 2000)
    }

    /// Calibration follows the netlist's variability: twice the cycle-to-cycle σ of ν0, about twice the fitted
    /// cycle spread; no variability at all, no spread.
    func testWiderVariabilityGivesWiderFittedSpread() async throws {
        let pool = try SpicePool(count: 2)
        let programmer = RRAMProgrammer(library: Self.library)
        func meanCycleSpread(_ sigma: Double) async throws -> Double {
            let v = RRAMVariability(cycleNuSigma: sigma, seed: 3)
            let fits = try await RRAMCalibration(programmer: programmer, variability: v, devices: 4, cycles: 4).measure(on: pool)
            return fits[3...].map(\.cycleSpread).reduce(0, +) / 5   // levels 3–7
        }
        let none = try await meanCycleSpread(0)
        let narrow = try await meanCycleSpread(0.05)
        let wide = try await meanCycleSpread(0.1)
        XCTAssertEqual(none, 0, accuracy: 1e-9)
        XCTAssertEqual(wide / narrow, 2, accuracy: 0.6, "narrow \(narrow), wide \(wide)")
    }

    /// Incremental programming lands every level inside its ±5 % window, from RESET, on varied devices — and from
    /// below: the first SET lands under the window and single short pulses enter it, so a programmed level sits in
    /// the window's lower half (what keeps the levels' distributions unimodal).
    func testIncrementalProgrammingLandsInTheWindow() async throws {
        let pool = try SpicePool(count: 2)
        let ispp = RRAMIncrementalProgramming(tolerance: 0.05, maxPulses: 24)
        let programmer = RRAMProgrammer(library: Self.library)
        let variability = RRAMVariability.typical(seed: 21)
        // Device 1 is a hard case: its first SET lands at 30 % of the level-1 target.
        for (level, device) in [(1, 0), (1, 1), (4, 2), (7, 3)] {
            let o = try await ispp.program(level: level, device: device, firstCycle: 0, variability: variability, programmer: programmer, on: pool)
            XCTAssertTrue(o.verified, "level \(level) device \(device): \(o)")
            XCTAssertEqual(o.result.conductance, ispp.targets[level], accuracy: ispp.targets[level] * 0.05)
            XCTAssertLessThan(o.result.conductance, ispp.targets[level], "level \(level) device \(device): entered from below")
            XCTAssertGreaterThan(o.pulses, 1, "level \(level) device \(device): the first SET lands below the window")
            if device == 1 { XCTAssertGreaterThan(o.pulses, 2, "the hard case needs the incremental pulses") }
        }
        // Level 0 is the reset state: one programming, no window.
        let reset = try await ispp.program(level: 0, device: 0, firstCycle: 0, variability: variability, programmer: programmer, on: pool)
        XCTAssertEqual(reset.pulses, 1)
    }

    /// Pulse sizing: one step without history, half the remaining ln-distance at the last pulse's rate, clamped to
    /// one…eight steps.
    func testNextPulseCoversHalfTheRemainingDistanceAtTheLastRate() {
        let ispp = RRAMIncrementalProgramming()
        XCTAssertEqual(ispp.nextPulseLength(conductance: 50e-6, low: 100e-6, lastRate: nil), ispp.stepPulse)
        XCTAssertEqual(ispp.nextPulseLength(conductance: 50e-6, low: 100e-6, lastRate: 0), ispp.stepPulse, "a pulse that gained nothing")
        // ln 2 to go at 0.1/µs: half of it takes ≈ 3.47 µs (within the 4 µs cap).
        XCTAssertEqual(ispp.nextPulseLength(conductance: 50e-6, low: 100e-6, lastRate: 1e5), 0.5 * log(2) / 1e5, accuracy: 1e-15)
        XCTAssertEqual(ispp.nextPulseLength(conductance: 10e-6, low: 100e-6, lastRate: 1e4), 8 * ispp.stepPulse, "capped at eight steps")
        XCTAssertEqual(ispp.nextPulseLength(conductance: 99e-6, low: 100e-6, lastRate: 1e5), ispp.stepPulse, "at least one step")
    }

    /// The Kolmogorov–Smirnov comparison: identical sets do not differ, a shift of one standard deviation between
    /// 400-sample sets is found, two draws of one distribution are not flagged.
    func testKolmogorovSmirnovSeparatesShiftedDistributions() {
        var rng = SeededRandom(seed: 9)
        let a = (0..<400).map { _ in rng.gaussian() }, b = (0..<400).map { _ in rng.gaussian() }
        XCTAssertEqual(RRAMCalibrationRun.kolmogorovSmirnov(a, a).d, 0)
        XCTAssertEqual(RRAMCalibrationRun.kolmogorovSmirnov(a, a).p, 1)
        XCTAssertGreaterThan(RRAMCalibrationRun.kolmogorovSmirnov(a, b).p, 0.05)
        let shifted = RRAMCalibrationRun.kolmogorovSmirnov(a, b.map { $0 + 1 })
        XCTAssertEqual(shifted.d, 0.38, accuracy: 0.06, "Φ(0.5) − Φ(−0.5) ≈ 0.383")
        XCTAssertLessThan(shifted.p, 1e-10)
        // Disjoint sets: D = 1 exactly.
        XCTAssertEqual(RRAMCalibrationRun.kolmogorovSmirnov([1, 2, 3], [4, 5]).d, 1)
    }

    /// The report's histograms count every value once, out-of-range values in the end bins.
    func testStepHistogramCountsEveryValue() {
        let values = [-9.0, -1, -0.5, 0, 0.25, 3.9, 7]
        let h = RRAMCalibrationRun.stepHistogram(values, lo: -4, hi: 4, bins: 8, normalise: true, allBins: true)
        XCTAssertEqual(h.x.count, 16)
        XCTAssertEqual(stride(from: 0, to: h.y.count, by: 2).map { h.y[$0] }.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertEqual(h.y[0], 1 / 7.0, accuracy: 1e-12, "−9 lands in the first bin")
        XCTAssertEqual(h.y[14], 2 / 7.0, accuracy: 1e-12, "3.9 and 7 in the last")
        XCTAssertEqual(h.y[8], 2 / 7.0, accuracy: 1e-12, "0 and 0.25 in [0, 1)")
    }

    func testReadNonlinearityIsTheModelsV0() throws {
        let spice = try SpiceInstance()
        let cal = RRAMCalibration(programmer: RRAMProgrammer(library: Self.library), variability: .none, devices: 2, cycles: 2)
        XCTAssertEqual(try cal.readNonlinearity(on: spice, library: Self.library).v0, 0.25, accuracy: 1e-4)
    }

    func testCommittedCardMatchesTheNetlistAndLoads() throws {
        let url = FeLIFCalibrationTests.root.appendingPathComponent("calibration/rram.card.json")
        let card = try DeviceCard.load(url)
        let synapse = try RRAMSynapse(card: card)
        XCTAssertEqual(synapse.levels.count, 8)
        XCTAssertEqual(synapse.levels.map(\.conductance), synapse.levels.map(\.conductance).sorted(), "levels are ordered")
        // Incremental programming keeps levels 1–7 inside their ±5 % windows (a spread of at most a window's
        // uniform σ, 10 %/√12), and the independent held-out set agrees: means within 1 %, spreads within 10 %, and
        // the same distribution by Kolmogorov–Smirnov — the acceptance criteria of the calibration, held by the
        // committed card.
        for (l, level) in synapse.levels.enumerated() {
            if l > 0 { XCTAssertLessThan(level.totalSpread, 0.1 / 12.0.squareRoot(), "level \(l)") }
            XCTAssertLessThan(try XCTUnwrap(card.statistics["level\(l).held_out_mean_error"]), 0.01, "level \(l)")
            XCTAssertLessThan(try XCTUnwrap(card.statistics["level\(l).held_out_spread_error"]), 0.10, "level \(l)")
            XCTAssertGreaterThan(try XCTUnwrap(card.statistics["level\(l).held_out_ks_p"]), 0.01, "level \(l)")
        }
        XCTAssertEqual(card.statistics["ispp_unverified"], 0)
        // The card records the recipe it was measured with, and it is the shipped protocol's.
        let recipe = try XCTUnwrap(try RRAMIncrementalProgramming(recipeOf: card))
        let shipped = try XCTUnwrap(try RRAMProtocol.load(FeLIFCalibrationTests.root.appendingPathComponent("calibration/rram.toml")).incremental)
        XCTAssertEqual(recipe, shipped)
        XCTAssertEqual(Set(try XCTUnwrap(card.provenance.includes).keys), ["models/rram.lib"])
        XCTAssertEqual(card.provenance.changedSources(root: FeLIFCalibrationTests.root), [],
                       "the committed card was made from another version of the circuit: re-run `bruno calibrate rram --out calibration`")
        // The surrogate's read current follows the sinh law through the read point.
        XCTAssertEqual(synapse.current(conductance: 1e-4, voltage: 0.2), 2e-5, accuracy: 1e-15)
    }

    func testProtocolErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-rram-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("r.toml")
        for (text, expected) in [
            ("[simulation]\nnetlist = \"x.cir\"\n[monte_carlo]\ndevices = 1\n", "devices ≥ 2"),
            ("[simulation]\nnetlist = \"x.cir\"\n[variability]\nseed = 2\n", "held_out_seed must differ"),
            ("[simulation]\nnetlist = \"x.cir\"\n[variability]\ncycle_sigma = 0.1\n", "did you mean"),
            ("[simulation]\nnetlist = \"x.cir\"\n[programming]\nmethod = \"verify\"\n", "unknown method 'verify'"),
            ("[simulation]\nnetlist = \"x.cir\"\n[programming]\nmethod = \"ispp\"\nstart_fraction = 1.1\n", "start_fraction must be below 1"),
        ] {
            try text.write(to: url, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try RRAMProtocol.load(url)) { XCTAssertTrue("\($0)".contains(expected), "\($0)") }
        }
    }
}
