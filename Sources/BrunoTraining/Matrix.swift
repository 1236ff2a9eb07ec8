/// A row-major Float matrix: activations are `(T·B) × features`, weights `inputs × outputs`.
public struct Matrix: Sendable, Equatable, Codable {
    public var rows: Int, cols: Int
    public var values: [Float]

    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(values.count == rows * cols, "matrix \(rows)×\(cols) needs \(rows * cols) values, got \(values.count)")
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    public init(rows: Int, cols: Int, repeating x: Float = 0) {
        self.init(rows: rows, cols: cols, values: [Float](repeating: x, count: rows * cols))
    }

    public subscript(r: Int, c: Int) -> Float {
        get { values[r * cols + c] }
        set { values[r * cols + c] = newValue }
    }

    public var transposed: Matrix {
        var out = Matrix(rows: cols, cols: rows)
        values.withUnsafeBufferPointer { a in
            out.values.withUnsafeMutableBufferPointer { o in
                for r in 0..<rows { for c in 0..<cols { o[c * rows + r] = a[r * cols + c] } }
            }
        }
        return out
    }

    /// Fraction of non-zero entries (spike matrices are sparse, and the products below use that).
    public var density: Double {
        values.isEmpty ? 0 : Double(values.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }) / Double(values.count)
    }
}

/// Dense products for the layers: a register-blocked SIMD kernel over packed panels of the right operand, and
/// row-sparse variants for spike inputs (a spike matrix at 5–20 % density is cheaper to add up than to multiply).
/// The choice between them is made per call from the measured density (see BENCHMARKS.md for the numbers).
public enum MatrixProduct {
    /// Below this density of the left operand, the sparse accumulation is used.
    public static let sparseDensity = 0.25

    /// a · b.
    public static func multiply(_ a: Matrix, _ b: Matrix, sparse: Bool? = nil) -> Matrix {
        precondition(a.cols == b.rows, "product of \(a.rows)×\(a.cols) and \(b.rows)×\(b.cols)")
        var out = Matrix(rows: a.rows, cols: b.cols)
        if sparse ?? (a.density < sparseDensity) {
            sparseRows(a, b, into: &out)
        } else {
            dense(a, b, into: &out)
        }
        return out
    }

    /// aᵀ · b (weight gradients: inputsᵀ · output gradients). The row range is split into a fixed number of
    /// parts (`reductionParts`, not the worker count) whose partial sums are added in part order, so the result
    /// is bit-identical on any number of threads and a run resumes identically with another `BRUNO_THREADS`.
    public static func multiplyTransposingLeft(_ a: Matrix, _ b: Matrix, sparse: Bool? = nil) -> Matrix {
        precondition(a.rows == b.rows, "product of (\(a.rows)×\(a.cols))ᵀ and \(b.rows)×\(b.cols)")
        let useSparse = sparse ?? (a.density < sparseDensity)
        let parts = max(1, min(reductionParts, a.rows / 64))
        var partials = [[Float]](repeating: [], count: parts)
        partials.withUnsafeMutableBufferPointer { pb in
            let out = UncheckedBox(pb)
            Parallel.forEachRange(parts) { workers in
                for w in workers {
                    let rows = Parallel.range(w, of: parts, count: a.rows)
                    var acc = [Float](repeating: 0, count: a.cols * b.cols)
                    a.values.withUnsafeBufferPointer { av in
                        b.values.withUnsafeBufferPointer { bv in
                            acc.withUnsafeMutableBufferPointer { cv in
                                for r in rows {
                                    for i in 0..<a.cols {
                                        let x = av[r * a.cols + i]
                                        if useSparse && x == 0 { continue }
                                        axpy(x, bv.baseAddress! + r * b.cols, cv.baseAddress! + i * b.cols, b.cols)
                                    }
                                }
                            }
                        }
                    }
                    out.value[w] = acc
                }
            }
        }
        var sum = partials[0]
        for w in 1..<parts { for i in 0..<sum.count { sum[i] += partials[w][i] } }
        return Matrix(rows: a.cols, cols: b.cols, values: sum)
    }

    /// a · bᵀ (input gradients: output gradients · weightsᵀ).
    public static func multiplyTransposingRight(_ a: Matrix, _ b: Matrix) -> Matrix {
        precondition(a.cols == b.cols, "product of \(a.rows)×\(a.cols) and (\(b.rows)×\(b.cols))ᵀ")
        var out = Matrix(rows: a.rows, cols: b.rows)
        dense(a, b.transposed, into: &out)
        return out
    }

