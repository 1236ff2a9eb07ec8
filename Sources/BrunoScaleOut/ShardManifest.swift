import BrunoSupport
import Foundation

/// What a sharded job is, written once when it is planned and read by every shard and by the merge: the job's
/// kind, its items and how they are split, the base seed, the checksums of the input files, and the job's own
/// plan (everything a shard needs, so that a shard on another machine computes exactly what this one would).
///
/// `checksum` is the SHA-256 of the manifest encoded with an empty checksum: a manifest edited by hand no longer
/// matches it and is refused, and every shard records the checksum it ran under, so shards of different plans are
/// never merged.
public struct ShardManifest<Plan: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public static var format: String { "bruno-shards" }
    public static var currentVersion: Int { 1 }

    public var format: String
    public var version: Int
    public var kind: String
    public var layout: ShardLayout
    public var seed: UInt64
    /// SHA-256 of every input file, by path as the plan names it.
    public var inputs: [String: String]
    /// When it was planned (`SOURCE_DATE_EPOCH` if set); informative only.
    public var planned: String
    public var plan: Plan
    public var checksum: String

    public init(kind: String, layout: ShardLayout, seed: UInt64, inputs: [String: String], plan: Plan) {
        self.format = Self.format
        self.version = Self.currentVersion
        self.kind = kind
        self.layout = layout
        self.seed = seed
        self.inputs = inputs
        self.planned = ReproducibleDate.now()
        self.plan = plan
        self.checksum = ""
        self.checksum = computedChecksum()
    }

    func computedChecksum() -> String {
        var body = self
        body.checksum = ""
        return SHA256.hex((try? ShardJSON.encode(body)) ?? Data())
    }

    /// Throws `ShardError.mismatch` naming the first input file whose content is no longer what was planned: shards
    /// computed before and after such a change would mix two inputs (`consequence` says what that would mean).
    public func verifyInputs(consequence: String) throws {
        for (path, sha) in inputs.sorted(by: { $0.key < $1.key }) {
            let now = (try? SHA256.hex(ofFile: URL(fileURLWithPath: path))) ?? "missing"
            guard now == sha else {
                throw ShardError.mismatch("\(path) changed since the job was planned (SHA-256 \(now.prefix(12))…, planned \(sha.prefix(12))…); "
                    + "\(consequence). Re-plan into a new folder")
            }
        }
    }

    /// Nil when `other` (a folder's manifest) is the same job as this one: everything but the planning date and the
    /// checksum equal; otherwise what differs, this one's value first.
    public func sameJob(as other: ShardManifest<Plan>) -> String? {
        if kind != other.kind { return "a \(other.kind) job, not \(kind)" }
        if layout != other.layout {
            return "\(layout.itemCount) items in \(layout.shardCount) shards; the folder's: \(other.layout.itemCount) in \(other.layout.shardCount)"
        }
        if seed != other.seed { return "seed \(seed); the folder's: \(other.seed)" }
        if inputs != other.inputs {
            let changed = Set(inputs.keys).union(other.inputs.keys).sorted().filter { inputs[$0] != other.inputs[$0] }
            return "inputs changed: " + changed.joined(separator: ", ")
        }
        if plan != other.plan { return "the job's settings differ" }
        return nil
    }
}

/// The one JSON form of everything sharded work writes: sorted keys, so equal values are equal bytes.
public enum ShardJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var data = try e.encode(value)
        data.append(0x0A)
        return data
    }

    public static func decode<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        let data = try Data(contentsOf: url)
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try d.decode(type, from: data)
    }
}
