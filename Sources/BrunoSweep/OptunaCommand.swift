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
        let p = Process()
        p.executableURL = URL(fileURLWithPath: settings.executable)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let message = String(decoding: e, as: UTF8.self).split(separator: "\n").filter { !$0.contains("Warning") && !$0.contains("optuna_warn") }
                .suffix(3).joined(separator: " ")
            throw SweepError.optuna(command: "optuna " + arguments.prefix(1).joined(), status: p.terminationStatus, message: message)
        }
        return String(decoding: o, as: UTF8.self)
    }

    func createStudy() throws {
        try run(["create-study"] + storageArguments + ["--direction", settings.direction, "--skip-if-exists"])
    }

    /// A new trial from the TPE sampler: its number and parameters (as Optuna returns them).
    func ask(space: String, seed: UInt64) throws -> (number: Int, params: [String: Any]) {
        let out = try run(["ask"] + storageArguments + ["--sampler", "TPESampler", "--sampler-kwargs", "{\"seed\": \(seed % (1 << 31))}",
                                                        "--search-space", space, "-f", "json"])
        guard let line = out.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let number = object["number"] as? Int, let params = object["params"] as? [String: Any]
        else { throw SweepError.optuna(command: "optuna ask", status: 0, message: "unexpected output: \(out.suffix(200))") }
        return (number, params)
    }

    func tell(_ number: Int, value: Double?) throws {
        if let value {
            try run(["tell"] + storageArguments + ["--trial-number", "\(number)", "--values", "\(value)", "--skip-if-finished"])
        } else {
            try run(["tell"] + storageArguments + ["--trial-number", "\(number)", "--state", "fail", "--skip-if-finished"])
        }
    }
}
