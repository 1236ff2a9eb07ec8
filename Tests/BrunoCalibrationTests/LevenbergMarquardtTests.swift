import BrunoCalibration
import BrunoSupport
import Foundation
import XCTest

final class LevenbergMarquardtTests: XCTestCase {
    let t = (0..<80).map { Double($0) * 0.05 }
    let parameters = [
        FitParameter("amplitude", unit: "V", lower: -10, upper: 10, logScale: false),
        FitParameter("tau", unit: "s", lower: 1e-3, upper: 100),
        FitParameter("offset", unit: "V", lower: -5, upper: 5, logScale: false),
    ]

    func data(noise: Double, seed: UInt64) -> [Double] {
        var rng = SeededRandom(seed: seed)
        return t.map { 2.0 * exp(-$0 / 0.7) + 0.3 + noise * rng.gaussian() }
    }

    func residualsFor(_ y: [Double]) -> LevenbergMarquardt.Residuals {
        let t = self.t
        return { p in zip(t, y).map { p[0] * exp(-$0 / p[1]) + p[2] - $1 } }
    }

    func testRecoversExactParameters() throws {
        let fit = try LevenbergMarquardt().fit(parameters, initial: [1, 5, 0], residuals: residualsFor(data(noise: 0, seed: 1)))
        XCTAssertEqual(fit.values[0], 2, accuracy: 1e-7)
        XCTAssertEqual(fit.values[1], 0.7, accuracy: 1e-7)
        XCTAssertEqual(fit.values[2], 0.3, accuracy: 1e-7)
        XCTAssertLessThan(fit.rms, 1e-8)
    }

    /// The standard errors predict the scatter of estimates over noise realisations.
    func testStandardErrorsMatchMonteCarloScatter() throws {
        let lm = LevenbergMarquardt()
        let first = try lm.fit(parameters, initial: [1, 5, 0], residuals: residualsFor(data(noise: 0.02, seed: 100)))
        var taus: [Double] = []
        for s in 0..<60 {
            taus.append(try lm.fit(parameters, initial: [1, 5, 0], residuals: residualsFor(data(noise: 0.02, seed: UInt64(s)))).values[1])
        }
        let mean = taus.reduce(0, +) / Double(taus.count)
        let sd = (taus.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(taus.count - 1)).squareRoot()
        let predicted = try XCTUnwrap(first.standardErrors[1])
        XCTAssertEqual(predicted, sd, accuracy: 0.35 * sd, "predicted \(predicted), Monte Carlo \(sd)")
        XCTAssertEqual(mean, 0.7, accuracy: 3 * sd)
        // Amplitude and offset trade off against τ: their correlations are strong and signed.
        let n = 3
        XCTAssertEqual(try XCTUnwrap(first.correlation[1 * n + 1]), 1, accuracy: 1e-12)
        XCTAssertLessThan(try XCTUnwrap(first.correlation[1 * n + 2]), -0.5)
    }

    func testActiveBoundIsReported() throws {
        var p = parameters
        p[1].upper = 0.5   // the true τ = 0.7 lies outside
        let fit = try LevenbergMarquardt().fit(p, initial: [1, 0.1, 0], residuals: residualsFor(data(noise: 0, seed: 1)))
        XCTAssertEqual(fit.values[1], 0.5, accuracy: 1e-9)
        XCTAssertEqual(fit.atBound, [false, true, false])
        XCTAssertNil(fit.standardErrors[1])
        XCTAssertNotNil(fit.standardErrors[0])
    }

    /// A frequency fit has many local minima; one start from a poor guess stays in one, multi-start escapes.
    func testMultiStartEscapesLocalMinima() throws {
        let x = (0..<200).map { Double($0) * 0.01 }
        let y = x.map { sin(7.3 * $0) }
        let residuals: LevenbergMarquardt.Residuals = { p in zip(x, y).map { sin(p[0] * $0) - $1 } }
        let omega = [FitParameter("omega", unit: "rad/s", lower: 0.5, upper: 20)]
        let single = try LevenbergMarquardt(starts: 1).fit(omega, initial: [1.5], residuals: residuals)
        XCTAssertGreaterThan(abs(single.values[0] - 7.3), 0.5, "a single start from 1.5 rad/s should be trapped")
        let multi = try LevenbergMarquardt(starts: 12, seed: 3).fit(omega, initial: [1.5], residuals: residuals)
        XCTAssertEqual(multi.values[0], 7.3, accuracy: 1e-6)
        XCTAssertEqual(multi.startCosts.count, 12)
        XCTAssertEqual(multi.startCosts.min(), multi.cost)
    }

    func testUnidentifiableParametersHaveNoStandardError() throws {
        // y = a·b·x: only the product is determined.
        let x = (1...20).map(Double.init)
        let ps = [FitParameter("a", unit: "", lower: 0.1, upper: 10), FitParameter("b", unit: "", lower: 0.1, upper: 10)]
        let fit = try LevenbergMarquardt().fit(ps, initial: [1, 1], residuals: { p in x.map { p[0] * p[1] * $0 - 3 * $0 } })
        XCTAssertEqual(fit.values[0] * fit.values[1], 3, accuracy: 1e-6)
        XCTAssertTrue(fit.standardErrors.allSatisfy { $0 == nil || !$0!.isFinite || $0! > 1e3 }, "\(fit.standardErrors)")
    }

    func testBadProblemsAreClearErrors() {
        XCTAssertThrowsError(try LevenbergMarquardt().fit([FitParameter("a", unit: "", lower: 0, upper: 1)], initial: [0.5], residuals: { _ in [0, 0] })) {
            XCTAssertTrue("\($0)".contains("not positive"), "\($0)")
        }
        XCTAssertThrowsError(try LevenbergMarquardt().fit(parameters, initial: [1, 1, 0], residuals: { _ in [1] })) {
            XCTAssertEqual($0 as? CalibrationError, .underdetermined(residuals: 1, parameters: 3))
        }
        XCTAssertThrowsError(try LevenbergMarquardt().fit(parameters, initial: [1, 1, 0], residuals: { _ in [.nan, 1, 2] })) {
            XCTAssertTrue("\($0)".contains("not finite"), "\($0)")
        }
    }
}
