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
