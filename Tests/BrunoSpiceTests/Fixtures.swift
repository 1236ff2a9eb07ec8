import BrunoSpice
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest

/// Small circuits with known answers, and helpers shared by the binding tests.
enum Fixtures {
    /// 1 kΩ · 1 µF (τ = 1 ms) charged from 0 V by a 1 V step at t = 0 (`uic`), tight tolerances.
    static let rc = """
    RC step response
    .param rval=1k
    V1 in 0 DC 1
    R1 in out {rval}
    C1 out 0 1u IC=0
    .options reltol=1e-7 abstol=1e-15 vntol=1e-10 method=trap
    .tran 1u 5m 0 1u uic
    .end
    """

    /// Series RLC, underdamped (α = 5000 1/s, ω0 = 31623 rad/s), 1 V step at t = 0.
    static let rlc = """
    RLC step response
    V1 in 0 DC 1
    R1 in a 10
    L1 a b 1m IC=0
    C1 b 0 1u IC=0
    .options reltol=1e-7 abstol=1e-15 vntol=1e-10 method=trap
    .tran 0.5u 1m 0 0.5u uic
    .end
    """

    /// Ideal diode (no series resistance) swept in DC.
    static let diode = """
    Diode DC sweep
    V1 a 0 DC 0
    D1 a 0 dmod
    .model dmod D(IS=1e-14 N=1.5 RS=0)
    .options reltol=1e-9 abstol=1e-18 temp=27 tnom=27
    .dc V1 0 0.7 0.01
    .end
    """

    static func netlist(_ text: String, name: String = "fixture.cir", base: URL? = nil) throws -> Netlist {
        try Netlist(string: text, name: name, baseDirectory: base)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Max |v(out) − (1 − e^(−t/τ))| of an RC result.
    static func rcError(_ result: SimulationResult, tau: Double = 1e-3) throws -> Double {
        let t = try XCTUnwrap(result["time"]).real
        let v = try XCTUnwrap(result["v(out)"]).real
        XCTAssertGreaterThan(t.count, 100)
        return zip(t, v).map { abs($1 - (1 - exp(-$0 / tau))) }.max() ?? .infinity
    }

    /// The private library and code-model copies this process has mapped (distinct files in /proc/self/maps):
    /// a copy that `dlclose` failed to unmap stays here, whatever the allocator does with RSS.
    static func mappedLibraryCopies() -> Int {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return -1 }
        var files = Set<Substring>()
        for line in maps.split(separator: "\n") {
            guard let slash = line.firstIndex(of: "/") else { continue }
            let path = line[slash...]
            if path.contains("/libngspice-") || path.contains(".cm") { files.insert(path) }
        }
        return files.count
    }

    /// Resident set size of this process in bytes (Linux /proc), after returning the allocator's free memory to the system (`malloc_trim`): what earlier
    /// tests in this process freed but glibc kept would otherwise come and go between readings (±14 MB seen).
    static func residentBytes() -> Int {
        // glibc's malloc.h is not in Swift's Glibc module: look the function up (RTLD_DEFAULT is a null handle).
        if let symbol = dlsym(nil, "malloc_trim") {
            _ = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)(0)
        }
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = s.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }
}
