#if canImport(Glibc)
import Glibc
#endif

/// Process-wide allocator settings for the training engine's working pattern.
///
/// Why: a training step allocates tens of arrays of 1–15 MB (activations `T·B × N`, their gradients), frees them
/// and allocates the same sizes again in the next step. glibc serves blocks above its mmap threshold with fresh
/// `mmap` pages, so every step page-faults and zeroes them again: measured on the Braille LIF step, each of the
/// two LIF passes took 17 ms, 7 ms with the pages kept (BENCHMARKS.md, "Where the step's time goes"). Keeping
/// freed blocks in the heap (mmap threshold at its 32 MB maximum, no trimming) makes them reusable.
/// Called once by the executables; a library does not change its host's allocator.
public enum ProcessMemory {
    /// glibc's `mallopt` parameters (malloc.h, not in Swift's Glibc module).
    static let trimThreshold: Int32 = -1, topPad: Int32 = -2, mmapThreshold: Int32 = -3

    /// Returns whether glibc accepted the three settings (false elsewhere: nothing is changed).
    @discardableResult
    public static func retainFreedPages() -> Bool {
        #if canImport(Glibc)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        return mallopt(mmapThreshold, 32 << 20) == 1 && mallopt(trimThreshold, Int32.max) == 1 && mallopt(topPad, 64 << 20) == 1
        #else
        return false
        #endif
    }
}
