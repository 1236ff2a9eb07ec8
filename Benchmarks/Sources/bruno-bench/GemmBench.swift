import BrunoSupport
import BrunoTraining
import COpenBLAS
import Foundation

/// Bruno's products (register-blocked SIMD kernel; row-sparse accumulation for spike inputs) against Debian's
/// OpenBLAS at the shapes of the Braille network's training step. OpenBLAS runs in child processes so that
/// `OPENBLAS_CORETYPE` can be set before it starts (setting it inside the process is too late).
enum GemmBench {
    struct Shape { var name: String; var m: Int; var k: Int; var n: Int; var density: Double }
    static let shapes = [
        Shape(name: "encoder spikes · W₁ (T·B=6528, 128→256)", m: 6528, k: 128, n: 256, density: 0.18),
        Shape(name: "hidden spikes · W₂ (6528, 256→27)", m: 6528, k: 256, n: 27, density: 0.27),
        Shape(name: "reference shape 128×700·700×256 (dense)", m: 128, k: 700, n: 256, density: 1),
    ]

    static func matrices(_ s: Shape) -> (Matrix, Matrix) {
        var rng = SeededRandom(seed: 1)
        var a = Matrix(rows: s.m, cols: s.k), b = Matrix(rows: s.k, cols: s.n)
        for i in a.values.indices { a.values[i] = rng.uniform() < s.density ? 1 : 0 }
        if s.density >= 1 { for i in a.values.indices { a.values[i] = Float(rng.gaussian()) } }
        for i in b.values.indices { b.values[i] = Float(rng.gaussian()) }
        return (a, b)
    }

    static func gflops(_ s: Shape, _ seconds: Double) -> String { String(format: "%.1f", 2 * Double(s.m * s.k * s.n) / seconds / 1e9) }

    /// `bruno-bench gemm-blas INDEX`: one OpenBLAS measurement (seconds), run with the environment of the parent's choice.
    static func blasChild(_ index: Int) {
        let s = shapes[index]
        let (a, b) = matrices(s)
        var c = [Float](repeating: 0, count: s.m * s.n)
        let t = Harness.measure(warmup: 2, repeats: 9) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(s.m), Int32(s.n), Int32(s.k), 1, a.values, Int32(s.k), b.values, Int32(s.n), 0, &c, Int32(s.n))
        }
        print(t.median)
    }

    static func run() throws {
        print("\n## Matrix products: Bruno's kernels vs Debian OpenBLAS (GFLOP/s counted as dense 2·m·k·n; median of 9)\n")
        print("| shape | spike density | Bruno dense, \(Parallel.workers) threads | Bruno sparse rows | OpenBLAS default | OpenBLAS, OPENBLAS_CORETYPE=SkylakeX |")
        print("|---|---|---|---|---|---|")
        for (i, s) in shapes.enumerated() {
            let (a, b) = matrices(s)
            let dense = Harness.measure(warmup: 2, repeats: 9) { _ = MatrixProduct.multiply(a, b, sparse: false) }
            let sparse = Harness.measure(warmup: 2, repeats: 9) { _ = MatrixProduct.multiply(a, b, sparse: true) }
            func blas(_ env: [String: String]) throws -> Double {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
                p.arguments = ["gemm-blas", "\(i)"]
                p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
                let pipe = Pipe()
                p.standardOutput = pipe
                try p.run()
                p.waitUntilExit()
                return Double(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? .nan
            }
            let threads = ["OPENBLAS_NUM_THREADS": "\(Parallel.workers)"]
            let b0 = try blas(threads), b1 = try blas(threads.merging(["OPENBLAS_CORETYPE": "SkylakeX"]) { $1 })
            print("| \(s.name) | \(s.density < 1 ? String(format: "%.0f %%", s.density * 100) : "dense") | \(gflops(s, dense.median)) | \(gflops(s, sparse.median)) | \(gflops(s, b0)) | \(gflops(s, b1)) |")
        }
    }
}
