import Dispatch
import Foundation

/// Work split over the machine's cores, once per call and in fixed contiguous ranges.
///
/// Why so coarse: on this 2-core machine waking the other core costs ≈ 55 µs, so parallel regions must be
/// large (a whole minibatch's time loop, a whole matrix product). Ranges are fixed by the item count, never by
/// timing, so every reduction happens in the same order and a run is bit-for-bit repeatable.
public enum Parallel {
    /// Number of workers (cores; `BRUNO_THREADS` overrides, 1 disables threading).
    public static let workers: Int = {
        if let s = ProcessInfo.processInfo.environment["BRUNO_THREADS"], let n = Int(s), n >= 1 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// The contiguous part of `0..<count` that worker `w` of `parts` handles.
    public static func range(_ w: Int, of parts: Int, count: Int) -> Range<Int> {
        (count * w / parts)..<(count * (w + 1) / parts)
    }

    /// Calls `body` on contiguous sub-ranges of `0..<count`, in parallel when there is more than one item.
    public static func forEachRange(_ count: Int, minimumPerWorker: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = max(1, min(workers, count / max(1, minimumPerWorker)))
        if parts == 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: parts) { w in box.value(range(w, of: parts, count: count)) }
        }
    }
}

/// Lets a closure that only touches disjoint memory cross into `concurrentPerform`.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
