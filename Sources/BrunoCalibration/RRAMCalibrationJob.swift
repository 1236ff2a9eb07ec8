import BrunoCards
import BrunoDevices
import BrunoScaleOut
import BrunoSpice
import BrunoSupport
import BrunoSurrogates
import Foundation

/// The RRAM calibration as a job of independent items: plan (read the netlist, the nominal level targets, the read
/// nonlinearity), program every item — one (set, level, device, cycle) programming — and merge (fit, card,
/// report). `RRAMCalibrationRun` does all three in one process; sharded runs do the middle part in shards.
///
/// Item `i` is the same programming whoever computes it: its variability draws depend only on the set's seed and the
/// device and cycle indices (`RRAMVariability`), never on the shard, so the card is the same for any shard count.
public enum RRAMCalibrationJob {
    public static let kind = "rram-calibration"

    /// Everything a shard needs, fixed when the job is planned.
    public struct Plan: Codable, Sendable, Equatable {
        public var libraryRoot: String
        /// The programming netlist and the protocol file, absolute.
        public var netlist: String
        public var protocolFile: String
        /// The output folder (card and report), absolute.
        public var out: String
        public var readVoltage: Double
        /// Where the read voltage came from: the netlist's `.param vread` (with its file:line) or the protocol.
        public var readVoltagePlace: String?
        public var variability: RRAMVariability
        public var heldOutSeed: UInt64
        public var devices: Int
        public var cycles: Int
        public var heldOutDevices: Int
        public var incremental: RRAMIncrementalProgramming?
        public var nonlinearity: Double
        public var nonlinearityError: Double?
        public var provenance: DeviceCard.Provenance

        /// The number of programmings: 8 levels × cycles × (fit devices + held-out devices).
        public var itemCount: Int { RRAMProgrammer.levels * cycles * (devices + heldOutDevices) }

        /// What item `index` programs: the fit set first, then the held-out set; level-major, then device, cycle.
        public func item(_ index: Int) -> (heldOut: Bool, level: Int, device: Int, cycle: Int) {
            let fitCount = RRAMProgrammer.levels * cycles * devices
            let heldOut = index >= fitCount
            let local = heldOut ? index - fitCount : index
            let perLevel = (heldOut ? heldOutDevices : devices) * cycles
            return (heldOut, local / perLevel, local % perLevel / cycles, local % cycles)
        }

        func programmer() -> RRAMProgrammer {
            var p = RRAMProgrammer(library: DeviceLibrary(root: URL(fileURLWithPath: libraryRoot)))
            p.netlistURL = URL(fileURLWithPath: netlist)
            p.readVoltage = readVoltage
            return p
        }

        func variability(heldOut: Bool) -> RRAMVariability {
            var v = variability
            if heldOut { v.seed = heldOutSeed }
            return v
        }

        /// The input files and their SHA-256 (the netlist, what it includes, the protocol), as the manifest records them.
        public func inputs() throws -> [String: String] {
            try calibrationInputs(netlist: netlist, protocolFile: protocolFile)
        }
    }

    /// One programming's outcome: the read conductance, and for incremental programming the pulses it took and
    /// whether it ended inside the window.
    public struct ItemResult: Codable, Sendable, Equatable {
        public var conductance: Double
        public var pulses: Int?
        public var verified: Bool?
        /// Energy [J] the programming drew from the bit line, verify reads included.
        public var energy: Double?
    }

    public typealias Folder = ShardFolder<Plan, ItemResult>

