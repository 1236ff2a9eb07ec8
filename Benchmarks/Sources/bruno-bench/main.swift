import Foundation

import BrunoSupport

let which = CommandLine.arguments.dropFirst().first ?? "all"
ProcessMemory.retainFreedPages()
do {
    // Child processes of the training benchmark (one measurement each, so peak RSS is per configuration).
    if which == "felif-step" { try TrainingBench.child(Array(CommandLine.arguments.dropFirst(2))); exit(0) }
    if which == "gemm-blas" { GemmBench.blasChild(Int(CommandLine.arguments[2])!); exit(0) }
    if which == "braille-profile" { try StepProfile.run(CommandLine.arguments[2]); exit(0) }
    if which == "fine-loop" {
        try FineLoopBench.run(Int(CommandLine.arguments[2])!, reps: Int(CommandLine.arguments.dropFirst(3).first ?? "5")!)
        exit(0)
    }
    if which == "uniform-pairs" {
        // The read noise's sequential part: the uniform pairs of one Braille step's 3.3 million normal values.
        let n = 128 * 102 * 256
        var u = [Double](repeating: 0, count: n), v = u, rng = SeededRandom(seed: 1), times: [Double] = []
        for _ in 0..<7 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            rng.gaussianUniforms(count: n, u: &u, v: &v)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
        }
        print(String(format: "%d uniform pairs: %.1f ms (median of 7), %.2f ns per pair", n,
                     times.sorted()[3] * 1e3, times.sorted()[3] * 1e9 / Double(n)))
        exit(0)
    }
    if which == "braille-step" { try TrainingBench.brailleChild(CommandLine.arguments[2]); exit(0) }
    if which == "all" || which == "spice" { try await SpiceBench.run() }
    if which == "all" || which == "devices" { try DeviceBench.run() }
    if which == "all" || which == "training" || which == "gemm" { try GemmBench.run() }
    if which == "all" || which == "training" { try TrainingBench.run() }
    print("\npeak RSS of the benchmark process: \(String(format: "%.0f", Harness.peakRSSMegabytes())) MB")
} catch {
    FileHandle.standardError.write(Data("bruno-bench: \(error)\n".utf8))
    exit(1)
}
