import CNgspice
import Foundation
import Numerics
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One in-process ngspice simulator.
///
/// All calls go to a dedicated thread, so an instance is safe to share between tasks and threads; they run
/// one after another. Independent instances (each with a private copy of the library) run in parallel:
/// see `SpicePool`. After a fatal ngspice error the instance unloads its copy and loads a fresh one on the
/// next call, so it never reuses a dead simulator and never takes the process down.
public final class SpiceInstance: @unchecked Sendable {
    /// Distinguishes instances in file names and logs.
    public let id: Int
    private let worker: SerialWorker
    private let session: NgspiceSession

    /// Instance numbers, unique in the process (they name the private library copy and the worker thread).
    private static let lastID = Atomic<Int>(0)

    /// The bounds every simulation of this instance runs within.
    public let limits: SpiceLimits

    /// Creates (and loads) an instance. Throws if ngspice cannot be found or loaded.
    public init(installation: NgspiceInstallation? = nil, limits: SpiceLimits = .standard()) throws {
        self.limits = limits
        let inst = try installation ?? NgspiceInstallation.locate()
        id = SpiceInstance.lastID.add(1, ordering: .relaxed).newValue
        worker = SerialWorker(name: "ngspice-\(id)")
        session = NgspiceSession(installation: inst, instanceID: id, limits: limits)
        let session = session
        try worker.sync { _ = try session.ensureLoaded() }
    }

    deinit {
        let session = session
        worker.submit { session.shutdown() }
        worker.stop()
    }

    /// How many times this instance has loaded the library (1 + the number of recoveries from fatal errors).
    public var generation: Int {
        let session = session
        return (try? worker.sync { session.generation }) ?? 0
    }

    /// Mirrors every line ngspice prints to `handler` (nil to stop), e.g. for `--verbose`.
    public func setEcho(_ handler: (@Sendable (String) -> Void)?) {
        session.sink.echo = handler
    }

    /// Loads `netlist`, runs `analysis` and returns the vectors; blocks the calling thread.
    public func simulate(_ netlist: Netlist, analysis: Analysis = .netlist) throws -> SimulationResult {
        let session = session
        return try worker.sync { try session.simulate(netlist, analysis: analysis) }
    }

    /// Loads `netlist`, runs `analysis` and returns the vectors; suspends the calling task.
    public func simulate(_ netlist: Netlist, analysis: Analysis = .netlist) async throws -> SimulationResult {
        let session = session
        return try await worker.run { try session.simulate(netlist, analysis: analysis) }
    }

    /// Sends a raw ngspice command (e.g. `version -f`) and returns the lines it printed.
    public func command(_ text: String) throws -> [String] {
        let session = session
        return try worker.sync { try session.command(text) }
    }

    /// The ngspice version string of the loaded library (e.g. "ngspice-39").
    public func version() throws -> String {
        let lines = try command("version -s")
        let line = lines.first { $0.lowercased().contains("ngspice") } ?? lines.joined(separator: " ")
        return line.trimmingCharacters(in: CharacterSet(charactersIn: "* \t"))
    }
}

/// The part of an instance that touches ngspice; used only on the instance's worker thread.
final class NgspiceSession: @unchecked Sendable {
    let installation: NgspiceInstallation
    let instanceID: Int
    let limits: SpiceLimits
    let sink = OutputSink()
    private var library: NgspiceLibrary?
    private(set) var generation = 0

    init(installation: NgspiceInstallation, instanceID: Int, limits: SpiceLimits) {
        self.installation = installation
        self.instanceID = instanceID
        self.limits = limits
    }

    @discardableResult
    func ensureLoaded() throws -> NgspiceLibrary {
        if let library { return library }
        generation += 1
        let tag = "\(getpid())-\(instanceID)-\(generation)"
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-ngspice-\(tag)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let lib = try NgspiceLibrary(installation: installation, folder: folder, tag: tag)
        sink.reset()
        let userData = Unmanaged.passUnretained(sink).toOpaque()
        // ngSpice_Init reads SPICE_SCRIPTS (where spinit is) from the process environment, which is
        // process-global: hold the load lock while it is pointed at this instance's private folder.
        let rc: Int32 = ngspiceLoadLock.withLock {
            let previous = getenv("SPICE_SCRIPTS").map { String(cString: $0) }
            setenv("SPICE_SCRIPTS", folder.path, 1)
            defer {
                if let previous { setenv("SPICE_SCRIPTS", previous, 1) } else { unsetenv("SPICE_SCRIPTS") }
            }
            return NgspiceLibrary.keepingSignalHandlers { lib.initialize(
                { text, _, user in
                    guard let text, let user else { return 0 }
                    Unmanaged<OutputSink>.fromOpaque(user).takeUnretainedValue().append(String(cString: text))
                    return 0
                },
                nil,
                { status, _, _, _, user in
                    guard let user else { return 0 }
                    Unmanaged<OutputSink>.fromOpaque(user).takeUnretainedValue().requestExit(status: status)
                    return 0
                },
                nil, nil,
                { ended, _, user in
                    guard ended, let user else { return 0 }
                    Unmanaged<OutputSink>.fromOpaque(user).takeUnretainedValue().backgroundEnded()
                    return 0
                },
                userData) }
        }
        if rc != 0 || sink.exitStatus != nil {
            lib.close()
            throw SpiceError.libraryLoadFailed(path: installation.library.path, reason: "ngSpice_Init failed: " + sink.lines.map(OutputSink.stripPrefix).joined(separator: " | "))
        }
        if sink.lines.contains(where: { $0.contains("can't find the initialization file spinit") }) {
            lib.close()
            throw SpiceError.libraryLoadFailed(path: installation.library.path, reason: "ngspice found no spinit; install the `ngspice` package (it ships spinit and the code models)")
        }
        lib.scopeCodeModels()
        library = lib
        return lib
    }

