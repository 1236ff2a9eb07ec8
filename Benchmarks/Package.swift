// swift-tools-version: 6.0
// Benchmarks live in their own package so that CI's `swift test` does not build them.
// Run: bash Benchmarks/run.sh   (or: cd Benchmarks && swift run -c release bruno-bench all)
import PackageDescription

let package = Package(
    name: "BrunoBenchmarks",
    dependencies: [.package(name: "Bruno", path: "..")],
    targets: [
        // OpenBLAS from Debian (`apt-get install libopenblas-dev`), to measure the products against.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        .executableTarget(
            name: "bruno-bench",
            dependencies: [
                .product(name: "BrunoSpice", package: "Bruno"),
                .product(name: "BrunoSupport", package: "Bruno"),
                .product(name: "BrunoDevices", package: "Bruno"),
                .product(name: "BrunoSurrogates", package: "Bruno"),
                .product(name: "BrunoTraining", package: "Bruno"),
                "COpenBLAS",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
