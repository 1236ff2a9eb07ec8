import BrunoFineLoop
import BrunoFineLoopAVX512
import BrunoSupport
import BrunoSurrogates
import Foundation
import XCTest
@testable import BrunoTraining

/// The Float32 fine loop (`[felif] precision = "float32"`): its exp/log error bounds, the AVX2 and AVX-512 builds
/// bit-identical, and the trajectory — spike trains and threshold-crossing sub-steps — equal to the Double kernel.
final class FineLoopTests: XCTestCase {
    /// The builds this CPU can run (AVX-512 only where /proc/cpuinfo lists it).
    private var kernels: [FineLoopKernel] { FineLoopKernel.cpuHasAVX512 ? [.avx2, .avx512] : [.avx2] }

    func testFloatExpAndLogStayWithinTheirErrorBounds() {
        let builds: [(String, (Float) -> Float, (Float) -> Float)] = [
            ("avx2", BrunoFineLoop.FeLIFFloatBlock.exp, BrunoFineLoop.FeLIFFloatBlock.log),
        ] + (FineLoopKernel.cpuHasAVX512
            ? [("avx512", BrunoFineLoopAVX512.FeLIFFloatBlock.exp, BrunoFineLoopAVX512.FeLIFFloatBlock.log)] : [])
        var rng = SeededRandom(seed: 8)
        for (name, exp, log) in builds {
            var worstExp = 0.0, worstLog = 0.0
            for _ in 0..<20_000 {
                // The neuron's ranges: exponents −87…88 (switching law, leak), logarithms of fields 1e-6…1e12 V/m.
                let x = Float(-87 + 175 * rng.uniform())
                let exact = Foundation.exp(Double(x))
                worstExp = max(worstExp, abs(Double(exp(x)) - exact) / exact)
                let y = Float(Foundation.exp(-14 + 42 * rng.uniform()))
                let ln = Foundation.log(Double(y))
                worstLog = max(worstLog, abs(Double(log(y)) - ln) / max(1, abs(ln)))
            }
            // Cephes's bounds: ≈ 1 ulp (exp), a few ulp of max(1, |ln x|) (log).
            XCTAssertLessThan(worstExp, 2.5e-7, name)
            XCTAssertLessThan(worstLog, 2.5e-7, name)
            XCTAssertEqual(exp(0), 1, name)
            XCTAssertEqual(exp(-100), 0, name)
            XCTAssertEqual(log(1), 0, name)
        }
    }

    /// 70 lanes (a full block and a partial one) of devices with 5 % device-to-device spread.
    private func layer(k: Int, mode: FeLIFMode = .bruno, exponential: Bool = false) -> FeLIFLayer {
        var rng = SeededRandom(seed: 5)
        var layer = FeLIFLayer(neurons: 35, surrogate: .reference, variation: 0.05, rng: &rng,
                               stepping: FeLIFStepping(coarseStep: 1e-3, fineSteps: k, mode: mode), inputScale: 1e-9)
        layer.exponentialIntegrator = exponential
        return layer
    }

    /// Currents 0.5–4 nA, a new value every step (KernelTests' currents).
    private func currents(steps: Int, lanes: Int) -> [Float] {
        var rng = SeededRandom(seed: 9)
        return (0..<(steps * lanes)).map { _ in Float(0.5 + 3.5 * rng.uniform()) }
    }

