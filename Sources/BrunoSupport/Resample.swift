/// Linear interpolation of a sampled signal onto an ascending grid, in one sweep.
///
/// Outside the samples the nearest end value is held; where two samples share a time the earlier value is used.
/// Shared by everything that puts irregular samples (SPICE time points, a data file's clock) on a regular grid.
public enum Resample {
    /// `y(x)` at each point of `grid` (ascending). `x` is ascending and as long as `y`, not empty.
    public static func linear(x: [Double], y: [Double], at grid: [Double]) -> [Double] {
        precondition(!x.isEmpty && x.count == y.count, "one value per sample time, at least one sample")
        var out: [Double] = []
        out.reserveCapacity(grid.count)
        var j = 0
        for t in grid {
            while j + 1 < x.count && x[j + 1] < t { j += 1 }
            if j + 1 < x.count, x[j + 1] > x[j] {
                let f = min(max((t - x[j]) / (x[j + 1] - x[j]), 0), 1)
                out.append(y[j] + f * (y[j + 1] - y[j]))
            } else {
                out.append(y[j])
            }
        }
        return out
    }
}
