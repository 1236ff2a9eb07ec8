import BrunoScaleOut
import Foundation
import XCTest

/// The shard bookkeeping on its own: layouts, idempotent shards, a merge that refuses partial or foreign work.
final class ShardFolderTests: XCTestCase {
    struct Plan: Codable, Sendable, Equatable { var scale: Double }
    typealias Folder = ShardFolder<Plan, Double>

    func folder() throws -> Folder {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-shards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return Folder(root: url, kind: "test-job")
    }

    /// Every item in exactly one shard, in order, sizes within one of each other, for any count up to the items.
    func testLayoutsCoverEveryItemOnceInOrder() throws {
        for items in [1, 7, 64, 1000] {
            for shards in Set([1, 2, 3, 4, 7, items]) where shards <= items {
                let layout = try ShardLayout(itemCount: items, shardCount: shards)
                let ranges = (0..<shards).map(layout.items(ofShard:))
                XCTAssertEqual(ranges.flatMap { Array($0) }, Array(0..<items))
                let sizes = ranges.map(\.count)
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
            }
        }
        XCTAssertThrowsError(try ShardLayout(itemCount: 3, shardCount: 4))
        XCTAssertThrowsError(try ShardLayout(itemCount: 3, shardCount: 0))
    }

    func work(_ plan: Plan) -> (Range<Int>) async throws -> [Double] { { range in range.map { Double($0) * plan.scale } } }

    /// The merged results are the same for 1, 3 and 4 shards; a finished shard is not computed again; the merge names
    /// the missing shards and writes nothing.
    func testMergeIsIndependentOfShardCountAndRefusesMissingShards() async throws {
        var merged: [[Double]] = []
        for shards in [1, 3, 4] {
            let f = try folder()
            let m = try f.plan(ShardManifest(kind: "test-job", layout: try ShardLayout(itemCount: 10, shardCount: shards), seed: 1,
                                              inputs: [:], plan: Plan(scale: 0.5)))
            for i in (0..<shards).reversed() {
                let r = try await f.run(i, of: m, ngspice: "ngspice-42", instances: 1, work: work(m.plan))
                XCTAssertEqual(r, .computed)
            }
            let again = try await f.run(0, of: m, ngspice: "ngspice-42", instances: 1) { _ in XCTFail("recomputed"); return [] }
            XCTAssertEqual(again, .alreadyFinished)
            merged.append(try f.collect(m).results)
        }
        XCTAssertEqual(merged[0], (0..<10).map { Double($0) * 0.5 })
        XCTAssertEqual(merged[1], merged[0])
        XCTAssertEqual(merged[2], merged[0])

        let f = try folder()
        let m = try f.plan(ShardManifest(kind: "test-job", layout: try ShardLayout(itemCount: 10, shardCount: 4), seed: 1, inputs: [:],
                                          plan: Plan(scale: 1)))
        _ = try await f.run(0, of: m, ngspice: "ngspice-42", instances: 1, work: work(m.plan))
        _ = try await f.run(2, of: m, ngspice: "ngspice-42", instances: 1, work: work(m.plan))
        XCTAssertThrowsError(try f.collect(m)) { error in
            XCTAssertEqual(error as? ShardError, .missing(folder: f.root.path, indices: [1, 3], of: 4))
            XCTAssertTrue("\(error)".contains("1,3"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.summaryURL.path), "nothing merged")
        // Shards of two ngspice versions are not mixed.
        _ = try await f.run(1, of: m, ngspice: "ngspice-41", instances: 1, work: work(m.plan))
        _ = try await f.run(3, of: m, ngspice: "ngspice-42", instances: 1, work: work(m.plan))
        XCTAssertThrowsError(try f.collect(m)) { XCTAssertTrue("\($0)".contains("different ngspice versions"), "\($0)") }
    }

    /// A manifest edited by hand is refused; a shard computed under another plan is refused by name; a folder
    /// holding another job is not re-planned over.
    func testEditedManifestsForeignShardsAndOtherJobsAreRefused() async throws {
        let f = try folder()
        let m = try f.plan(ShardManifest(kind: "test-job", layout: try ShardLayout(itemCount: 4, shardCount: 2), seed: 1, inputs: [:],
                                          plan: Plan(scale: 1)))
        _ = try await f.run(0, of: m, ngspice: "ngspice-42", instances: 1, work: work(m.plan))
        XCTAssertThrowsError(try f.plan(ShardManifest(kind: "test-job", layout: try ShardLayout(itemCount: 4, shardCount: 2), seed: 2,
                                                      inputs: [:], plan: Plan(scale: 1)))) {
            XCTAssertTrue("\($0)".contains("another job (seed 2; the folder's: 1)"), "\($0)")
        }
        // The same job planned again keeps the folder (and its finished shard).
        XCTAssertEqual(try f.plan(ShardManifest(kind: "test-job", layout: m.layout, seed: 1, inputs: [:], plan: Plan(scale: 1))), m)
        var text = try String(contentsOf: f.manifestURL, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"scale\" : 1", with: "\"scale\" : 2")
        try text.write(to: f.manifestURL, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try f.readManifest()) { XCTAssertTrue("\($0)".contains("edited after planning"), "\($0)") }
        // A shard of another manifest in this folder is named, not merged.
        let g = try folder()
        let other = try g.plan(ShardManifest(kind: "test-job", layout: m.layout, seed: 1, inputs: [:], plan: Plan(scale: 3)))
        try FileManager.default.copyItem(at: f.shardURL(0), to: g.shardURL(0))
        XCTAssertThrowsError(try g.finishedRecord(0, of: other)) { XCTAssertTrue("\($0)".contains("another manifest"), "\($0)") }
    }

    func testCompactListsAreSbatchArrays() {
        XCTAssertEqual(ShardError.compactList([7, 0, 1, 2, 5, 8]), "0-2,5,7-8")
        XCTAssertEqual(ShardError.compactList([3]), "3")
    }
}
