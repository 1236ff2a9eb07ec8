import Foundation

let which = CommandLine.arguments.dropFirst().first ?? "all"
do {
    if which == "all" || which == "spice" { try await SpiceBench.run() }
    if which == "all" || which == "devices" { try DeviceBench.run() }
    print("\npeak RSS of the benchmark process: \(String(format: "%.0f", Harness.peakRSSMegabytes())) MB")
} catch {
    FileHandle.standardError.write(Data("bruno-bench: \(error)\n".utf8))
    exit(1)
}
