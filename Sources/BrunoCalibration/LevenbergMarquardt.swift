import BrunoSupport
import Foundation

/// A parameter to fit: its name and unit (for cards and reports), bounds, and whether it is fitted in log space.
public struct FitParameter: Sendable, Equatable, Codable {
    public var name: String
    public var unit: String
    public var lower: Double
    public var upper: Double
    /// Fit log(x) instead of x: right for positive quantities spanning decades (times, currents).
    public var logScale: Bool

    public init(_ name: String, unit: String, lower: Double, upper: Double, logScale: Bool = true) {
        self.name = name
        self.unit = unit
        self.lower = lower
        self.upper = upper
        self.logScale = logScale
    }

    func toInternal(_ x: Double) -> Double { logScale ? Foundation.log(x) : x }
    func toExternal(_ u: Double) -> Double { logScale ? Foundation.exp(u) : u }
    var internalLower: Double { toInternal(lower) }
    var internalUpper: Double { toInternal(upper) }
    func clamp(_ u: Double) -> Double { min(max(u, internalLower), internalUpper) }
}

/// The outcome of a fit, with the statistics a model engineer expects.
public struct FitResult: Sendable, Equatable, Codable {
    public var parameters: [FitParameter]
    public var values: [Double]
    /// Standard errors from the Jacobian at the optimum (s²·(JᵀJ)⁻¹ mapped to parameter units); nil for a
    /// parameter at a bound or when JᵀJ is singular (not identifiable from these data).
    public var standardErrors: [Double?]
    /// Correlation matrix of the free parameters (row-major, `values.count`², nil where undefined).
    public var correlation: [Double?]
    /// Which parameters ended at (within 1e-6 of) a bound.
    public var atBound: [Bool]
    /// ½·Σ r² at the optimum.
    public var cost: Double
    public var residualCount: Int
    public var iterations: Int
    public var evaluations: Int
    /// Index of the start that won (multi-start) and the final cost of every start.
    public var bestStart: Int
    public var startCosts: [Double]

    /// Root-mean-square residual.
    public var rms: Double { (2 * cost / Double(max(residualCount, 1))).squareRoot() }
    public func value(_ name: String) -> Double? { parameters.firstIndex { $0.name == name }.map { values[$0] } }
}

/// Bounded Levenberg–Marquardt on (log-)scaled parameters, with central finite-difference Jacobians computed in
/// parallel, and a multi-start stage: starts are the given initial values plus seeded Latin-hypercube draws
/// within the bounds, each run to convergence, and the best kept.
public struct LevenbergMarquardt: Sendable {
    public var maxIterations = 100
    /// Stop when the relative decrease of the cost in an accepted step is below this.
    public var costTolerance = 1e-10
    /// Stop when every internal step is below this.
    public var stepTolerance = 1e-10
    /// Finite-difference step in internal units (relative change 1e-5 for log-scaled parameters).
    public var differenceStep = 1e-5
    public var starts = 1
    public var seed: UInt64 = 1
    /// Where the extra starts are drawn: nil for the whole bounded box; a factor f for a box around the initial
    /// guess (×/÷ f for log-scaled parameters, ±(f − 1)·|x| for linear ones), clamped to the bounds.
    public var startSpread: Double?

    public init(maxIterations: Int = 100, starts: Int = 1, seed: UInt64 = 1) {
        self.maxIterations = maxIterations
        self.starts = starts
        self.seed = seed
    }

    public typealias Residuals = @Sendable ([Double]) throws -> [Double]

