import BrunoSpice
import Foundation

/// Issue 2: per-run overhead in process vs a separate `ngspice -b`, and 1 vs 2 instances.
enum SpiceBench {
    /// 1 ms RC transient with ≈ 1000 points: small enough that overhead, not solving, dominates.
    static let rc = """
    RC overhead benchmark
    V1 in 0 PULSE(0 1 0.1m 1n 1n 1 2)
    R1 in out 1k
    C1 out 0 100n
    .tran 1u 1m 0 1u
    .end
    """

    static func run() async throws {
        try overhead()
        try await throughput()
    }

    static func overhead() throws {
        let deck = try Netlist(string: rc, name: "rc-bench.cir")
        let spice = try SpiceInstance()
        let points = try spice.simulate(deck)["time"]!.count
        let inProcess = try Harness.measure(repeats: 200) { _ = try spice.simulate(deck) }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-bench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("rc.cir"), raw = dir.appendingPathComponent("rc.raw")
        try rc.write(to: file, atomically: true, encoding: .utf8)
        let cli = try Harness.measure(repeats: 40) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/ngspice")
            p.arguments = ["-b", "-r", raw.path, file.path]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            // Read the result back, as a caller of the CLI must.
            _ = try Data(contentsOf: raw)
        }
        print("\n### ngspice per-run overhead (1 ms RC transient, \(points) points; load + run + read back)\n")
        print("| method | median ms per run | IQR ms | ratio |")
        print("|---|---|---|---|")
        print("| in-process `SpiceInstance` | \(Harness.ms(inProcess.median)) | \(Harness.ms(inProcess.q1))–\(Harness.ms(inProcess.q3)) | 1.00 |")
        print("| separate `ngspice -b -r raw` process | \(Harness.ms(cli.median)) | \(Harness.ms(cli.q1))–\(Harness.ms(cli.q3)) | \(String(format: "%.2f", cli.median / inProcess.median)) |")

    }

    static func throughput() async throws {
        // Throughput: a heavier deck (10 ms, 10 µs max step, a nonlinear B-source) so solving dominates.
        let heavy = try Netlist(string: """
        throughput
        V1 in 0 SIN(0 1 1k)
        R1 in out 1k
        C1 out 0 100n
        B1 out 0 I=1e-6*tanh(5*v(out))
        .tran 1u 10m 0 1u
        .end
        """, name: "heavy.cir")
        let jobs = Array(repeating: (heavy, Analysis.netlist), count: 40)
        print("\n### Throughput with 1 vs 2 instances (40 independent 10 ms transients, \(ProcessInfo.processInfo.activeProcessorCount) cores)\n")
        print("| instances | wall s | runs/s | speed-up |")
        print("|---|---|---|---|")
        var base = 0.0
        for n in [1, 2] {
            let pool = try SpicePool(count: n)
            _ = await pool.simulateAll(Array(jobs.prefix(n * 2)))
            var best = Double.infinity
            for _ in 0..<3 {
                let t0 = Harness.now()
                let results = await pool.simulateAll(jobs)
                precondition(results.allSatisfy { if case .success = $0 { true } else { false } })
                best = min(best, Harness.now() - t0)
            }
            if n == 1 { base = best }
            print("| \(n) | \(String(format: "%.2f", best)) | \(String(format: "%.1f", Double(jobs.count) / best)) | \(String(format: "%.2f", base / best)) |")
        }
    }
}
