import BrunoSupport
import Foundation

/// A sharded job on disk, in `root` (usually `<run>/shards`):
///
///     manifest.json          the plan (ShardManifest), written once
///     shard-0003.json        shard 3's results (ShardRecord), written atomically when it finishes
///     logs/shard-0003.log    what shard 3's worker printed (engines write it)
///     slurm/*.sbatch         the scripts the Slurm engine submits (editable)
///     merge.json             what the merge used (ShardMergeSummary)
///
/// A shard whose file exists and belongs to this manifest is finished and is skipped when run again; the merge
/// refuses to run while any is missing and lists the ones to resubmit.
public struct ShardFolder<Plan: Codable & Sendable & Equatable, Result: Codable & Sendable>: Sendable {
    public let root: URL
    public let kind: String

    public init(root: URL, kind: String) {
        self.root = root
        self.kind = kind
    }

    public var manifestURL: URL { root.appendingPathComponent("manifest.json") }
    public var logs: URL { root.appendingPathComponent("logs") }
    public var slurm: URL { root.appendingPathComponent("slurm") }
    public var summaryURL: URL { root.appendingPathComponent("merge.json") }
    public func shardURL(_ index: Int) -> URL { root.appendingPathComponent(String(format: "shard-%04d.json", index)) }
    public func logURL(_ index: Int) -> URL { logs.appendingPathComponent(String(format: "shard-%04d.log", index)) }

    /// Writes `manifest` unless the folder already holds one; an existing manifest of the same job is kept (its
    /// finished shards stay valid), one of another job is an error.
    @discardableResult
    public func plan(_ manifest: ShardManifest<Plan>) throws -> ShardManifest<Plan> {
        if FileManager.default.fileExists(atPath: manifestURL.path) {
            let existing = try readManifest()
            if let difference = manifest.sameJob(as: existing) {
                throw ShardError.otherJob(folder: root.path, difference: difference)
            }
            return existing
        }
        try AtomicFile.write(try ShardJSON.encode(manifest), to: manifestURL)
        return manifest
    }

    /// The manifest, checked: readable, this job's kind, and what its checksum says it is.
    public func readManifest() throws -> ShardManifest<Plan> {
        let file = manifestURL.path
        guard FileManager.default.fileExists(atPath: file) else {
            throw ShardError.manifest(file: file, reason: "no manifest: this folder was never planned (run the job's command first)")
        }
        let m: ShardManifest<Plan>
        do { m = try ShardJSON.decode(ShardManifest<Plan>.self, from: manifestURL) } catch {
            throw ShardError.manifest(file: file, reason: "not a readable \(kind) manifest (\(ShardFolder.reason(error)))")
        }
        guard m.format == ShardManifest<Plan>.format, m.version == ShardManifest<Plan>.currentVersion else {
            throw ShardError.manifest(file: file, reason: "format \(m.format) v\(m.version), expected \(ShardManifest<Plan>.format) v\(ShardManifest<Plan>.currentVersion)")
        }
        guard m.kind == kind else { throw ShardError.manifest(file: file, reason: "a \(m.kind) job, expected \(kind)") }
        let actual = m.computedChecksum()
        guard actual == m.checksum else {
            throw ShardError.manifest(file: file, reason: "its contents do not match its checksum (recorded \(m.checksum.prefix(12))…, "
                + "contents \(actual.prefix(12))…): it was edited after planning. Shards must all run one plan; re-plan into a new folder")
        }
        return m
    }

    /// Reads shard `index`'s record if it is finished and valid for `manifest`; nil if absent.
    public func finishedRecord(_ index: Int, of manifest: ShardManifest<Plan>) throws -> ShardRecord<Result>? {
        let url = shardURL(index)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let r: ShardRecord<Result>
        do { r = try ShardJSON.decode(ShardRecord<Result>.self, from: url) } catch {
            throw ShardError.badShard(file: url.path, reason: "not a readable shard record (\(ShardFolder.reason(error))); remove it and run shard \(index) again")
        }
        let items = manifest.layout.items(ofShard: index)
        guard r.kind == manifest.kind else { throw ShardError.badShard(file: url.path, reason: "a \(r.kind) shard in a \(manifest.kind) job") }
        guard r.manifestChecksum == manifest.checksum else {
            throw ShardError.badShard(file: url.path, reason: "computed under another manifest (\(r.manifestChecksum.prefix(12))…, this one is "
                + "\(manifest.checksum.prefix(12))…); remove it and run shard \(index) again")
        }
        guard r.index == index, r.firstItem == items.lowerBound, r.results.count == items.count else {
            throw ShardError.badShard(file: url.path, reason: "holds shard \(r.index), items \(r.firstItem)..<\(r.firstItem + r.results.count); "
                + "expected shard \(index), items \(items.lowerBound)..<\(items.upperBound)")
        }
        return r
    }

