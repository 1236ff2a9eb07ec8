/// Small dense linear algebra for fits with a handful of parameters (n ≤ ~30): no BLAS needed.
enum DenseSolve {
    /// Solves A·x = b (A is n×n, row-major) by Gaussian elimination with partial pivoting; nil if singular.
    static func solve(_ a: [Double], _ b: [Double], n: Int) -> [Double]? {
        var m = a, x = b
        for col in 0..<n {
            var pivot = col
            for r in (col + 1)..<max(col + 1, n) where abs(m[r * n + col]) > abs(m[pivot * n + col]) { pivot = r }
            let scale = (0..<n).map { abs(m[col * n + $0]) }.max() ?? 0
            guard abs(m[pivot * n + col]) > 1e-300, abs(m[pivot * n + col]) > 1e-14 * max(scale, 1e-300) else { return nil }
            if pivot != col {
                for k in 0..<n { m.swapAt(col * n + k, pivot * n + k) }
                x.swapAt(col, pivot)
            }
            let d = m[col * n + col]
            for r in 0..<n where r != col {
                let f = m[r * n + col] / d
                if f == 0 { continue }
                for k in col..<n { m[r * n + k] -= f * m[col * n + k] }
                x[r] -= f * x[col]
            }
        }
        return (0..<n).map { x[$0] / m[$0 * n + $0] }
    }

    /// The inverse of an n×n matrix, nil if singular.
    static func inverse(_ a: [Double], n: Int) -> [Double]? {
        var out = [Double](repeating: 0, count: n * n)
        for c in 0..<n {
            var e = [Double](repeating: 0, count: n)
            e[c] = 1
            guard let col = solve(a, e, n: n) else { return nil }
            for r in 0..<n { out[r * n + c] = col[r] }
        }
        return out
    }
}
