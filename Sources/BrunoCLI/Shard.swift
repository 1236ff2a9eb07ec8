import ArgumentParser
import BrunoCalibration
import BrunoScaleOut
import BrunoSpice
import BrunoSweep
import BrunoValidation
import Foundation

/// The worker side of sharded jobs: what the engines run (one shard, the merge), and a status view.
struct Shard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one shard of a sharded job, merge the finished shards, or show which are missing.",
        discussion: "The engines (--engine local|slurm of the heavy commands) run these; you can run them by hand too. "
            + "FOLDER is the job's shard folder (e.g. runs/calibration/shards).",
        subcommands: [RunShard.self, Merge.self, Status.self]
    )

    struct RunShard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run", abstract: "Compute one shard (skipped if it is finished).")
        @Argument(help: "The shard folder.") var folder: String
        @Option(help: "The shard's index (0-based).") var index: Int
        @Option(help: "Parallel ngspice instances.") var instances = 1

        func pool() throws -> SpicePool { try SpicePool(count: max(1, instances)) }

        func run() async throws {
            let root = URL(fileURLWithPath: folder)
            do {
                let kind = try shardJobKind(in: root)
                let t0 = Date()
                let alreadyFinished: Bool
                switch kind {
                case RRAMCalibrationJob.kind:
                    alreadyFinished = try await RRAMCalibrationJob.runShard(index, folder: .init(root: root, kind: kind), pool: try pool(),
                                                                  log: say) == .alreadyFinished
                case FeLIFCalibrationJob.kind:
                    alreadyFinished = try await FeLIFCalibrationJob.runShard(index, folder: .init(root: root, kind: kind), pool: try pool(),
                                                                  log: say) == .alreadyFinished
                case ChipVerification.kind:
                    alreadyFinished = try await ChipVerification.runShard(index, folder: .init(root: root, kind: kind), pool: try pool(),
                                                                  log: say) == .alreadyFinished
                case Sweep.kind:
                    // A sweep's worker trains: its cores go to the trainer's threads (before anything reads them).
                    setenv("BRUNO_THREADS", "\(max(1, instances))", 1)
                    alreadyFinished = try await Sweep.runShard(index, folder: .init(root: root, kind: kind),
                                                                  log: say) == .alreadyFinished
                default:
                    throw CLIError("\(root.path)/manifest.json: unknown job kind `\(kind)` (this bruno knows \(RRAMCalibrationJob.kind), \(FeLIFCalibrationJob.kind), "
                        + "\(ChipVerification.kind), \(Sweep.kind))")
                }
                say(alreadyFinished ? "shard \(index): already finished"
                    : String(format: "shard %d: finished in %.1f s", index, Date().timeIntervalSince(t0)))
            } catch { throw userFacing(error) }
        }
    }

    struct Merge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Merge the finished shards (refused while any is missing).")
        @Argument(help: "The shard folder.") var folder: String

        func run() async throws {
            do { try Shard.merge(URL(fileURLWithPath: folder)) } catch { throw userFacing(error) }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Which shards are finished and which are missing.")
        @Argument(help: "The shard folder.") var folder: String

        func run() async throws {
            let root = URL(fileURLWithPath: folder)
            do {
                let kind = try shardJobKind(in: root)
                func show<P, R>(_ f: ShardFolder<P, R>) throws -> Bool {
                    let m = try f.readManifest()
                    let missing = try f.missing(of: m)
                    print("\(kind): \(m.layout.itemCount) items in \(m.layout.shardCount) shard(s); finished \(m.layout.shardCount - missing.count)"
                          + (missing.isEmpty ? "" : "; missing \(ShardError.compactList(missing))")
                          + (FileManager.default.fileExists(atPath: f.summaryURL.path) ? "; merged" : ""))
                    return missing.isEmpty
                }
                let complete: Bool
                switch kind {
                case RRAMCalibrationJob.kind: complete = try show(RRAMCalibrationJob.Folder(root: root, kind: kind))
                case FeLIFCalibrationJob.kind: complete = try show(FeLIFCalibrationJob.Folder(root: root, kind: kind))
                case ChipVerification.kind:
                    let folder = ChipVerification.Folder(root: root, kind: kind)
                    complete = try show(folder)
                    if let (r, cost) = try ChipVerification.preview(folder: folder) {
                        print(String(format: "so far (%d of %d samples complete; a preview, not the result): circuit test accuracy %.4f, "
                                     + "surrogate %.4f, same decision on %.1f %%; |Δ spikes| mean %.3f, within one %.1f %%; %.2f s per deck",
                                     r.samples, try folder.readManifest().plan.samples, r.circuitAccuracy, r.surrogateAccuracy,
                                     r.decisionAgreement * 100, r.meanAbsoluteSpikeCountError, r.fractionWithinOne * 100,
                                     cost.meanDeckSeconds))
                    }
                case Sweep.kind: complete = try show(Sweep.Folder(root: root, kind: kind))
                default: throw CLIError("unknown job kind `\(kind)`")
                }
                if !complete { throw ExitCode(3) }
            } catch let e as ExitCode { throw e } catch { throw userFacing(error) }
        }
    }

    /// Merges the job in `root` by its kind, printing what it made.
    static func merge(_ root: URL) throws {
        let kind = try shardJobKind(in: root)
        switch kind {
        case RRAMCalibrationJob.kind:
            let folder = RRAMCalibrationJob.Folder(root: root, kind: kind)
            let (outcome, summary) = try RRAMCalibrationJob.mergeShards(folder: folder, log: say)
            Calibrate.printSummary(outcome)
            let out = try folder.readManifest().plan.out
            say(String(format: "merged %d shard(s), %.0f core-seconds, %@; wrote %@/rram.card.json and %@/rram-report.md",
                       summary.shards.count, summary.coreSeconds, summary.ngspice, out, out))
        case FeLIFCalibrationJob.kind:
            let folder = FeLIFCalibrationJob.Folder(root: root, kind: kind)
            let (card, summary) = try FeLIFCalibrationJob.mergeShards(folder: folder, spice: try SpiceInstance(), log: say)
            Calibrate.printFitted(card)
            let out = try folder.readManifest().plan.out
            say(String(format: "merged %d shard(s), %.0f core-seconds, %@; wrote %@/felif.card.json and %@/felif-report.md",
                       summary.shards.count, summary.coreSeconds, summary.ngspice, out, out))
        case ChipVerification.kind:
            let folder = ChipVerification.Folder(root: root, kind: kind)
            let (report, cost) = try ChipVerification.mergeShards(folder: folder)
            say(String(format: "whole chip (%d columns × %d samples, %d failed decks): circuit test accuracy %.4f, surrogate %.4f, "
                       + "same decision on %.1f %%; |Δ spikes| mean %.3f, within one %.1f %%, max %.0f; ngspice %.0f s (%.2f s per deck)",
                       report.columns, report.samples, report.failedDecks, report.circuitAccuracy, report.surrogateAccuracy,
                       report.decisionAgreement * 100, report.meanAbsoluteSpikeCountError, report.fractionWithinOne * 100,
                       report.absoluteErrorQuantiles["max"] ?? .nan, cost.deckSeconds, cost.meanDeckSeconds))
            say("wrote \(try folder.readManifest().plan.out)/chip-verification.md, .json, chip-confusion.svg, chip-spike-errors.svg")
        case Sweep.kind:
            let summary = try Sweep.merge(folder: Sweep.Folder(root: root, kind: kind))
            let best = summary.best.map { b in
                String(format: "best %@ = %.4f (slot %d%@: %@)", summary.metric, b.value ?? .nan, b.slot,
                       b.optunaNumber.map { ", Optuna trial \($0)" } ?? "", b.overrides.joined(separator: " "))
            } ?? "no trial finished"
            say("sweep: \(summary.trials.count) trial(s), \(summary.failed) failed; \(best)")
            if summary.best == nil {
                throw CLIError("every trial of the sweep failed (\(summary.trials.first?.failure ?? "no trials")); see sweep.md")
            }
        default: throw CLIError("\(root.path)/manifest.json: unknown job kind `\(kind)`")
        }
    }
}