    /// Shard indices without a finished record.
    public func missing(of manifest: ShardManifest<Plan>) throws -> [Int] {
        try (0..<manifest.layout.shardCount).filter { try finishedRecord($0, of: manifest) == nil }
    }

    public enum ShardRun: Sendable, Equatable { case computed, alreadyFinished }

    /// Runs shard `index` unless it is finished: `work` computes the results of its items (in item order); the
    /// record is written atomically, so a killed shard leaves nothing and is simply run again.
    public func run(_ index: Int, of manifest: ShardManifest<Plan>, ngspice: String, instances: Int,
                    work: (Range<Int>) async throws -> [Result]) async throws -> ShardRun {
        guard index >= 0, index < manifest.layout.shardCount else {
            throw ShardError.badLayout("shard \(index) does not exist: the job has shards 0…\(manifest.layout.shardCount - 1)")
        }
        if try finishedRecord(index, of: manifest) != nil { return .alreadyFinished }
        let items = manifest.layout.items(ofShard: index)
        let t0 = Date()
        let results = try await work(items)
        guard results.count == items.count else {
            throw ShardError.mismatch("shard \(index): \(results.count) results for \(items.count) items")
        }
        let record = ShardRecord(kind: manifest.kind, manifestChecksum: manifest.checksum, index: index, firstItem: items.lowerBound,
                                 results: results, ngspice: ngspice, wallSeconds: Date().timeIntervalSince(t0), instances: instances)
        try AtomicFile.write(try ShardJSON.encode(record), to: shardURL(index))
        return .computed
    }

    /// Every item's result in item order, from all shards; throws `missing` (naming the indices) unless every
    /// shard is finished, and `mismatch` if they ran on different ngspice versions. Writes `merge.json`.
    public func collect(_ manifest: ShardManifest<Plan>) throws -> (results: [Result], summary: ShardMergeSummary) {
        var results: [Result] = []
        results.reserveCapacity(manifest.layout.itemCount)
        var missing: [Int] = []
        var shards: [ShardMergeSummary.Shard] = []
        var versions: [String: [Int]] = [:]
        for i in 0..<manifest.layout.shardCount {
            guard let r = try finishedRecord(i, of: manifest) else { missing.append(i); continue }
            results += r.results
            versions[r.ngspice, default: []].append(i)
            shards.append(.init(index: i, items: r.results.count, sha256: try SHA256.hex(ofFile: shardURL(i)), host: r.host,
                                wallSeconds: r.wallSeconds, instances: r.instances))
        }
        if !missing.isEmpty { throw ShardError.missing(folder: root.path, indices: missing, of: manifest.layout.shardCount) }
        if versions.count > 1 {
            let list = versions.sorted { $0.key < $1.key }.map { "\($0.key): shards \(ShardError.compactList($0.value))" }
            throw ShardError.mismatch("\(root.path): shards ran on different ngspice versions (\(list.joined(separator: "; "))); "
                + "results would mix two simulators. Nothing was merged; rerun the odd shards on one version")
        }
        let summary = ShardMergeSummary(kind: manifest.kind, manifestChecksum: manifest.checksum, ngspice: versions.keys.first ?? "",
                                        shards: shards, coreSeconds: shards.map { $0.wallSeconds * Double($0.instances) }.reduce(0, +))
        try AtomicFile.write(try ShardJSON.encode(summary), to: summaryURL)
        return (results, summary)
    }

    static func reason(_ error: Error) -> String {
        if let d = error as? DecodingError {
            switch d {
            case .keyNotFound(let k, let c): return "missing `\((c.codingPath + [k]).map(\.stringValue).joined(separator: "."))`"
            case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
                return "`\(c.codingPath.map(\.stringValue).joined(separator: "."))`: \(c.debugDescription)"
            @unknown default: return "\(d)"
            }
        }
        return "\(error)"
    }
}

/// The kind of a sharded job in `root`, read without knowing its plan type (for commands that dispatch on it).
public func shardJobKind(in root: URL) throws -> String {
    struct Head: Decodable { var kind: String; var format: String }
    let url = root.appendingPathComponent("manifest.json")
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw ShardError.manifest(file: url.path, reason: "no manifest: not a folder of sharded work")
    }
    do {
        let head = try ShardJSON.decode(Head.self, from: url)
        guard head.format == "bruno-shards" else { throw ShardError.manifest(file: url.path, reason: "format \(head.format), expected bruno-shards") }
        return head.kind
    } catch let e as ShardError { throw e } catch {
        throw ShardError.manifest(file: url.path, reason: "not a readable manifest (\(error))")
    }
}
