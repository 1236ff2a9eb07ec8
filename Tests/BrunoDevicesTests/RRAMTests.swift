import BrunoDevices
import BrunoSpice
import BrunoSupport
import Foundation
import XCTest

final class RRAMTests: XCTestCase {
    let library = DeviceTestSupport.library

    func testEightLevelsAreDistinctAndOrdered() async throws {
        let pool = try SpicePool(count: 2)
        let programmer = RRAMProgrammer(library: library)
        var results: [RRAMProgramResult] = []
        for level in 0..<8 {
            results.append(try await programmer.program(level: level, device: 0, cycle: 0, variability: .none, on: pool))
        }
        let g = results.map(\.conductance)
        for k in 1..<8 {
            // Ordered, and separated by at least a quarter of the mean step (the table aims at equal steps).
            XCTAssertGreaterThan(g[k] - g[k - 1], 0.25 * (g[7] - g[0]) / 7, "levels \(k - 1) and \(k): \(g)")
        }
        // The programmed gaps are inside the model's range and shrink with the level.
        XCTAssertEqual(results.map(\.gap), results.map(\.gap).sorted(by: >))
        // The shipped level table matches what the netlist programs (within 1 %).
        for (measured, shipped) in zip(g, RRAMLevels.shipped.conductances) {
            XCTAssertEqual(measured, shipped, accuracy: shipped * 0.01)
        }
    }

    func testIVLoopSetsAndResets() throws {
        let spice = try SpiceInstance()
        let result = try spice.simulate(try Netlist(contentsOf: library.netlist("rram_iv.cir")))
        let v = try XCTUnwrap(result["v(bl)"]).real, gap = try XCTUnwrap(result["v(xr.g)"]).real
        let i = try XCTUnwrap(result["i(vbl)"]).real.map { -$0 }
        // SET: the gap collapses on the positive sweep, between 0.8 V and 1.6 V.
        let setIndex = try XCTUnwrap(gap.firstIndex { $0 < 1.2 })
        XCTAssertTrue((0.8...1.6).contains(v[setIndex]), "SET at \(v[setIndex]) V")
        // Compliance: the SET current never exceeds the transistor limit by more than 10 %.
        XCTAssertLessThan(i.max()!, 500e-6 * 1.1)
        // RESET on the negative sweep returns the cell to a large gap.
        XCTAssertGreaterThan(gap.last!, 1.6)
        let resetIndex = try XCTUnwrap(gap.indices.first { $0 > setIndex && gap[$0] > 1.2 })
        XCTAssertLessThan(v[resetIndex], -0.8)
    }

    func testVariabilityOffIsExactlyRepeatable() throws {
        let spice = try SpiceInstance()
        let programmer = RRAMProgrammer(library: library)
        let v = RRAMVariability.none
        let a = try programmer.program(level: 4, device: v.device(0), cycle: v.cycle(device: 0, cycle: 0), on: spice)
        let b = try programmer.program(level: 4, device: v.device(3), cycle: v.cycle(device: 3, cycle: 9), on: spice)
        XCTAssertEqual(a, b)
    }

    func testDeviceToDeviceVariabilityChangesDevicesNotCycles() throws {
        let spice = try SpiceInstance()
        let programmer = RRAMProgrammer(library: library)
        let v = RRAMVariability(deviceSigma: 0.03, deviceGammaSigma: 0.01, seed: 5)
        let dev0 = try (0..<2).map { c in try programmer.program(level: 4, device: v.device(0), cycle: v.cycle(device: 0, cycle: c), on: spice) }
        let dev1 = try programmer.program(level: 4, device: v.device(1), cycle: v.cycle(device: 1, cycle: 0), on: spice)
        XCTAssertEqual(dev0[0], dev0[1], "without cycle-to-cycle variability a device programs the same way every time")
        XCTAssertNotEqual(dev0[0].conductance, dev1.conductance)
        XCTAssertEqual(v.cycle(device: 0, cycle: 1), .nominal)
    }

    func testCycleToCycleVariabilityChangesCyclesAndIsSeeded() throws {
        let spice = try SpiceInstance()
        let programmer = RRAMProgrammer(library: library)
        let v = RRAMVariability(cycleNuSigma: 0.5, cycleGammaSigma: 0.02, seed: 9)
        XCTAssertEqual(v.device(0), .nominal)
        let g = try (0..<3).map { c in try programmer.program(level: 3, device: v.device(0), cycle: v.cycle(device: 0, cycle: c), on: spice).conductance }
        XCTAssertEqual(Set(g).count, 3, "each cycle programs a different conductance: \(g)")
        // Same seed, same numbers; another seed, other numbers.
        let again = try programmer.program(level: 3, device: v.device(0), cycle: v.cycle(device: 0, cycle: 1), on: spice).conductance
        XCTAssertEqual(again, g[1])
        var other = v
        other.seed = 10
        XCTAssertNotEqual(other.cycle(device: 0, cycle: 1), v.cycle(device: 0, cycle: 1))
        // Draws do not depend on the order of programming.
        XCTAssertEqual(v.cycle(device: 7, cycle: 2), RRAMVariability(cycleNuSigma: 0.5, cycleGammaSigma: 0.02, seed: 9).cycle(device: 7, cycle: 2))
    }

    func testReadModelInvertsConductance() {
        let m = RRAMReadModel()
        for g in RRAMLevels.shipped.conductances {
            let gap = m.gap(forConductance: g, at: 0.2)
            XCTAssertEqual(m.current(voltage: 0.2, gap: gap) / 0.2, g, accuracy: g * 1e-12)
        }
    }
}