    func testVectorBoxMullerMatchesTheCLibraryToAFewUlpsOnBothBuilds() {
        // Uniform pairs as gaussianUniforms draws them, plus the ends of both ranges and the quarter turns.
        var rng = SeededRandom(seed: 8)
        var u = [Double](repeating: 0, count: 200_000), v = u
        rng.gaussianUniforms(count: u.count, u: &u, v: &v)
        let ends: [(Double, Double)] = [(0x1p-53, 0), (1 - 0x1p-53, 0.25), (0.5, 0.5), (0x1.6a09e667f3bcdp-1, 0.75),
                                        (0x1.6a09e667f3bcep0 / 2, 1 - 0x1p-53), (0.3, 0.125), (1e-300, 0.375)]
        for (a, b) in ends { u.append(a); v.append(b) }
        var scalarCos = [Double](repeating: 0, count: u.count), vector = scalarCos
        BrunoFineLoop.GaussianBlock.fill(&vector, u: u, v: v, count: u.count)
        var worst = 0.0
        for i in 0..<u.count {
            let radius = (-2 * Foundation.log(u[i])).squareRoot()
            scalarCos[i] = radius * Foundation.cos(2 * Double.pi * v[i])
            // Error relative to the radius (cos near a zero has no relative accuracy to keep, in either).
            worst = max(worst, abs(vector[i] - scalarCos[i]) / max(radius, 1e-300))
        }
        // Most of it is the C library's: 2π·v rounded to a Double moves the cosine by up to 2 ulps.
        XCTAssertLessThan(worst, 6 * Double.ulpOfOne, "vector Box–Muller vs C library, relative to the radius")
        XCTAssertEqual(vector[u.count - 7], (-2 * Foundation.log(0x1p-53)).squareRoot(), accuracy: 1e-14)
        if FineLoopKernel.cpuHasAVX512 {
            var wide = [Double](repeating: 0, count: u.count)
            BrunoFineLoopAVX512.GaussianBlock.fill(&wide, u: u, v: v, count: u.count)
            XCTAssertEqual(wide, vector, "AVX-512 and AVX2 builds bit for bit")
        }
    }

    func testVectorSquareRootIsFloatsOwnRootAndWithinAnUlpInDouble() {
        var rng = SeededRandom(seed: 13)
        var worst = 0.0
        var floats: [Float] = [0, .leastNormalMagnitude, 1, 2, 4, 0x1.fffffep127]
        for _ in 0..<200_000 { floats.append(Float(rng.uniform() * 8)) }
        for _ in 0..<50_000 { floats.append(Float(Foundation.exp(rng.uniform() * 160 - 80))) }
        for f in floats {
            XCTAssertEqual(Float(BrunoFineLoop.GaussianBlock.squareRoot(Double(f))), f.squareRoot(), "√\(f)")
            let d = Double(f) * (1 + rng.uniform())
            let exact = d.squareRoot()
            worst = max(worst, abs(BrunoFineLoop.GaussianBlock.squareRoot(d) - exact) / exact.ulp)
        }
        XCTAssertLessThanOrEqual(worst, 1, "Double ulps from the correctly rounded root")
    }

    func testAVX2AndAVX512BuildsAreBitIdentical() throws {
        guard FineLoopKernel.cpuHasAVX512 else { throw XCTSkip("this CPU has no AVX-512") }
        let steps = 25, batch = 2
        let l = layer(k: 1000), x = currents(steps: steps, lanes: batch * l.neurons)
        let (a, ea) = l.forwardFloat32RecordingSubSteps(x, steps: steps, batch: batch, kernel: .avx2)
        let (b, eb) = l.forwardFloat32RecordingSubSteps(x, steps: steps, batch: batch, kernel: .avx512)
        XCTAssertGreaterThan(a.spikes.reduce(0, +), 50, "the test must exercise spikes and resets")
        XCTAssertEqual(a.v, b.v)
        XCTAssertEqual(a.p, b.p)
        XCTAssertEqual(a.spikes, b.spikes)
        XCTAssertEqual(ea, eb)
    }

