import BrunoSupport
import BrunoSurrogates
import Foundation

/// A calibrated device card: the surrogate's parameters with their uncertainty, fit statistics and provenance.
/// Versioned: a card of another version, or without a required field, is refused with a clear error.
public struct DeviceCard: Codable, Sendable, Equatable {
    public static let format = "bruno-device-card"
    public static let currentVersion = 1

    public struct Parameter: Codable, Sendable, Equatable {
        public var name: String
        public var value: Double
        public var unit: String
        public var fitted: Bool
        public var stderr: Double?
        public var lower: Double?
        public var upper: Double?
        public var atBound: Bool?
        /// Where the value comes from: `netlist` (read, `place` says where), `fitted` (to the SPICE stimuli;
        /// `netlistValue` is the netlist's own value where it has a counterpart) or `default` (Bruno's, where
        /// the netlist has none). Nil in cards written before it was recorded.
        public var source: String?
        /// "file:line" of the netlist value.
        public var place: String?
        public var netlistValue: Double?

        public init(
            name: String, value: Double, unit: String, fitted: Bool, stderr: Double?, lower: Double?,
            upper: Double?, atBound: Bool?, source: String? = nil, place: String? = nil, netlistValue: Double? = nil
        ) {
            self.name = name
            self.value = value
            self.unit = unit
            self.fitted = fitted
            self.stderr = stderr
            self.lower = lower
            self.upper = upper
            self.atBound = atBound
            self.source = source
            self.place = place
            self.netlistValue = netlistValue
        }
    }

    public struct Provenance: Codable, Sendable, Equatable {
        public var netlist: String
        public var netlistSHA256: String
        public var ngspice: String
        public var protocolFile: String
        public var protocolSHA256: String
        public var seeds: [String: UInt64]
        public var date: String
        public var tool: String
        /// SHA-256 of every file the netlist includes (model libraries, and what they include), by path; nil in
        /// cards written before it was recorded.
        public var includes: [String: String]?

        public init(
            netlist: String, netlistSHA256: String, ngspice: String, protocolFile: String, protocolSHA256: String,
            seeds: [String: UInt64], date: String, tool: String, includes: [String: String]? = nil
        ) {
            self.netlist = netlist
            self.netlistSHA256 = netlistSHA256
            self.ngspice = ngspice
            self.protocolFile = protocolFile
            self.protocolSHA256 = protocolSHA256
            self.seeds = seeds
            self.date = date
            self.tool = tool
            self.includes = includes
        }

        /// What has changed since the card was made, one sentence per file: the netlist and each included file
        /// whose SHA-256 differs from the recorded one, or that is missing. Relative paths resolve against `root`.
        /// Empty when the card still describes the circuit as it is.
        public func changedSources(root: URL) -> [String] {
            var out: [String] = []
            for (path, recorded) in [(netlist, netlistSHA256)] + (includes ?? [:]).sorted(by: { $0.key < $1.key }) {
                let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appendingPathComponent(path)
                guard let now = try? SHA256.hex(ofFile: url) else {
                    out.append("\(path) is missing")
                    continue
                }
                if now != recorded {
                    out.append("\(path) changed (SHA-256 then \(recorded.prefix(12))…, now \(now.prefix(12))…)")
                }
            }
            return out
        }
    }

    public var format: String
    public var version: Int
    public var device: String
    public var parameters: [Parameter]
    /// Summary figures (RMS, NRMSE, R², spike-time errors, …), by name.
    public var statistics: [String: Double]
    /// Per-stimulus fit quality (FeLIF cards).
    public var stimuli: [FeLIFStimulusFit]?
    /// Correlation matrix of the fitted parameters, row-major in `parameters` order of the fitted ones.
    public var correlation: [Double?]?
    public var provenance: Provenance
    /// What the device costs in energy, measured in SPICE (`bruno energy`), each figure with its conditions; nil in
    /// cards that have not been measured (omitted from the file, so calibrated cards are unchanged).
    public var energy: [EnergyFigure]? = nil

    /// One energy figure of a device: name, value in SI units, and the conditions it was measured under.
    public struct EnergyFigure: Codable, Sendable, Equatable {
        public var name: String
        public var value: Double
        public var unit: String
        public var conditions: String

