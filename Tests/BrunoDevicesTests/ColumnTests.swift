import BrunoDevices
import BrunoSpice
import BrunoSupport
import Foundation
import XCTest

final class ColumnTests: XCTestCase {
    let library = DeviceTestSupport.library

    /// With inputs held on, the column is a constant current gain·Σ(G⁺ − G⁻)·V_read: its first spike must match a
    /// single neuron driven by that current.
    func testSynapticCurrentsSumIntoTheNeuron() throws {
        let spice = try SpiceInstance()
        let levels = RRAMLevels.shipped.conductances
        let synapses = [
            FeLIFColumn.Synapse(plus: levels[7], minus: levels[0]),
            FeLIFColumn.Synapse(plus: levels[5], minus: levels[0]),
            FeLIFColumn.Synapse(plus: levels[0], minus: levels[3]),
        ]
        var column = FeLIFColumn(synapses: synapses, inputSpikes: [[0], [0], [0]], duration: 40e-3)
        column.pulseWidth = 50e-3
        let trace = try NeuronTrace(try spice.simulate(column.netlist(library: library)))
        let net = synapses.map { $0.plus - $0.minus }.reduce(0, +) * column.readVoltage * column.currentGain
        let reference = try FeLIFNeuronBench(input: .constant(net), duration: 40e-3).run(on: spice, library: library)
        let t = try XCTUnwrap(trace.firstSpike), r = try XCTUnwrap(reference.firstSpike)
        XCTAssertEqual(t, r, accuracy: r * 0.01, "column \(t) s vs equivalent current \(net) A: \(r) s")
    }

    /// A read cell written as two antiparallel junctions conducts what the behavioural `rram_read` cell does (DC
    /// sweep over ±0.4 V, device factors varied), and a column built either way fires at the same times.
    func testJunctionCellsConductLikeTheBehaviouralCellAndColumnsSpikeAlike() throws {
        let spice = try SpiceInstance()
        let model = RRAMReadModel()
        for (g, device) in [(5e-6, RRAMDeviceFactors.nominal), (250e-6, RRAMDeviceFactors(i0: 1.04, g0: 0.97, gamma: 1))] {
            let behavioural = FeLIFColumn.readCell(name: "XB", input: "a", line: "0", conductance: g, device: device, model: model, readVoltage: 0.2)
            let junctions = FeLIFColumn.junctionCell(name: "J", input: "b", line: "0", conductance: g, device: device, model: model, readVoltage: 0.2)
            let deck = try Netlist(string: """
            read cell two ways
            .include "\(library.model("rram.lib").path)"
            .model rram_junction D(IS=\(FeLIFColumn.junctionSaturationCurrent) N=\(model.v0 / FeLIFColumn.ngspiceThermalVoltage) RS=0 CJO=0 TT=0 BV=1e30)
            .options temp=27 tnom=27
            Va a 0 DC 0
            Vb b 0 DC 0
            \(behavioural)
            \(junctions.joined(separator: "\n"))
            .dc Va -0.4 0.4 0.02 Vb -0.4 0.4 0.02
            .end
            """, name: "cells.cir")
            let r = try spice.simulate(deck)
            let ia = try XCTUnwrap(r["i(va)"]?.real), ib = try XCTUnwrap(r["i(vb)"]?.real)
            let va = try XCTUnwrap(r.mainPlot?.scale?.real)
            // The nested sweep runs Va fastest: compare the points where Va = Vb.
            let n = Int((0.8 / 0.02).rounded()) + 1
            for k in 0..<n where k != n / 2 {
                let idx = k * n + k
                XCTAssertEqual(ib[idx], ia[idx], accuracy: abs(ia[idx]) * 2e-6, "G = \(g) S at V = \(va[idx]) V")
            }
            let atRead = model.current(voltage: 0.2, gap: model.gap(forConductance: g, at: 0.2, device: device), device: device)
            let read = 30 * (n + 1)  // Va = Vb = −0.4 + 30 · 0.02 = 0.2 V
            XCTAssertEqual(-ib[read], atRead, accuracy: atRead * 1e-5)
        }
        var column = FeLIFColumn.example(count: 24, duration: 40e-3, rate: 300, seed: 3)
        column.currentGain = 4e-5
        column.pulseWidth = 0.9e-3
        column.cellForm = .behavioural
        let reference = try NeuronTrace(try spice.simulate(column.netlist(library: library))).spikeTimes
        column.cellForm = .junctions
        let fast = try NeuronTrace(try spice.simulate(column.netlist(library: library))).spikeTimes
        XCTAssertGreaterThan(reference.count, 2, "the example column must fire for the comparison to mean something")
        XCTAssertEqual(fast.count, reference.count)
        for (a, b) in zip(fast, reference) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testNoWeightNoSpikeAndInhibitionDelays() throws {
        let spice = try SpiceInstance()
        let levels = RRAMLevels.shipped.conductances
        let spikes = (0..<60).map { Double($0) * 0.5e-3 }
        var silent = FeLIFColumn(synapses: [.init(plus: levels[0], minus: levels[0])], inputSpikes: [spikes], duration: 30e-3)
        silent.pulseWidth = 0.4e-3
        silent.currentGain = 1e-4
        XCTAssertEqual(try NeuronTrace(try spice.simulate(silent.netlist(library: library))).spikeTimes, [])

        var excite = FeLIFColumn(synapses: [.init(plus: levels[7], minus: levels[0]), .init(plus: levels[0], minus: levels[0])], inputSpikes: [spikes, spikes], duration: 30e-3)
        excite.pulseWidth = 0.4e-3
        excite.currentGain = 1e-4
        let first = try XCTUnwrap(NeuronTrace(try spice.simulate(excite.netlist(library: library))).firstSpike)
        excite.synapses[1] = .init(plus: levels[0], minus: levels[2])
        let inhibited = try NeuronTrace(try spice.simulate(excite.netlist(library: library))).firstSpike ?? .infinity
        XCTAssertGreaterThan(inhibited, first)
    }

    func testShapeErrorsAreClear() {
        let c = FeLIFColumn(synapses: [.init(plus: 1e-5, minus: 0)], inputSpikes: [], duration: 1e-3)
        XCTAssertThrowsError(try c.netlist(library: library)) { error in
            XCTAssertTrue("\(error)".contains("1 synapses, 0 inputs"), "\(error)")
        }
    }

    func testShippedColumnNetlistRuns() throws {
        let spice = try SpiceInstance()
        // Generated by `bruno column --synapses 8 --rate 1000 --duration 50m --seed 1 --gain 5e-5`.
        let trace = try NeuronTrace(try spice.simulate(try Netlist(contentsOf: library.netlist("felif_column.cir"))))
        XCTAssertEqual(trace.spikeTimes.count, 3)
    }
}
