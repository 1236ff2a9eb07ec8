import Foundation
import Synchronization

/// SIGINT and SIGTERM as requests to a job that can stop cleanly.
///
/// The `bruno` executable receives both signals on one thread of its own (its CSignals target, which also
/// says why) and hands the first to `signalArrived`. While a cooperating job runs — training, which checks
/// `requested` between batches and abandons the current epoch — the signal only sets the flag; otherwise the
/// process ends at once with 128 + the signal (130 for SIGINT, 143 for SIGTERM), as shells expect.
public enum Interruption {
    private static let pending = Atomic<Int32>(0)
    private static let cooperative = Atomic<Int>(0)

    /// The signal received (SIGINT or SIGTERM), or nil.
    public static var requested: Int32? {
        let s = pending.load(ordering: .acquiring)
        return s == 0 ? nil : s
    }

    /// The exit status for a signal: 128 + its number.
    public static func exitStatus(_ signal: Int32) -> Int32 { 128 + signal }

    /// Records `signal`; true when a cooperating job will stop by itself (the process must go on).
    public static func signalArrived(_ signal: Int32) -> Bool {
        guard cooperative.load(ordering: .acquiring) > 0 else { return false }
        return pending.compareExchange(expected: 0, desired: signal, ordering: .acquiringAndReleasing).exchanged
    }

    /// Runs `body` as a job that checks `requested` and stops cleanly.
    public static func cooperating<T>(_ body: () async throws -> T) async rethrows -> T {
        cooperative.add(1, ordering: .acquiringAndReleasing)
        defer { cooperative.subtract(1, ordering: .acquiringAndReleasing) }
        return try await body()
    }
}

extension Interruption {
    /// Ends the process with 128 + `signal` after flushing stdout and stderr, without running exit handlers.
    ///
    /// Why not `exit`: a job stopped between its units (the whole-chip verification between samples) still has
    /// ngspice instance threads and dispatch workers winding down; `exit` ran library destructors under them and
    /// the process died with SIGSEGV (seen 2026-12-03) instead of 143. Everything the job wrote is already
    /// complete (atomic files), so nothing is lost by skipping the handlers.
    public static func exitNow(_ signal: Int32) -> Never {
        fflush(nil)
        _exit(exitStatus(signal))
    }
}