    /// Parts of a weight-gradient reduction: at least the cores of the machines Bruno runs on, few enough that the
    /// partial sums stay small.
    static let reductionParts = 8

    /// y += x · a over n floats.
    @inline(__always) static func axpy(_ x: Float, _ a: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var j = 0
        let xv = SIMD16<Float>(repeating: x)
        while j + 16 <= n {
            let yv = UnsafeMutableRawPointer(y + j).loadUnaligned(as: SIMD16<Float>.self)
            let av = UnsafeRawPointer(a + j).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(y + j).storeBytes(of: yv.addingProduct(xv, av), as: SIMD16<Float>.self)
            j += 16
        }
        while j < n { y[j] += x * a[j]; j += 1 }
    }

    static func sparseRows(_ a: Matrix, _ b: Matrix, into out: inout Matrix) {
        let n = b.cols
        a.values.withUnsafeBufferPointer { av in
            b.values.withUnsafeBufferPointer { bv in
                out.values.withUnsafeMutableBufferPointer { ov in
                    let o = UncheckedBox(ov)
                    Parallel.forEachRange(a.rows, minimumPerWorker: 64) { rows in
                        for r in rows {
                            let y = o.value.baseAddress! + r * n
                            for i in 0..<a.cols {
                                let x = av[r * a.cols + i]
                                if x != 0 { axpy(x, bv.baseAddress! + i * n, y, n) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Dense kernel: b packed into 16-column panels (zero-padded), 4 rows × 16 columns of the result kept in
    /// registers while the shared dimension streams through.
    static func dense(_ a: Matrix, _ b: Matrix, into out: inout Matrix) {
        let m = a.rows, k = a.cols, n = b.cols
        let panels = (n + 15) / 16
        var packed = [SIMD16<Float>](repeating: .zero, count: panels * k)
        b.values.withUnsafeBufferPointer { bv in
            for pn in 0..<panels {
                for p in 0..<k {
                    var v = SIMD16<Float>.zero
                    for j in 0..<min(16, n - pn * 16) { v[j] = bv[p * n + pn * 16 + j] }
                    packed[pn * k + p] = v
                }
            }
        }
        a.values.withUnsafeBufferPointer { av in
            packed.withUnsafeBufferPointer { pk in
                out.values.withUnsafeMutableBufferPointer { ov in
                    let o = UncheckedBox(ov)
                    let blocks = (m + 3) / 4
                    Parallel.forEachRange(blocks, minimumPerWorker: 16) { range in
                        for blk in range {
                            let r0 = blk * 4, rowsHere = min(4, m - r0)
                            for pn in 0..<panels {
                                let panel = pk.baseAddress! + pn * k
                                var c0 = SIMD16<Float>.zero, c1 = c0, c2 = c0, c3 = c0
                                if rowsHere == 4 {
                                    let a0 = av.baseAddress! + r0 * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k
                                    for p in 0..<k {
                                        let bp = panel[p]
                                        c0 = c0.addingProduct(SIMD16(repeating: a0[p]), bp)
                                        c1 = c1.addingProduct(SIMD16(repeating: a1[p]), bp)
                                        c2 = c2.addingProduct(SIMD16(repeating: a2[p]), bp)
                                        c3 = c3.addingProduct(SIMD16(repeating: a3[p]), bp)
                                    }
                                } else {
                                    for p in 0..<k {
                                        let bp = panel[p]
                                        c0 = c0.addingProduct(SIMD16(repeating: av[r0 * k + p]), bp)
                                        if rowsHere > 1 { c1 = c1.addingProduct(SIMD16(repeating: av[(r0 + 1) * k + p]), bp) }
                                        if rowsHere > 2 { c2 = c2.addingProduct(SIMD16(repeating: av[(r0 + 2) * k + p]), bp) }
                                    }
                                }
                                let cols = min(16, n - pn * 16)
                                for r in 0..<rowsHere {
                                    let c = r == 0 ? c0 : (r == 1 ? c1 : (r == 2 ? c2 : c3))
                                    let row = o.value.baseAddress! + (r0 + r) * n + pn * 16
                                    if cols == 16 {
                                        UnsafeMutableRawPointer(row).storeBytes(of: c, as: SIMD16<Float>.self)
                                    } else {
                                        for j in 0..<cols { row[j] = c[j] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