    /// Reads the netlist (read voltage, declared variability), programs each level on a nominal device for the
    /// incremental targets, fits the read nonlinearity: the deterministic part every shard shares.
    public static func plan(_ protocolFile: RRAMProtocol, netlistOverride: URL?, library: DeviceLibrary, out: URL, spice: SpiceInstance,
                            log: (String) -> Void) throws -> Plan {
        var p = protocolFile
        let netlistURL = (netlistOverride ?? p.netlist).standardizedFileURL
        // What the netlist sets: the read voltage, and the variability if it declares it (ngspice evaluates both).
        let netlist = try Netlist(contentsOf: netlistURL)
        let structure = netlist.structure
        let names = ["vread"] + RRAMCalibrationRun.variabilityParameters.map(\.netlist)
        let declared = names.filter { structure.parameters[$0] != nil }
        let values = try ParameterProbe.calibrationValues(netlist, declared.map { .init($0) }, spice: spice)
        var read: [String: (value: Double, place: String)] = [:]
        for (name, value) in zip(declared, values) {
            guard let value else { throw CalibrationError.netlistShape("\(netlist.name): `\(name)` has no finite value") }
            read[name] = (value, netlist.place(ofLineAt: structure.parameters[name]!.lineIndex))
        }
        guard let netlistRead = read["vread"] else {
            throw CalibrationError.netlistShape("\(netlist.name) defines no top-level `.param vread` (the read voltage)")
        }
        let readVoltage = p.readVoltage ?? netlistRead.value
        if let given = p.readVoltage, given != netlistRead.value {
            log("the protocol's read_voltage \(given) V replaces the netlist's vread \(netlistRead.value) V (\(netlistRead.place))")
        }
        for v in RRAMCalibrationRun.variabilityParameters {
            guard let (value, place) = read[v.netlist] else { continue }
            guard value >= 0, value <= 1 else {
                throw CalibrationError.netlistShape("\(place): `\(v.netlist)` = \(value) is not a relative standard deviation in [0, 1]")
            }
            if p.variabilityGiven.contains(v.protocolKey) { log("the netlist's \(v.netlist) = \(value) (\(place)) replaces the protocol's \(v.protocolKey)") }
            p.variability[keyPath: v.keyPath] = value
        }
        var programmer = RRAMProgrammer(library: library)
        programmer.netlistURL = netlistURL
        programmer.readVoltage = readVoltage
        if var ispp = p.incremental {
            // The levels' target conductances are what this netlist's compliance table programs on a nominal device.
            var targets: [Double] = []
            for level in 0..<RRAMProgrammer.levels { targets.append(try programmer.program(level: level, on: spice).conductance) }
            for (level, pair) in zip(targets, targets.dropFirst()).enumerated() where pair.1 <= pair.0 {
                throw CalibrationError.netlistShape("\(netlist.name): on a nominal device level \(level + 1) reads "
                    + String(format: "%.4g µS, not above level %d's %.4g µS", pair.1 * 1e6, level, pair.0 * 1e6)
                    + "; the compliance table (ic0…ic7) must increase")
            }
            log("level targets from the netlist (nominal device): " + targets.map { String(format: "%.4g", $0 * 1e6) }.joined(separator: ", ") + " µS")
            ispp.targets = targets
            p.incremental = ispp
        }
        let calibration = RRAMCalibration(programmer: programmer, variability: p.variability, devices: p.devices, cycles: p.cycles,
                                          incremental: p.incremental)
        let nl = try calibration.readNonlinearity(on: spice, library: library)
        let provenance = try DeviceCard.Provenance.now(netlist: netlistURL, protocolFile: p.file,
                                                       seeds: ["variability": p.variability.seed, "held_out": p.heldOutSeed],
                                                       tool: "bruno calibrate rram", spice: spice)
        return Plan(libraryRoot: library.root.standardizedFileURL.path, netlist: netlistURL.path, protocolFile: p.file.standardizedFileURL.path,
                    out: out.standardizedFileURL.path, readVoltage: readVoltage,
                    readVoltagePlace: p.readVoltage == nil ? netlistRead.place : nil, variability: p.variability, heldOutSeed: p.heldOutSeed,
                    devices: p.devices, cycles: p.cycles, heldOutDevices: p.heldOutDevices, incremental: p.incremental,
                    nonlinearity: nl.v0, nonlinearityError: nl.error, provenance: provenance)
    }

