// swift-tools-version: 6.0
// Bruno: train spiking networks against the circuits they will run on (ngspice + BRUNO training).
import PackageDescription

let package = Package(
    name: "Bruno",
    products: [
        .library(name: "BrunoSpice", targets: ["BrunoSpice"]),
        .library(name: "BrunoSupport", targets: ["BrunoSupport"]),
        .library(name: "BrunoDevices", targets: ["BrunoDevices"]),
        .library(name: "BrunoSurrogates", targets: ["BrunoSurrogates"]),
        .library(name: "BrunoData", targets: ["BrunoData"]),
        .library(name: "BrunoScaleOut", targets: ["BrunoScaleOut"]),
        .library(name: "BrunoCards", targets: ["BrunoCards"]),
        .library(name: "BrunoCalibration", targets: ["BrunoCalibration"]),
        .library(name: "BrunoTraining", targets: ["BrunoTraining"]),
        .library(name: "BrunoValidation", targets: ["BrunoValidation"]),
        .library(name: "BrunoEnergy", targets: ["BrunoEnergy"]),
        .library(name: "BrunoExport", targets: ["BrunoExport"]),
        .library(name: "BrunoSweep", targets: ["BrunoSweep"]),
        .executable(name: "bruno", targets: ["BrunoCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // Types of ngspice's `sharedspice.h` (behind a shim that includes <stdbool.h>). Not linked:
        // BrunoSpice dlopens private copies of libngspice so that instances can be reloaded and run in parallel.
        .target(name: "CNgspice"),
        // Heap scopes for the private library copies: what a copy allocates is freed when it is unloaded.
        .target(name: "CSpiceHeap"),
        // In-process ngspice: library loading, instances, netlist handling, typed errors, results.
        .target(
            name: "BrunoSpice",
            dependencies: ["CNgspice", "CSpiceHeap", "BrunoSupport", .product(name: "Numerics", package: "swift-numerics")]
        ),
        // Shared plumbing: atomic file writes, CSV/JSON/SVG output, seeded random numbers.
        .target(name: "BrunoSupport"),
        // Device models: presets, netlist generators and drivers for the FeLIF neuron and the RRAM cell.
        .target(name: "BrunoDevices", dependencies: ["BrunoSpice", "BrunoSupport", "BrunoSurrogates"]),
        // Fast surrogate models of the devices (the reference FeLIF equations, BRUNO and BPTT steps with
        // hand-written adjoints): what calibration fits and training differentiates.
        .target(name: "BrunoSurrogates", dependencies: ["BrunoSupport"]),
        // Sharded work: manifests, shard records, deterministic merge, and the engines that run shards
        // (worker processes on this machine, or a Slurm job array with a dependent merge job).
        .target(name: "BrunoScaleOut", dependencies: ["BrunoSupport"]),
        // Calibration: bounded Levenberg–Marquardt with multi-start and fit statistics; device fits.
        // Device cards: what a calibration writes and everything downstream reads; no simulator needed to read one.
        .target(name: "BrunoCards", dependencies: ["BrunoSupport", "BrunoSurrogates", .product(name: "TOMLKit", package: "TOMLKit")]),

        .target(name: "BrunoCalibration", dependencies: [
            "BrunoSupport", "BrunoSurrogates", "BrunoCards", "BrunoSpice", "BrunoDevices", "BrunoScaleOut", .product(name: "TOMLKit", package: "TOMLKit"),
        ]),
        // Training data: JSB chorales, UEA/UCR .ts time series, the synthetic tactile Braille generator.
        .target(name: "BrunoData", dependencies: ["BrunoSupport"]),
        // The FeLIF fine forward in Float32 on 64-lane blocks, one source compiled twice: for AVX2 + FMA and for
        // AVX-512 (the second directory holds a symbolic link to the first's file); BrunoTraining picks one at run
        // time from the CPU's flags (`FineLoopKernel`).
        .target(name: "BrunoFineLoop",
                swiftSettings: [.unsafeFlags(["-Xcc", "-march=x86-64-v3"], .when(platforms: [.linux]))]),
        .target(name: "BrunoFineLoopAVX512",
                swiftSettings: [.unsafeFlags(["-Xcc", "-march=x86-64-v4", "-Xcc", "-mprefer-vector-width=512"], .when(platforms: [.linux]))]),
        // Training engine: batched layers (Linear, RRAM-quantized Linear, LIF, FeLIF with BRUNO/BPTT), losses,
        // optimisers, configs, checkpoints. Compiled for AVX2 + FMA: without a CPU target, SIMD fused
        // multiply-adds become per-lane library calls (see docs/training.md).
        .target(
            name: "BrunoTraining",
            dependencies: ["BrunoSupport", "BrunoSurrogates", "BrunoData", "BrunoCards",
                           "BrunoFineLoop", "BrunoFineLoopAVX512", .product(name: "TOMLKit", package: "TOMLKit")],
            swiftSettings: [.unsafeFlags(["-Xcc", "-march=x86-64-v3"], .when(platforms: [.linux]))]
        ),
        // SPICE-in-the-loop validation: a trained layer's columns as netlists, simulated and compared.
        .target(name: "BrunoValidation", dependencies: ["BrunoTraining", "BrunoSpice", "BrunoDevices", "BrunoSupport", "BrunoData", "BrunoCalibration", "BrunoCards",
                                                        "BrunoScaleOut"]),
        // Energy from SPICE: per spike and at rest (neuron), per read and programming (synapse), per inference of a
        // trained run from its event counts, checked against whole-column SPICE sums.
        .target(name: "BrunoEnergy", dependencies: ["BrunoValidation", "BrunoTraining", "BrunoCalibration", "BrunoCards", "BrunoDevices", "BrunoSpice",
                                                    "BrunoSupport", "BrunoSurrogates"]),
        // Export of a trained run: cards, SPICE parameter blocks, synapse table, the trained layer as a netlist;
        // and the one-command pipeline (calibrate → train with SPICE checks → export → report).
        .target(name: "BrunoExport", dependencies: ["BrunoEnergy", "BrunoValidation", "BrunoTraining", "BrunoCalibration", "BrunoCards", "BrunoDevices", "BrunoSpice",
                                                    "BrunoSupport", "BrunoSurrogates"]),
        // Sweeps: seeds and grids over any --set key, and Optuna TPE studies through the `optuna` command line.
        .target(name: "BrunoSweep", dependencies: ["BrunoTraining", "BrunoScaleOut", "BrunoSupport"]),
        // SIGINT/SIGTERM handled on one thread of the `bruno` executable (linked into it only).
        .target(name: "CSignals"),
        // The `bruno` command line: thin over the libraries.
        .executableTarget(
            name: "BrunoCLI",
            dependencies: [
                "BrunoSpice", "BrunoSupport", "BrunoDevices", "BrunoCalibration", "BrunoCards", "BrunoTraining", "BrunoData", "BrunoValidation", "BrunoExport",
                "BrunoEnergy", "BrunoScaleOut", "BrunoSweep", "CSignals", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "BrunoSpiceTests", dependencies: ["BrunoSpice", "BrunoSupport"]),
        .testTarget(name: "BrunoSupportTests", dependencies: ["BrunoSupport"]),
        .testTarget(name: "BrunoDevicesTests", dependencies: ["BrunoDevices", "BrunoSpice", "BrunoSupport"]),
        .testTarget(name: "BrunoSurrogatesTests", dependencies: ["BrunoSurrogates"]),
        .testTarget(name: "BrunoDataTests", dependencies: ["BrunoData", "BrunoSupport"]),
        .testTarget(name: "BrunoCardsTests", dependencies: ["BrunoCards", "BrunoSurrogates"]),
        .testTarget(name: "BrunoCalibrationTests", dependencies: ["BrunoCalibration", "BrunoCards", "BrunoSupport", "BrunoSurrogates", "BrunoSpice", "BrunoDevices"]),
        .testTarget(name: "BrunoTrainingTests", dependencies: ["BrunoTraining", "BrunoFineLoop", "BrunoFineLoopAVX512", "BrunoSurrogates", "BrunoSupport", "BrunoData", "BrunoCards"]),
        .testTarget(name: "BrunoEnergyTests", dependencies: ["BrunoEnergy", "BrunoValidation", "BrunoTraining", "BrunoSpice", "BrunoDevices",
                                                         "BrunoSupport", "BrunoCalibration", "BrunoCards"]),
        .testTarget(name: "BrunoValidationTests", dependencies: ["BrunoValidation", "BrunoTraining", "BrunoSpice", "BrunoDevices", "BrunoSupport", "BrunoSurrogates", "BrunoCalibration", "BrunoCards"]),
        .testTarget(name: "BrunoExportTests", dependencies: ["BrunoExport", "BrunoValidation", "BrunoTraining", "BrunoSpice", "BrunoDevices", "BrunoSupport", "BrunoCalibration", "BrunoCards", "BrunoSurrogates"]),
        .testTarget(name: "BrunoCLITests", dependencies: ["BrunoCLI"]),
        .testTarget(name: "BrunoScaleOutTests", dependencies: ["BrunoScaleOut", "BrunoSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