    func testFloat32FollowsTheDoubleTrajectory() {
        let steps = 25, batch = 2
        for (k, exponential) in [(1000, false), (100, false), (100, true)] {
            let l = layer(k: k, exponential: exponential), lanes = batch * l.neurons
            let x = currents(steps: steps, lanes: lanes)
            // The Double reference: the same fine forward, run in BPTT mode for its per-step sub-step counts.
            var reference = l
            reference.stepping.mode = .bptt
            reference.exponentialIntegrator = false
            let double = exponential ? l.forward(x, steps: steps, batch: batch) : reference.forward(x, steps: steps, batch: batch)
            for kernel in kernels {
                let (single, executed) = l.forwardFloat32RecordingSubSteps(x, steps: steps, batch: batch, kernel: kernel)
                let label = "K = \(k)\(exponential ? " exponential" : ""), \(kernel)"
                XCTAssertGreaterThan(double.spikes.reduce(0, +), 50, label)
                XCTAssertEqual(single.spikes, double.spikes, "\(label): spike trains")
                var worstV = 0.0
                for i in 0..<(steps * lanes) { worstV = max(worstV, abs(single.v[lanes + i] - double.v[lanes + i])) }
                // Float32 rounding of a ~2 V membrane after up to 1000 sub-steps: millivolts at most, where a
                // sub-step of drive moves it by ≥ 1e-3 V.
                XCTAssertLessThan(worstV, 2e-3, "\(label): membrane")
                if !exponential {
                    var crossings = 0, same = 0, withinOne = 0, worst: Int32 = 0
                    for i in 0..<(steps * lanes) where double.executed[i] < Int32(k) || executed[i] < Int32(k) {
                        crossings += 1
                        let shift = abs(executed[i] - double.executed[i])
                        same += shift == 0 ? 1 : 0
                        withinOne += shift <= 1 ? 1 : 0
                        worst = max(worst, shift)
                    }
                    print("\(label): \(crossings) threshold crossings, \(same) at the same sub-step, \(withinOne) within one, "
                          + "largest shift \(worst) sub-steps")
                    XCTAssertGreaterThan(crossings, 50, label)
                    // A crossing where the membrane creeps along the threshold moves with the last bit of the drive
                    // (seen: one of 418 by 22 µs at K = 1000, spike train unchanged); almost all land on the same sub-step.
                    XCTAssertGreaterThanOrEqual(Double(same), 0.98 * Double(crossings), "\(label): same sub-step")
                    XCTAssertGreaterThanOrEqual(Double(withinOne), 0.99 * Double(crossings), "\(label): within one")
                }
            }
        }
    }

    func testPrecisionIsAConfigChoiceWithClearErrors() throws {
        let experiment = TrainerTests.experiment
        // The default, written into the resolved config so that the run folder says how it trained.
        let fresh = try TrainingConfig.load(experiment)
        XCTAssertEqual(fresh.finePrecision, .float32)
        XCTAssertTrue(fresh.resolvedText.contains("precision = 'float32'"), fresh.resolvedText)
        XCTAssertEqual(try TrainingConfig.load(experiment, overrides: ["felif.mode=\"bptt\""]).finePrecision, .float64)
        XCTAssertEqual(try TrainingConfig.load(experiment, overrides: ["felif.precision=\"float64\""]).finePrecision, .float64)
        // A run folder from before the choice (config.toml without the key, beside run.json) reopens in Double,
        // as it trained, and its config text — what run.json's hash covers — is not rewritten.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fine-loop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let legacy = folder.appendingPathComponent("config.toml")
        try fresh.resolvedText.replacingOccurrences(of: "precision = 'float32'\n", with: "").write(to: legacy, atomically: true, encoding: .utf8)
        try "{}".write(to: folder.appendingPathComponent("run.json"), atomically: true, encoding: .utf8)
        let reopened = try TrainingConfig.load(legacy)
        XCTAssertEqual(reopened.finePrecision, .float64)
        XCTAssertFalse(reopened.resolvedText.contains("precision"))
        XCTAssertThrowsError(try TrainingConfig.load(experiment, overrides: ["felif.precision=\"float16\""])) {
            XCTAssertTrue("\($0)".contains("'precision'") && "\($0)".contains("float32 or float64"), "\($0)")
        }
        XCTAssertThrowsError(try TrainingConfig.load(experiment, overrides: ["felif.precision=\"float32\"", "felif.mode=\"bptt\""])) {
            XCTAssertTrue("\($0)".contains("precision = float32"), "\($0)")
        }
    }
}
