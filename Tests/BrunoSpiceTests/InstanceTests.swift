import BrunoSpice
import Foundation
import XCTest

/// Instance lifetime, memory over many runs, parallel instances.
final class InstanceTests: XCTestCase {
    func testFiveHundredCyclesKeepMemoryBounded() throws {
        let spice = try SpiceInstance()
        let netlist = try Fixtures.netlist(Fixtures.rc)
        // Warm up allocator pools and ngspice's first-use allocations before measuring.
        for _ in 0..<20 { _ = try spice.simulate(netlist) }
        let before = Fixtures.residentBytes()
        var last: SimulationResult?
        for _ in 0..<500 {
            let result = try spice.simulate(netlist)
            XCTAssertEqual(result["v(out)"]?.count, result["time"]?.count)
            last = result
        }
        let growth = Fixtures.residentBytes() - before
        XCTAssertLessThan(growth, 20 << 20, "RSS grew by \(growth >> 20) MB over 500 load/run/read cycles")
        XCTAssertLessThan(try Fixtures.rcError(try XCTUnwrap(last)), 1e-4)
    }

    func testRecoveriesFromFatalErrorsKeepMemoryBounded() throws {
        // An undefined parameter makes ngspice call ControlledExit; each recovery loads a fresh library copy.
        let cycles = Int(ProcessInfo.processInfo.environment["BRUNO_RECOVERY_CYCLES"] ?? "") ?? 1000
        let spice = try SpiceInstance()
        let fatal = try Fixtures.netlist("fatal\nV1 in 0 DC 1\nR1 in 0 {undefinedparameter}\n.op\n.end\n")
        let rc = try Fixtures.netlist(Fixtures.rc)
        func recover() {
            XCTAssertThrowsError(try spice.simulate(fatal)) { error in
                guard case .undefinedParameter? = error as? SpiceError else { return XCTFail("\(error)") }
            }
        }
        for _ in 0..<20 { recover() }
        _ = try spice.simulate(rc)
        let generation = spice.generation, copies = Fixtures.mappedLibraryCopies()
        XCTAssertGreaterThan(copies, 0, "the loaded copy is seen in /proc/self/maps")
        // RSS after each tenth of the recoveries, always in the same state (a working copy loaded after a good run).
        var readings = [Fixtures.residentBytes()]
        for w in 0..<10 {
            for _ in (cycles * w / 10)..<(cycles * (w + 1) / 10) { recover() }
            XCTAssertLessThan(try Fixtures.rcError(try spice.simulate(rc)), 1e-4, "the instance works after the recoveries")
            readings.append(Fixtures.residentBytes())
        }
        XCTAssertEqual(spice.generation - generation, cycles, "every failure reloaded the library")
        // Issue #14's leaks were copies never unloaded (code models never closed: 530 kB per recovery) and the heap
        // of each dead copy (113 kB; CSpiceHeap's scope now frees it on unload). Exact check of the first: no copy
        // stays mapped. RSS is a backstop: in this shared test process it swings by ±15–44 MB between readings as
        // the allocator returns and retakes memory (seen in the full suite and in CI after hundreds of earlier
        // tests; 36 kB over 1000 recoveries when the test runs alone), so it cannot resolve 5 kB per recovery here,
        // but the old leaks (113 MB, 530 MB per 1000) stand far above the bound.
        // Once in a full local suite (2026-12-03) one extra copy was still mapped at this point (2 against 1; cause
        // not found — a copy being unmapped while the maps are read is one candidate): wait briefly for it, then
        // require the exact count. The leaks this guards against left one copy per recovery (1000 here).
        var after = Fixtures.mappedLibraryCopies()
        for _ in 0..<20 where after != copies {
            Thread.sleep(forTimeInterval: 0.1)
            after = Fixtures.mappedLibraryCopies()
        }
        XCTAssertEqual(after, copies, "library or code-model copies left mapped after \(cycles) recoveries")
        let growth = readings.last! - readings.first!
        let steps = zip(readings.dropFirst(), readings).map { ($0 - $1) >> 10 }
        XCTAssertLessThan(growth, max(cycles, 200) * 60 << 10, "RSS grew by \(growth >> 10) kB over \(cycles) recoveries (per tenth: \(steps) kB)")
        print("RSS growth over \(cycles) recoveries: \(growth >> 10) kB; per tenth \(steps) kB; \(copies) mapped copies before and after")
    }

    func testTwoInstancesInParallelMatchSequentialRuns() async throws {
        let pool = try SpicePool(count: 2)
        let rc = try Fixtures.netlist(Fixtures.rc)
        let rlc = try Fixtures.netlist(Fixtures.rlc)
        let first = try await pool.instances[0].simulate(rc)
        let second = try await pool.instances[0].simulate(rlc)
        let sequential = [first, second]
        // Start both at once on different instances, several times over.
        for _ in 0..<5 {
            async let a = pool.instances[0].simulate(rc)
            async let b = pool.instances[1].simulate(rlc)
            let (ra, rb) = try await (a, b)
            XCTAssertEqual(ra.plots, sequential[0].plots)
            XCTAssertEqual(rb.plots, sequential[1].plots)
        }
    }

    func testPoolRunsManyJobsAndReportsFailuresInPlace() async throws {
        let pool = try SpicePool(count: 2)
        let good = try Fixtures.netlist(Fixtures.rc)
        let bad = try Fixtures.netlist("u\nR1 a 0 {nope}\nV1 a 0 1\n.op\n.end")
        var jobs: [(Netlist, Analysis)] = Array(repeating: (good, .netlist), count: 9)
        jobs.insert((bad, .netlist), at: 4)
        let results = await pool.simulateAll(jobs)
        XCTAssertEqual(results.count, 10)
        for (i, r) in results.enumerated() {
            switch r {
            case .success(let result):
                XCTAssertNotEqual(i, 4)
                XCTAssertLessThan(try Fixtures.rcError(result), 1e-4)
            case .failure(let e):
                XCTAssertEqual(i, 4)
                guard case .undefinedParameter = e else { return XCTFail("got \(e)") }
            }
        }
    }

    func testInstanceIsUsableFromManyThreads() throws {
        let spice = try SpiceInstance()
        let netlist = try Fixtures.netlist(Fixtures.rc)
        let errors = ErrorBox()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                let r = try spice.simulate(netlist)
                if try Fixtures.rcError(r) >= 1e-4 { errors.add("wrong result") }
            } catch { errors.add("\(error)") }
        }
        XCTAssertEqual(errors.all, [])
    }

    func testVersionAndRawCommand() throws {
        let spice = try SpiceInstance()
        XCTAssertTrue(try spice.version().lowercased().contains("ngspice"))
    }
}

final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.withLock { items.append(s) } }
    var all: [String] { lock.withLock { items } }
}
