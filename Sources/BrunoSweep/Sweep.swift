import BrunoScaleOut
import BrunoSupport
import BrunoTraining
import Foundation

/// Hyperparameter sweeps as sharded work: seeds and grids over any `--set` key, or an Optuna TPE study driven
/// through the `optuna` command line (Bruno links no Python).
///
/// An item is one trial slot; a shard runs its slots one after another, each a training run in
/// `OUT/trials/…` resumed from its checkpoint when the shard is run again. A grid trial is fixed by its slot (its
/// overrides, including `run.seed`), so the summary is the same for any shard count. An Optuna slot asks the study
/// for its parameters (recorded before training, so that a restarted shard finishes the same trial and tells it
/// once); which parameters a slot gets depends on what the other workers have told by then, as in any parallel
/// Optuna study.
public enum Sweep {
    public static let kind = "sweep"

    /// One searched parameter of an Optuna study, in Bruno's terms: a `--set` key and its range or choices.
    public struct SearchParameter: Codable, Sendable, Equatable {
        public var low: Double?
        public var high: Double?
        public var log: Bool?
        /// Integers (`IntDistribution`).
        public var int: Bool?
        /// Categorical values, written into `--set` as given (quote TOML strings: `"\"count_membrane\""`).
        public var choices: [String]?
    }

    public struct Optuna: Codable, Sendable, Equatable {
        /// `sqlite:///study.db`, a journal file path (with `storageClass` `JournalFileBackend`), or a PostgreSQL URL.
        public var storage: String
        public var storageClass: String?
        public var study: String
        /// `maximize` or `minimize` (what `metric` needs).
        public var direction: String
        public var space: [String: SearchParameter]
        /// The `optuna` executable (absolute).
        public var executable: String
    }

    public struct Plan: Codable, Sendable, Equatable {
        /// The experiment file (absolute) and the overrides every trial gets.
        public var config: String
        public var overrides: [String]
        /// Grid trials: each slot's own overrides (nil for an Optuna study).
        public var trials: [[String]]?
        public var optuna: Optuna?
        public var slots: Int
        /// The metrics.jsonl field judged (e.g. `valid_accuracy`), and the other figures reported beside it.
        public var metric: String
        public var out: String
        public var seed: UInt64
    }

    /// What one slot's trial did.
    public struct TrialResult: Codable, Sendable, Equatable {
        public var slot: Int
        public var optunaNumber: Int?
        /// The trial's own overrides (grid values, or the parameters Optuna asked for).
        public var overrides: [String]
        public var value: Double?
        /// The last epoch's figures from metrics.jsonl (accuracy/NLL on valid and test, losses).
        public var figures: [String: Double]
        public var epochs: Int
        public var failure: String?
    }

    public typealias Folder = ShardFolder<Plan, TrialResult>

    /// The cartesian product of `grid` (key → values, in the order given) over `seeds` (`run.seed`).
    public static func gridTrials(seeds: [UInt64], grid: [(key: String, values: [String])]) -> [[String]] {
        var trials: [[String]] = [[]]
        for (key, values) in grid {
            trials = trials.flatMap { t in values.map { t + ["\(key)=\($0)"] } }
        }
        let seedList = seeds.isEmpty ? [nil] : seeds.map(Optional.some)
        return seedList.flatMap { seed in trials.map { t in (seed.map { ["run.seed=\($0)"] } ?? []) + t } }
    }

    /// Parses `key=v1,v2,…` (values may not contain commas: write arrays as separate sweeps).
    public static func parseGrid(_ text: String) throws -> (key: String, values: [String]) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw SweepError.badRequest("--grid \(text): expected table.key=value1,value2,…")
        }
        let key = String(text[..<eq]), values = text[text.index(after: eq)...].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard !values.isEmpty, !values.contains(where: \.isEmpty) else { throw SweepError.badRequest("--grid \(text): empty value") }
        guard key.contains(".") else { throw SweepError.badRequest("--grid \(text): the key must be table.key, as in --set") }
        return (key, values)
    }

    /// Reads a search space file: `{"optimizer.learning_rate": {"low": 1e-4, "high": 1e-1, "log": true}, …}`.
    public static func loadSpace(_ url: URL) throws -> [String: SearchParameter] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw SweepError.badRequest("\(url.path): cannot read the search space (\(error))") }
        let space: [String: SearchParameter]
        do { space = try JSONDecoder().decode([String: SearchParameter].self, from: data) } catch {
            throw SweepError.badRequest("\(url.path): not a search space: expected {\"table.key\": {\"low\": …, \"high\": …[, \"log\": true]"
                + "[, \"int\": true]} or {\"choices\": […]}} (\(error))")
        }
        guard !space.isEmpty else { throw SweepError.badRequest("\(url.path): the search space is empty") }
        for (key, p) in space.sorted(by: { $0.key < $1.key }) {
            guard key.contains(".") else { throw SweepError.badRequest("\(url.path): `\(key)` must be table.key, as in --set") }
            if let c = p.choices {
                guard !c.isEmpty, p.low == nil, p.high == nil else {
                    throw SweepError.badRequest("\(url.path): `\(key)`: give either non-empty choices or low/high")
                }
            } else {
                guard let lo = p.low, let hi = p.high, lo.isFinite, hi.isFinite, lo < hi else {
                    throw SweepError.badRequest("\(url.path): `\(key)`: low < high (finite) required")
                }
                if p.log == true && lo <= 0 { throw SweepError.badRequest("\(url.path): `\(key)`: a log range needs low > 0") }
            }
        }
        return space
    }

    /// The search space as Optuna's `--search-space` JSON (distribution_to_json of each parameter).
    static func optunaSpace(_ space: [String: SearchParameter]) throws -> String {
        var out: [String: Any] = [:]
        for (key, p) in space {
            if let c = p.choices {
                out[key] = ["name": "CategoricalDistribution", "attributes": ["choices": c]]
            } else if p.int == true {
                out[key] = ["name": "IntDistribution", "attributes": ["low": Int(p.low!), "high": Int(p.high!), "log": p.log ?? false, "step": 1]]
            } else {
                out[key] = ["name": "FloatDistribution", "attributes": ["low": p.low!, "high": p.high!, "log": p.log ?? false, "step": NSNull()]]
            }
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys]), as: UTF8.self)
    }
}

public enum SweepError: Error, CustomStringConvertible, Equatable {
    case badRequest(String)
    case optuna(command: String, status: Int32, message: String)
    case optunaMissing(path: String)

    public var description: String {
        switch self {
        case .badRequest(let s): return s
        case .optuna(let command, let status, let message):
            return "`\(command)` failed (exit status \(status)): \(message.isEmpty ? "no message" : message)"
        case .optunaMissing(let path):
            return "an Optuna sweep needs the `optuna` command (pip install optuna), and it is not on PATH (PATH=\(path)); "
                + "or give it with --optuna-command"
        }
    }
}
