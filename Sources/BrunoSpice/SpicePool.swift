import BrunoSupport
import Foundation

/// N independent ngspice instances for running independent simulations in parallel.
///
/// Each instance is a private copy of the library on its own thread, so N decks really run at once (one per
/// core by default). Jobs borrow a free instance and return it when done; a job that fails (even fatally)
/// does not affect the others, and its instance recovers by itself.
public final class SpicePool: Sendable {
    public let instances: [SpiceInstance]
    private let queue: InstanceQueue

    /// `count` defaults to the number of cores; every instance runs within `limits`.
    public init(
        count: Int = ProcessInfo.processInfo.activeProcessorCount, installation: NgspiceInstallation? = nil,
        limits: SpiceLimits = .standard()
    ) throws {
        guard count >= 1 else { throw SpiceError.invalidRequest("A SpicePool needs at least one instance (got \(count)).") }
        let inst = try installation ?? NgspiceInstallation.locate()
        instances = try (0..<count).map { _ in try SpiceInstance(installation: inst, limits: limits) }
        queue = InstanceQueue(count: count)
    }

    public var count: Int { instances.count }

    /// Runs one simulation on the next free instance.
    public func simulate(_ netlist: Netlist, analysis: Analysis = .netlist) async throws -> SimulationResult {
        let index = await queue.acquire()
        do {
            let t0 = Date()
            var result = try await instances[index].simulate(netlist, analysis: analysis)
            result.seconds = Date().timeIntervalSince(t0)
            await queue.release(index)
            return result
        } catch {
            await queue.release(index)
            throw error
        }
    }

    /// Runs every job, as many at once as there are instances, and returns one result per job in order.
    /// A failed job is reported in its slot; it never stops the others. `progress` is called after each job.
    public func simulateAll(
        _ jobs: [(Netlist, Analysis)],
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) async -> [Result<SimulationResult, SpiceError>] {
        let counter = AtomicCounter()
        return await withTaskGroup(of: (Int, Result<SimulationResult, SpiceError>).self) { group in
            for (i, job) in jobs.enumerated() {
                group.addTask {
                    let r: Result<SimulationResult, SpiceError>
                    do {
                        r = .success(try await self.simulate(job.0, analysis: job.1))
                    } catch let e as SpiceError {
                        r = .failure(e)
                    } catch {
                        r = .failure(.invalidRequest("\(error)"))
                    }
                    if let progress { progress(counter.increment(), jobs.count) }
                    return (i, r)
                }
            }
            var out = [Result<SimulationResult, SpiceError>?](repeating: nil, count: jobs.count)
            for await (i, r) in group { out[i] = r }
            return out.map { $0! }
        }
    }
}

/// Free instance indices, with waiters parked until one is released.
actor InstanceQueue {
    private var free: [Int]
    private var waiters: [CheckedContinuation<Int, Never>] = []

    init(count: Int) { free = Array((0..<count).reversed()) }

    func acquire() async -> Int {
        if let i = free.popLast() { return i }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func release(_ index: Int) {
        if waiters.isEmpty {
            free.append(index)
        } else {
            waiters.removeFirst().resume(returning: index)
        }
    }
}
