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
    /// The number of non-zero values and whether every value is 0 or 1 (a spike matrix), in one pass.
    public static func census(_ v: [Float]) -> (nonZero: Int, binary: Bool) {
        var nonZero = SIMD16<Int32>.zero, other = SIMD16<Int32>.zero
        let one = SIMD16<Int32>(repeating: 1), zero = SIMD16<Int32>.zero
        var tailNonZero = 0, tailOther = 0
        v.withUnsafeBufferPointer { p in
            var i = 0
            // Per-lane counts stay below 2³¹ for any array that fits in memory (16 lanes × 2³¹ values).
            while i + 16 <= p.count {
                let x = UnsafeRawPointer(p.baseAddress! + i).loadUnaligned(as: SIMD16<Float>.self)
                let nz = x .!= SIMD16<Float>.zero
                nonZero &+= zero.replacing(with: one, where: nz)
                other &+= zero.replacing(with: one, where: nz .& (x .!= SIMD16<Float>(repeating: 1)))
                i += 16
            }
            while i < p.count {
                let x = p[i]
                tailNonZero += x != 0 ? 1 : 0
                tailOther += (x != 0 && x != 1) ? 1 : 0
                i += 1
            }
        }
        let n = (0..<16).reduce(tailNonZero) { $0 + Int(nonZero[$1]) }
        let o = (0..<16).reduce(tailOther) { $0 + Int(other[$1]) }
        return (n, o == 0)
    }

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
        // b's rows padded to a multiple of 16 columns: every axpy runs in full vectors (no scalar tail).
        let n = b.cols, stride = (n + 15) / 16 * 16
        var padded = b.values
        if stride != n {
            padded = [Float](repeating: 0, count: b.rows * stride)
            for r in 0..<b.rows { for j in 0..<n { padded[r * stride + j] = b.values[r * n + j] } }
        }
        var partials = [[Float]](repeating: [], count: parts)
        partials.withUnsafeMutableBufferPointer { pb in
            let out = UncheckedBox(pb)
            Parallel.forEachRange(parts) { workers in
                for w in workers {
                    let rows = Parallel.range(w, of: parts, count: a.rows)
                    var acc = [Float](repeating: 0, count: a.cols * stride)
                    a.values.withUnsafeBufferPointer { av in
                        padded.withUnsafeBufferPointer { bv in
                            acc.withUnsafeMutableBufferPointer { cv in
                                for r in rows {
                                    for i in 0..<a.cols {
                                        let x = av[r * a.cols + i]
                                        if useSparse && x == 0 { continue }
                                        axpy(x, bv.baseAddress! + r * stride, cv.baseAddress! + i * stride, stride)
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
        if stride == n { return Matrix(rows: a.cols, cols: n, values: sum) }
        var result = Matrix(rows: a.cols, cols: n)
        for i in 0..<a.cols { for j in 0..<n { result.values[i * n + j] = sum[i * stride + j] } }
        return result
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

    /// b packed into 16-column panels, zero-padded: panel pn holds columns 16·pn ..< 16·pn + 16 of every row, so a
    /// kernel never runs a scalar tail (27 output columns were 16 in SIMD and 11 one by one).
    static func packPanels(_ b: Matrix) -> [SIMD16<Float>] {
        let k = b.rows, n = b.cols, panels = (n + 15) / 16
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
        return packed
    }

    /// Row-sparse a · b: per row, the non-zero inputs are listed once, then each group of four 16-column panels
    /// of the result is accumulated in registers over them (the row of the result is stored once, not read and
    /// written per input). Every output element is the FMA sum over the inputs in increasing index order.
    static func sparseRows(_ a: Matrix, _ b: Matrix, into out: inout Matrix) {
        let k = a.cols, n = b.cols, panels = (n + 15) / 16
        let packed = packPanels(b)
        a.values.withUnsafeBufferPointer { av in
            packed.withUnsafeBufferPointer { pk in
                out.values.withUnsafeMutableBufferPointer { ov in
                    let o = UncheckedBox(ov)
                    Parallel.forEachRange(a.rows, minimumPerWorker: 64) { rows in
                        var index = [Int](repeating: 0, count: k), value = [Float](repeating: 0, count: k)
                        index.withUnsafeMutableBufferPointer { ix in
                            value.withUnsafeMutableBufferPointer { vx in
                                for r in rows {
                                    var active = 0
                                    for i in 0..<k {
                                        let x = av[r * k + i]
                                        if x != 0 { ix[active] = i; vx[active] = x; active += 1 }
                                    }
                                    let row = o.value.baseAddress! + r * n
                                    func store(_ c: SIMD16<Float>, panel pn: Int) {
                                        let cols = min(16, n - pn * 16)
                                        if cols == 16 {
                                            UnsafeMutableRawPointer(row + pn * 16).storeBytes(of: c, as: SIMD16<Float>.self)
                                        } else {
                                            for j in 0..<cols { row[pn * 16 + j] = c[j] }
                                        }
                                    }
                                    var pn = 0
                                    while pn + 4 <= panels {
                                        let p0 = pk.baseAddress! + pn * k, p1 = p0 + k, p2 = p1 + k, p3 = p2 + k
                                        var c0 = SIMD16<Float>.zero, c1 = c0, c2 = c0, c3 = c0
                                        for q in 0..<active {
                                            let i = ix[q], x = SIMD16<Float>(repeating: vx[q])
                                            c0 = c0.addingProduct(x, p0[i])
                                            c1 = c1.addingProduct(x, p1[i])
                                            c2 = c2.addingProduct(x, p2[i])
                                            c3 = c3.addingProduct(x, p3[i])
                                        }
                                        store(c0, panel: pn); store(c1, panel: pn + 1); store(c2, panel: pn + 2); store(c3, panel: pn + 3)
                                        pn += 4
                                    }
                                    while pn < panels {
                                        let p0 = pk.baseAddress! + pn * k
                                        var c0 = SIMD16<Float>.zero
                                        for q in 0..<active { c0 = c0.addingProduct(SIMD16<Float>(repeating: vx[q]), p0[ix[q]]) }
                                        store(c0, panel: pn)
                                        pn += 1
                                    }
                                }
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
        let packed = packPanels(b)
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
