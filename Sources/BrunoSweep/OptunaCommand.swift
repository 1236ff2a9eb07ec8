import BrunoScaleOut
import Foundation

/// The `optuna` command line as Bruno drives it: `create-study`, `ask`, `tell` — the study lives in Optuna's storage.
struct OptunaCommand: Sendable {
    var settings: Sweep.Optuna

    var storageArguments: [String] {
        ["--storage", settings.storage] + (settings.storageClass.map { ["--storage-class", $0] } ?? []) + ["--study-name", settings.study]
    }

    /// Locates `optuna` (an explicit path, else PATH).
    static func locate(_ explicit: String?) throws -> String {
        if let explicit {
            guard FileManager.default.isExecutableFile(atPath: explicit) else { throw SweepError.optunaMissing(path: "--optuna-command \(explicit)") }
            return URL(fileURLWithPath: explicit).standardizedFileURL.path
        }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(dir)/optuna"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw SweepError.optunaMissing(path: ProcessInfo.processInfo.environment["PATH"] ?? "")
    }

    @discardableResult
    func run(_ arguments: [String]) throws -> String {
        let r = try ExternalCommand.run(URL(fileURLWithPath: settings.executable), arguments)
        guard r.status == 0 else {
            let message = r.stderr.split(separator: "\n").filter { !$0.contains("Warning") && !$0.contains("optuna_warn") }
                .suffix(3).joined(separator: " ")
            throw SweepError.optuna(command: "optuna " + arguments.prefix(1).joined(), status: r.status, message: message)
        }
        return r.stdout
    }

    func createStudy() throws {
        try run(["create-study"] + storageArguments + ["--direction", settings.direction, "--skip-if-exists"])
    }

    /// A new trial from the TPE sampler: its number and each parameter as a `--set` value. Values are decoded by
    /// their distribution with `JSONDecoder` (exact: Foundation's `JSONSerialization` rounds some doubles in the
    /// last digit, and the trial would train on a value Optuna does not hold).
    func ask(space: [String: Sweep.SearchParameter], seed: UInt64) throws -> (number: Int, values: [String: String]) {
        let out = try run(["ask"] + storageArguments + ["--sampler", "TPESampler", "--sampler-kwargs", "{\"seed\": \(seed % (1 << 31))}",
                                                        "--search-space", try Sweep.optunaSpace(space), "-f", "json"])
        struct Asked: Decodable {
            var number: Int
            var params: [String: Value]
        }
        enum Value: Decodable {
            case number(Double), integer(Int), text(String)
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) { self = .text(s) } else if let i = try? c.decode(Int.self) {
                    self = .integer(i)
                } else { self = .number(try c.decode(Double.self)) }
            }
        }
        guard let line = out.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let asked = try? JSONDecoder().decode(Asked.self, from: Data(line.utf8))
        else { throw SweepError.optuna(command: "optuna ask", status: 0, message: "unexpected output: \(out.suffix(200))") }
        var values: [String: String] = [:]
        for (key, value) in asked.params {
            let isInteger = space[key]?.int == true
            switch value {
            case .text(let s): values[key] = s
            case .integer(let i): values[key] = isInteger || space[key]?.choices != nil ? "\(i)" : "\(Double(i))"
            case .number(let d): values[key] = isInteger ? "\(Int(d))" : "\(d)"
            }
        }
        return (asked.number, values)
    }

    func tell(_ number: Int, value: Double?) throws {
        if let value {
            try run(["tell"] + storageArguments + ["--trial-number", "\(number)", "--values", "\(value)", "--skip-if-finished"])
        } else {
            try run(["tell"] + storageArguments + ["--trial-number", "\(number)", "--state", "fail", "--skip-if-finished"])
        }
    }
}