        public init(name: String, value: Double, unit: String, conditions: String) {
            self.name = name
            self.value = value
            self.unit = unit
            self.conditions = conditions
        }
    }

    public init(
        format: String = DeviceCard.format, version: Int = DeviceCard.currentVersion, device: String,
        parameters: [Parameter], statistics: [String: Double], stimuli: [FeLIFStimulusFit]? = nil,
        correlation: [Double?]? = nil, provenance: Provenance, energy: [EnergyFigure]? = nil
    ) {
        self.format = format
        self.version = version
        self.device = device
        self.parameters = parameters
        self.statistics = statistics
        self.stimuli = stimuli
        self.correlation = correlation
        self.provenance = provenance
        self.energy = energy
    }

    public func value(_ name: String) -> Double? { parameters.first { $0.name == name }?.value }

    /// A parameter every card of this device must have; a clear error when it is missing.
    public func required(_ name: String) throws -> Double {
        guard let x = value(name) else { throw ProtocolError(file: "\(device) card", "missing parameter '\(name)'") }
        return x
    }

    /// A parameter with the unit the reader expects: a card written in other units (e.g. µC/cm² for a
    /// polarization in C/m²) is refused rather than silently misread.
    public func required(_ name: String, unit: String) throws -> Double {
        guard let p = parameters.first(where: { $0.name == name }) else {
            throw ProtocolError(file: "\(device) card", "missing parameter '\(name)'")
        }
        guard p.unit == unit else {
            throw ProtocolError(file: "\(device) card", "parameter '\(name)' is in '\(p.unit)', expected '\(unit)'")
        }
        return p.value
    }

    /// Whether the card passed its calibration's quality gate (nil: written before gates were recorded).
    public var passedGate: Bool? { statistics["quality_gate_passed"].map { $0 != 0 } }

    /// Refuses a card that failed its quality gate, unless the user accepts it explicitly.
    public func requirePassedGate(file: URL, accepting: Bool) throws {
        guard passedGate == false, !accepting else { return }
        let nrmse = statistics["held_out_nrmse_max"] ?? statistics["fitted_nrmse_max"] ?? .nan
        let bound = statistics["quality_gate_max_heldout_nrmse"] ?? .nan
        throw ProtocolError(
            file: file.path,
            "this card failed its calibration quality gate (held-out membrane NRMSE "
                + String(format: "%.2f %% above the bound of %.2f %%", nrmse * 100, bound * 100)
                + "); recalibrate, or set "
                + "[devices] accept_failed_card = true to train on it anyway (recorded in run.json)")
    }

    /// Refuses a card of another device (e.g. an RRAM card given where a FeLIF card is expected).
    public func requireDevice(_ expected: String) throws {
        guard device == expected else {
            throw ProtocolError(file: "card", "expected a \(expected) card, got \(device)")
        }
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    public static func load(_ url: URL) throws -> DeviceCard {
        let data: Data
        do { data = try BoundedFile.read(url) } catch let refusal as BoundedFile.Refusal {
            throw ProtocolError(file: url.path, refusal.reason == "file not found" ? "card not found" : refusal.reason)
        }
        // Check the format and version before decoding the rest, so an old or foreign file says what it is.
        guard let head = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ProtocolError(file: url.path, "not a JSON object")
        }
        guard head["format"] as? String == format else {
            throw ProtocolError(
                file: url.path,
                "not a Bruno device card (format is \(head["format"].map { "\($0)" } ?? "missing"), expected \(format))"
            )
        }
        guard let v = head["version"] as? Int, v == currentVersion else {
            throw ProtocolError(
                file: url.path,
                "card version \(head["version"].map { "\($0)" } ?? "missing") is not supported; "
                    + "this Bruno reads version \(currentVersion)"
            )
        }
        do {
            return try JSONDecoder().decode(DeviceCard.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw ProtocolError(
                file: url.path,
                "missing field '\((context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))'")
        } catch {
            throw ProtocolError(file: url.path, "malformed card: \(error)")
        }
    }
}