    public func fit(_ parameters: [FitParameter], initial: [Double], residuals: @escaping Residuals) throws -> FitResult {
        precondition(parameters.count == initial.count, "one initial value per parameter")
        for p in parameters where !(p.lower < p.upper) || (p.logScale && p.lower <= 0) {
            throw CalibrationError.invalidParameter("\(p.name): bounds [\(p.lower), \(p.upper)] are empty or not positive for a log-scaled parameter")
        }
        var startPoints = [parameters.indices.map { parameters[$0].clamp(parameters[$0].toInternal(initial[$0])) }]
        if starts > 1 {
            var rng = SeededRandom(seed: seed)
            let n = parameters.count, k = starts - 1
            // Latin hypercube: each parameter's range cut into k strata, one draw per stratum, strata shuffled.
            var columns: [[Double]] = []
            for (j, p) in parameters.enumerated() {
                var strata = (0..<k).map { (Double($0) + rng.uniform()) / Double(k) }
                for i in stride(from: k - 1, to: 0, by: -1) { strata.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
                var lo = p.internalLower, hi = p.internalUpper
                if let f = startSpread, f > 1 {
                    let u0 = startPoints[0][j]
                    let half = p.logScale ? Foundation.log(f) : (f - 1) * max(abs(initial[j]), 1e-12)
                    lo = max(lo, u0 - half)
                    hi = min(hi, u0 + half)
                }
                columns.append(strata.map { lo + $0 * (hi - lo) })
            }
            for s in 0..<k { startPoints.append((0..<n).map { columns[$0][s] }) }
        }
        var best: (u: [Double], cost: Double, iterations: Int, start: Int)?
        var costs: [Double] = []
        var evaluations = 0
        for (s, u0) in startPoints.enumerated() {
            let run = try minimize(parameters, from: u0, residuals: residuals, evaluations: &evaluations)
            costs.append(run.cost)
            if best == nil || run.cost < best!.cost { best = (run.u, run.cost, run.iterations, s) }
        }
        let b = best!
        return try statistics(parameters, u: b.u, cost: b.cost, iterations: b.iterations, bestStart: b.start, startCosts: costs,
                              residuals: residuals, evaluations: &evaluations)
    }

    private func evaluate(_ parameters: [FitParameter], _ u: [Double], _ residuals: Residuals) throws -> [Double] {
        let r = try residuals(parameters.indices.map { parameters[$0].toExternal(u[$0]) })
        if let bad = r.firstIndex(where: { !$0.isFinite }) {
            throw CalibrationError.nonFiniteResidual(index: bad, parameters: zip(parameters, u).map { "\($0.name)=\($0.toExternal($1))" }.joined(separator: ", "))
        }
        return r
    }

    /// Central-difference Jacobian (m×n, row-major), columns computed in parallel.
    private func jacobian(_ parameters: [FitParameter], _ u: [Double], m: Int, _ residuals: Residuals, evaluations: inout Int) throws -> [Double] {
        let n = u.count
        let columns = ColumnBox(count: n)
        DispatchQueue.concurrentPerform(iterations: n) { j in
            do {
                var up = u, down = u
                // Stay inside the bounds: one-sided at a bound.
                up[j] = min(u[j] + differenceStep, parameters[j].internalUpper)
                down[j] = max(u[j] - differenceStep, parameters[j].internalLower)
                let ru = try evaluate(parameters, up, residuals), rd = try evaluate(parameters, down, residuals)
                let h = up[j] - down[j]
                columns.set(j, .success(zip(ru, rd).map { ($0 - $1) / h }))
            } catch {
                columns.set(j, .failure(error))
            }
        }
        evaluations += 2 * n
        var jac = [Double](repeating: 0, count: m * n)
        for j in 0..<n {
            let col = try columns.get(j).get()
            for i in 0..<m { jac[i * n + j] = col[i] }
        }
        return jac
    }

    private func minimize(_ parameters: [FitParameter], from start: [Double], residuals: Residuals, evaluations: inout Int)
        throws -> (u: [Double], cost: Double, iterations: Int)
    {
        let n = start.count
        var u = start
        var r = try evaluate(parameters, u, residuals)
        evaluations += 1
        let m = r.count
        guard m >= n else { throw CalibrationError.underdetermined(residuals: m, parameters: n) }
        var cost = 0.5 * r.reduce(0) { $0 + $1 * $1 }
        var jac = try jacobian(parameters, u, m: m, residuals, evaluations: &evaluations)
        var lambda = 1e-3, nu = 2.0
        var iteration = 0
        while iteration < maxIterations {
            iteration += 1
            var a = [Double](repeating: 0, count: n * n), g = [Double](repeating: 0, count: n)
            for i in 0..<m {
                for p in 0..<n {
                    let jp = jac[i * n + p]
                    g[p] += jp * r[i]
                    for q in p..<n { a[p * n + q] += jp * jac[i * n + q] }
                }
            }
            for p in 0..<n { for q in 0..<p { a[p * n + q] = a[q * n + p] } }
            // Converged when the projected gradient vanishes (components pushing out of an active bound don't count).
            let projected = (0..<n).map { p -> Double in
                let atLower = u[p] <= parameters[p].internalLower + 1e-12 && g[p] > 0
                let atUpper = u[p] >= parameters[p].internalUpper - 1e-12 && g[p] < 0
                return atLower || atUpper ? 0 : abs(g[p])
            }
            if projected.max()! <= 1e-14 * max(cost, 1e-300).squareRoot() { break }
            var improved = false
            while !improved {
                var damped = a
                for p in 0..<n { damped[p * n + p] += lambda * max(a[p * n + p], 1e-12) }
                guard let delta = DenseSolve.solve(damped, g.map { -$0 }, n: n) else { lambda *= nu; nu *= 2; if lambda > 1e16 { break }; continue }
                let candidate = (0..<n).map { parameters[$0].clamp(u[$0] + delta[$0]) }
                let step = zip(candidate, u).map { abs($0 - $1) }.max()!
                if step < stepTolerance { return (u, cost, iteration) }
                let rc = try evaluate(parameters, candidate, residuals)
                evaluations += 1
                let cc = 0.5 * rc.reduce(0) { $0 + $1 * $1 }
                if cc < cost {
                    let relative = (cost - cc) / max(cost, 1e-300)
                    u = candidate
                    r = rc
                    cost = cc
                    lambda = max(lambda / 3, 1e-12)
                    nu = 2
                    improved = true
                    if relative < costTolerance { return (u, cost, iteration) }
                    jac = try jacobian(parameters, u, m: m, residuals, evaluations: &evaluations)
                } else {
                    lambda *= nu
                    nu *= 2
                    if lambda > 1e16 { return (u, cost, iteration) }
                }
            }
            if !improved { break }
        }
        return (u, cost, iteration)
    }

    private func statistics(_ parameters: [FitParameter], u: [Double], cost: Double, iterations: Int, bestStart: Int,
                            startCosts: [Double], residuals: Residuals, evaluations: inout Int) throws -> FitResult {
        let n = u.count
        let r = try evaluate(parameters, u, residuals)
        let m = r.count
        let jac = try jacobian(parameters, u, m: m, residuals, evaluations: &evaluations)
        let atBound = (0..<n).map { p in
            let span = parameters[p].internalUpper - parameters[p].internalLower
            return u[p] - parameters[p].internalLower < 1e-6 * span || parameters[p].internalUpper - u[p] < 1e-6 * span
        }
        let free = (0..<n).filter { !atBound[$0] }
        var errors = [Double?](repeating: nil, count: n)
        var correlation = [Double?](repeating: nil, count: n * n)
        let dof = m - free.count
        if !free.isEmpty, dof > 0 {
            let k = free.count
            var a = [Double](repeating: 0, count: k * k)
            for i in 0..<m {
                for (p, fp) in free.enumerated() { for (q, fq) in free.enumerated() { a[p * k + q] += jac[i * n + fp] * jac[i * n + fq] } }
            }
            let s2 = 2 * cost / Double(dof)
            if let inv = DenseSolve.inverse(a, n: k) {
                // d(external)/d(internal): x for log-scaled parameters, 1 otherwise.
                let d = free.map { parameters[$0].logScale ? parameters[$0].toExternal(u[$0]) : 1 }
                for (p, fp) in free.enumerated() {
                    let variance = s2 * inv[p * k + p]
                    if variance >= 0 { errors[fp] = d[p] * variance.squareRoot() }
                    for (q, fq) in free.enumerated() {
                        let denominator = (inv[p * k + p] * inv[q * k + q]).squareRoot()
                        correlation[fp * n + fq] = denominator > 0 ? inv[p * k + q] / denominator : nil
                    }
                }
            }
        }
        return FitResult(parameters: parameters, values: (0..<n).map { parameters[$0].toExternal(u[$0]) }, standardErrors: errors,
                         correlation: correlation, atBound: atBound, cost: cost, residualCount: m, iterations: iterations,
                         evaluations: evaluations, bestStart: bestStart, startCosts: startCosts)
    }
}

/// Errors of a fit.
public enum CalibrationError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidParameter(String)
    case underdetermined(residuals: Int, parameters: Int)
    case nonFiniteResidual(index: Int, parameters: String)
    /// A netlist lacks what a protocol needs (a source, a node, an analysis).
    case netlistShape(String)
    /// A SPICE run of one stimulus failed; the stimulus is named, never silently dropped.
    case stimulusFailed(stimulus: String, reason: String)
    /// The card missed the protocol's quality gate; it was written (marked failed) for inspection.
    case qualityGate(card: String, stimulus: String, nrmse: Double, bound: Double)