    /// Drops the current library after a fatal error; the next call loads a fresh copy.
    private func discardLibrary() {
        library?.close()
        library = nil
    }

    /// Drops a library whose background thread could not be stopped: unmapping code a thread still runs would
    /// crash the process, so the copy stays loaded (its thread ends when the analysis does) and is never used
    /// again.
    private func abandonLibrary() {
        library = nil
    }

    /// Runs `command` on ngspice's background thread and waits for it within the time limit. On timeout the
    /// thread is halted (`bg_halt`) and the library replaced, so the instance is usable afterwards.
    private func runBounded(_ command: String, _ lib: NgspiceLibrary) throws -> Int32 {
        sink.backgroundStarted()
        let rc = lib.run(command: "bg_" + command)
        if rc != 0 { return rc }
        if sink.waitForBackground(seconds: limits.timeLimit) { return 0 }
        _ = lib.run(command: "bg_halt")
        let reached = readPlot(NgspiceLibrary.strings(lib.allPlots()).first ?? "", lib)
            .vectors.first { $0.quantity == .time }?.real.last
        if sink.waitForBackground(seconds: 5) {
            // The thread has signalled its end; join it (ngspice does on its next command) before unmapping.
            _ = lib.run(command: "bg_halt")
            discardLibrary()
        } else {
            abandonLibrary()
        }
        throw SpiceError.timedOut(seconds: limits.timeLimit ?? 0, simulatedTime: reached)
    }

    func shutdown() { discardLibrary() }

    func command(_ text: String) throws -> [String] {
        let lib = try ensureLoaded()
        sink.reset()
        let rc = lib.run(command: text)
        let printed = sink.lines.map(OutputSink.stripPrefix)
        if rc != 0 || sink.exitStatus != nil {
            let status = sink.exitStatus ?? rc
            discardLibrary()
            throw SpiceError.fatal(status: status, messages: printed)
        }
        return printed
    }

    /// Frees the circuit and every plot, keeping memory bounded over thousands of runs.
    private func clear(_ lib: NgspiceLibrary) {
        _ = lib.run(command: "destroy all")
        _ = lib.run(command: "remcirc")
    }

    func simulate(_ netlist: Netlist, analysis: Analysis) throws -> SimulationResult {
        let runCommand = try analysis.command()
        try AnalysisBounds.check(netlist, analysis, limits: limits)
        let lib = try ensureLoaded()
        sink.reset()
        var loaded = false
        defer {
            if library != nil {
                if loaded { clear(lib) }
                sink.reset()
            }
        }

        let deck = netlist.deck
        let loadRC = lib.load(deck: deck)
        let loadLines = sink.lines
        if loadRC != 0 || sink.exitStatus != nil {
            let status = sink.exitStatus ?? loadRC
            discardLibrary()
            throw SpiceDiagnostics.fatalError(status: status, lines: loadLines, netlist: netlist)
        }
        loaded = true
        if let error = SpiceDiagnostics.loadError(lines: loadLines, netlist: netlist) {
            throw error
        }

        let plotsBefore = Set(NgspiceLibrary.strings(lib.allPlots()))
        let runRC = try runBounded(runCommand, lib)
        let allLines = sink.lines
        if runRC != 0 || sink.exitStatus != nil {
            let status = sink.exitStatus ?? runRC
            discardLibrary()
            throw SpiceDiagnostics.fatalError(status: status, lines: allLines, netlist: netlist)
        }
        let newPlots = NgspiceLibrary.strings(lib.allPlots()).filter { !plotsBefore.contains($0) }.reversed()
        let plots = newPlots.map { readPlot($0, lib) }
        let runLines = Array(allLines.dropFirst(loadLines.count))
        if let error = SpiceDiagnostics.runError(lines: runLines, allLines: allLines, netlist: netlist, plots: plots) {
            throw error
        }
        return SimulationResult(
            plots: plots,
            warnings: netlist.notes + SpiceDiagnostics.warnings(in: allLines).map(netlist.redactor()),
            log: allLines.map(OutputSink.stripPrefix))
    }

    private func readPlot(_ name: String, _ lib: NgspiceLibrary) -> SpicePlot {
        let names = name.withCString { p in NgspiceLibrary.strings(lib.allVecs(UnsafeMutablePointer(mutating: p))) }
        var vectors: [SpiceVector] = []
        for vec in names {
            let full = "\(name).\(vec)"
            let info = full.withCString { p in lib.getVecInfo(UnsafeMutablePointer(mutating: p)) }
            guard let info else { continue }
            let v = info.pointee
            let n = Int(max(0, v.v_length))
            let quantity = SpiceQuantity(code: v.v_type)
            if let real = v.v_realdata {
                vectors.append(SpiceVector(name: vec, quantity: quantity, real: Array(UnsafeBufferPointer(start: real, count: n))))
            } else if let comp = v.v_compdata {
                let values: [Complex<Double>] = UnsafeBufferPointer(start: comp, count: n).map { Complex($0.cx_real, $0.cx_imag) }
                vectors.append(SpiceVector(name: vec, quantity: quantity, real: values.map(\.real), complex: values))
            } else {
                vectors.append(SpiceVector(name: vec, quantity: quantity, real: []))
            }
        }
        // ngspice lists vectors newest first; present the scale first, then the rest in netlist order.
        vectors.reverse()
        if let s = vectors.firstIndex(where: { $0.quantity == .time || $0.quantity == .frequency }), s != 0 {
            vectors.insert(vectors.remove(at: s), at: 0)
        }
        let kind = String(name.prefix { $0.isLetter }).lowercased()
        return SpicePlot(name: name, kind: kind, vectors: vectors)
    }
}