    /// Programs the items `range` in SPICE on `pool`, in parallel; a failed programming is an error naming it.
    public static func program(_ range: Range<Int>, of plan: Plan, on pool: SpicePool,
                               progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> [ItemResult] {
        let programmer = plan.programmer()
        let cells = range.map { plan.item($0) }
        let counter = AtomicCounter()
        func failure(_ cell: (heldOut: Bool, level: Int, device: Int, cycle: Int), _ e: Error) -> Error {
            let set = cell.heldOut ? "held-out set" : "fit set"
            return CalibrationError.stimulusFailed(stimulus: "\(set): level \(cell.level), device \(cell.device), cycle \(cell.cycle)",
                                                   reason: (e as? SpiceError)?.description ?? "\(e)")
        }
        if let ispp = plan.incremental {
            // A programming is a sequence of dependent SPICE runs; keep two per instance in flight (one simulating, one
            // being prepared) so that programmings finish in order and the progress count means something. Results do
            // not depend on the order.
            let window = 2 * pool.count
            return try await withThrowingTaskGroup(of: (Int, ItemResult).self) { group in
                func start(_ i: Int) {
                    let cell = cells[i]
                    group.addTask {
                        do {
                            let o = try await ispp.program(level: cell.level, device: cell.device, firstCycle: cell.cycle * ispp.maxPulses,
                                                           variability: plan.variability(heldOut: cell.heldOut), programmer: programmer, on: pool)
                            progress?(counter.increment(), cells.count)
                            return (i, ItemResult(conductance: o.result.conductance, pulses: o.pulses, verified: o.verified,
                                                        energy: o.energy))
                        } catch { throw failure(cell, error) }
                    }
                }
                var next = 0
                while next < min(window, cells.count) { start(next); next += 1 }
                var out = [ItemResult?](repeating: nil, count: cells.count)
                for try await (i, o) in group {
                    out[i] = o
                    if next < cells.count { start(next); next += 1 }
                }
                return out.map { $0! }
            }
        }
        var jobs: [(Netlist, Analysis)] = []
        for cell in cells {
            let v = plan.variability(heldOut: cell.heldOut)
            jobs.append((try programmer.netlist(level: cell.level, device: v.device(cell.device), cycle: v.cycle(device: cell.device, cycle: cell.cycle)),
                         .netlist))
        }
        let results = await pool.simulateAll(jobs, progress: progress)
        return try zip(cells, results).map { cell, result in
            switch result {
            case .failure(let e): throw failure(cell, e)
            case .success(let r):
                do {
                    let p = try programmer.result(r, level: cell.level)
                    return ItemResult(conductance: p.conductance, energy: p.energy)
                } catch { throw failure(cell, error) }
            }
        }
    }

    /// Fits the per-level statistics from every item's result (in item order), writes the card and the report into
    /// the plan's output folder. Pure: the same results give the same bytes.
    public static func merge(_ plan: Plan, results: [ItemResult], log: (String) -> Void) throws -> RRAMCalibrationRun.Outcome {
        guard results.count == plan.itemCount else {
            throw ShardError.mismatch("\(results.count) programming results for a plan of \(plan.itemCount)")
        }
        let levels = RRAMProgrammer.levels
        let fitCount = levels * plan.cycles * plan.devices
        func fits(_ slice: ArraySlice<ItemResult>, devices: Int) -> [RRAMLevelFit] {
            let perLevel = devices * plan.cycles
            return (0..<levels).map { level in
                let start = slice.startIndex + level * perLevel
                return RRAMCalibration.analyse(level: level, values: slice[start..<(start + perLevel)].map(\.conductance),
                                               devices: devices, cycles: plan.cycles)
            }
        }
        let fitted = fits(results[0..<fitCount], devices: plan.devices)
        let heldOut = fits(results[fitCount...], devices: plan.heldOutDevices)
        let surrogate = RRAMSynapse(levels: fitted.map { .init(conductance: $0.conductance, deviceSpread: $0.deviceSpread, cycleSpread: $0.cycleSpread) },
                                    readVoltage: plan.readVoltage, nonlinearity: plan.nonlinearity)
        var parameters: [DeviceCard.Parameter] = []
        var stats: [String: Double] = [:]
        var worstMean = 0.0, worstSpread = 0.0
        for (f, h) in zip(fitted, heldOut) {
            parameters.append(.init(name: "level\(f.level).conductance", value: f.conductance, unit: "S", fitted: true, stderr: f.conductanceError,
                                    lower: nil, upper: nil, atBound: nil))
            parameters.append(.init(name: "level\(f.level).deviceSpread", value: f.deviceSpread, unit: "1", fitted: true, stderr: nil,
                                    lower: nil, upper: nil, atBound: nil))
            parameters.append(.init(name: "level\(f.level).cycleSpread", value: f.cycleSpread, unit: "1", fitted: true, stderr: nil,
                                    lower: nil, upper: nil, atBound: nil))
            let meanError = abs(f.conductance - h.conductance) / h.conductance
            let spreadError = abs(surrogate.levels[f.level].totalSpread - RRAMCalibrationRun.totalSpread(h)) / RRAMCalibrationRun.totalSpread(h)
            stats["level\(f.level).held_out_mean_error"] = meanError
            stats["level\(f.level).held_out_spread_error"] = spreadError
            stats["level\(f.level).held_out_ks_p"] = RRAMCalibrationRun.kolmogorovSmirnov(f.values, h.values).p
            worstMean = max(worstMean, meanError)
            worstSpread = max(worstSpread, spreadError)
        }
        stats["held_out_mean_error_max"] = worstMean
        stats["held_out_spread_error_max"] = worstSpread
        if let ispp = plan.incremental {
            // Programming statistics of the fit set (the held-out set only judges the fit).
            let fit = results[0..<fitCount]
            let perLevel = plan.devices * plan.cycles
            stats["ispp_mean_pulses"] = Double(fit.map { $0.pulses ?? 0 }.reduce(0, +)) / Double(fitCount)
            stats["ispp_unverified"] = Double(fit.filter { $0.verified == false }.count)
            stats["ispp_tolerance"] = ispp.tolerance
            stats["ispp_start_fraction"] = ispp.startFraction
            stats["ispp_step_pulse"] = ispp.stepPulse
            stats["ispp_max_pulses"] = Double(ispp.maxPulses)
            for level in 0..<levels {
                let count = fit[(level * perLevel)..<((level + 1) * perLevel)].filter { $0.verified == false }.count
                guard count > 0 else { continue }
                let fraction = Double(count) / Double(perLevel)
                stats["level\(level).unverified_fraction"] = fraction
                if fraction > 0.1 {
                    log(String(format: "WARNING: level %d: %.0f %% of programmings ended outside ±%.0f %% of its target %.4g µS after at most %d "
                               + "pulses; raise [programming] max_pulses or the level's compliance in the netlist",
                               level, fraction * 100, ispp.tolerance * 100, ispp.targets[level] * 1e6, ispp.maxPulses))
                }
            }
        }
        parameters.append(.init(name: "readVoltage", value: plan.readVoltage, unit: "V", fitted: false, stderr: nil, lower: nil, upper: nil,
                                atBound: nil, source: plan.readVoltagePlace == nil ? "protocol" : "netlist", place: plan.readVoltagePlace))
        parameters.append(.init(name: "nonlinearity", value: plan.nonlinearity, unit: "V", fitted: true, stderr: plan.nonlinearityError,
                                lower: 0.01, upper: 10, atBound: false))
        let card = DeviceCard(format: DeviceCard.format, version: DeviceCard.currentVersion, device: "rram", parameters: parameters,
                              statistics: stats, stimuli: nil, correlation: nil, provenance: plan.provenance)
        let out = URL(fileURLWithPath: plan.out)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try AtomicFile.write(try card.encoded(), to: out.appendingPathComponent("rram.card.json"))
        try RRAMCalibrationRun.report(surrogate: surrogate, fitted: fitted, heldOut: heldOut, card: card, to: out)
        return RRAMCalibrationRun.Outcome(card: card, surrogate: surrogate, fitted: fitted, heldOut: heldOut)
    }

    /// Runs shard `index` of the job in `folder` on `pool`: checks that the input files are still the planned ones,
    /// then programs its items (skipped when it is already finished).
    public static func runShard(_ index: Int, folder: Folder, pool: SpicePool, log: @escaping @Sendable (String) -> Void) async throws
        -> Folder.ShardRun
    {
        let manifest = try folder.readManifest()
        try manifest.verifyInputs(consequence: "its shards would mix two circuits")
        let version = (try? pool.instances[0].version()) ?? "ngspice (version unknown)"
        return try await folder.run(index, of: manifest, ngspice: version, instances: pool.count) { range in
            let step = max(1, range.count / 10)
            return try await program(range, of: manifest.plan, on: pool) { done, all in
                if done % step == 0 || done == all { log("  shard \(index): programmed \(done)/\(all)") }
            }
        }
    }

    /// The job's manifest in `folder`: planned now (on `spice()`, into `shards` shards) if the folder holds none, or
    /// the existing one if it describes the same netlist, protocol and output with unchanged input files (so that a
    /// rerun after an interruption reuses the finished shards). Anything else is an error naming the difference.
    public static func planOrReuse(folder: Folder, protocolFile: RRAMProtocol, netlistOverride: URL?, library: DeviceLibrary, out: URL,
                                   shards: Int?, spice: () throws -> SpiceInstance, log: (String) -> Void) throws -> ShardManifest<Plan> {
        if FileManager.default.fileExists(atPath: folder.manifestURL.path) {
            let m = try folder.readManifest()
            let netlist = (netlistOverride ?? protocolFile.netlist).standardizedFileURL.path
            var differences: [String] = []
            if m.plan.netlist != netlist { differences.append("netlist \(netlist) vs \(m.plan.netlist)") }
            if m.plan.protocolFile != protocolFile.file.standardizedFileURL.path { differences.append("protocol \(protocolFile.file.path)") }
            if m.plan.out != out.standardizedFileURL.path { differences.append("output \(out.path) vs \(m.plan.out)") }
            if let shards, shards != m.layout.shardCount { differences.append("--shards \(shards) vs \(m.layout.shardCount)") }
            for (path, sha) in m.inputs.sorted(by: { $0.key < $1.key }) where (try? SHA256.hex(ofFile: URL(fileURLWithPath: path))) != sha {
                differences.append("\(path) changed")
            }
            guard differences.isEmpty else { throw ShardError.otherJob(folder: folder.root.path, difference: differences.joined(separator: "; ")) }
            log("reusing the plan in \(folder.manifestURL.path) (planned \(m.planned))")
            return m
        }
        let plan = try self.plan(protocolFile, netlistOverride: netlistOverride, library: library, out: out, spice: try spice(), log: log)
        let layout = try ShardLayout(itemCount: plan.itemCount, shardCount: shards ?? 1)
        return try folder.plan(ShardManifest(kind: kind, layout: layout, seed: plan.variability.seed, inputs: try plan.inputs(), plan: plan))
    }

    /// Merges the finished shards in `folder` into the card and report (refused while any shard is missing).
    public static func mergeShards(folder: Folder, log: (String) -> Void) throws -> (RRAMCalibrationRun.Outcome, ShardMergeSummary) {
        let manifest = try folder.readManifest()
        let out = URL(fileURLWithPath: manifest.plan.out)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let lock = try RunFolderLock(out)
        defer { lock.release() }
        let (results, summary) = try folder.collect(manifest)
        return (try merge(manifest.plan, results: results, log: log), summary)
    }
}