    public var description: String {
        switch self {
        case .invalidParameter(let s): return "Invalid fit parameter: \(s)."
        case .underdetermined(let m, let n): return "The fit is underdetermined: \(m) residuals for \(n) parameters."
        case .nonFiniteResidual(let i, let p): return "Residual \(i) is not finite at \(p); the model diverged there (narrow the bounds)."
        case .netlistShape(let s): return "The netlist cannot be calibrated: \(s)."
        case .stimulusFailed(let name, let reason): return "SPICE failed on stimulus '\(name)': \(reason)"
        case .qualityGate(let card, let stimulus, let nrmse, let bound):
            return "The calibration missed its quality gate: on the held-out stimulus '\(stimulus)' the surrogate's "
                + "membrane NRMSE is " + String(format: "%.2f %%", nrmse * 100) + ", above the protocol's "
                + "max_heldout_nrmse of " + String(format: "%.2f %%", bound * 100) + ". \(card) was written marked as "
                + "failed (see the report next to it); training refuses it unless [devices] accept_failed_card = true. "
                + "Fit more quantities, check the netlist's conventions (docs/calibration.md) or widen the bound"
        }
    }
}

private final class ColumnBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Result<[Double], Error>?]
    init(count: Int) { items = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<[Double], Error>) { lock.withLock { items[i] = r } }
    func get(_ i: Int) -> Result<[Double], Error> { lock.withLock { items[i]! } }
}
