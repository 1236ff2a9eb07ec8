import BrunoSupport
import Foundation

/// The UEA/UCR time-series classification format (`.ts`, sktime's format): a header of `@key value` lines,
/// then `@data` and one case per line — dimensions separated by `:`, values by `,`, the class label last.
/// Users bring their own recordings in it.
///
/// Supported: univariate and multivariate data, unequal lengths, `@timeStamps true` (values written as
/// `(t,v)`), comments (`#`). Missing values (`?` or NaN) are an error naming the line and dimension: a spiking
/// network has no notion of a missing input, so they must be filled before training.
public enum UEATimeSeries {
    public struct Options: Sendable {
        /// Seconds between samples in the file (ignored with time stamps, which are read in seconds).
        public var samplePeriod: Double
        /// The training engine's grid [s]; the data are linearly interpolated onto it.
        public var gridStep: Double
        /// Class names to index labels by, in label order: the training file's, when loading its test file.
        /// A test file may list its `@classLabel` names in another order; labels are matched by name, and a
        /// label the training file does not have is an error naming the line. Nil: this file's own order.
        public var classes: [String]?

        public init(samplePeriod: Double = 1e-3, gridStep: Double = 1e-3, classes: [String]? = nil) {
            self.samplePeriod = samplePeriod
            self.gridStep = gridStep
            self.classes = classes
        }
    }

    public static func load(_ url: URL, options: Options = Options()) throws -> SequenceDataset {
        let file = url.path
        let data: Data
        do { data = try BoundedFile.read(url, limit: BoundedFile.dataLimit) } catch let refusal as BoundedFile.Refusal {
            throw DataError(file: file, refusal.reason)
        }
        if let line = BoundedFile.lineOfFirstNUL(data) {
            throw DataError(file: file, location: "line \(line)", "a NUL byte; a .ts file is text")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError(file: file, "not UTF-8 text")
        }
        return try parse(text, file: file, options: options)
    }

    /// Most grid steps one case may have (a time stamp of 1e9 would otherwise allocate without bound).
    public static let maxSteps = 10_000_000

    public static func parse(_ text: String, file: String, options: Options = Options()) throws -> SequenceDataset {
        guard options.samplePeriod > 0, options.gridStep > 0 else {
            throw DataError(file: file, "sample period and grid step must be positive")
        }
        var header: [String: String] = [:]
        var classes: [String] = []
        var inData = false
        var raw: [(line: Int, dims: [[(Double, Double)]], label: String)] = []
        var dimensions: Int?
        for (index, rawLine) in text.components(separatedBy: .newlines).enumerated() {
            let lineNo = index + 1
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if !inData {
                guard line.hasPrefix("@") else { throw DataError(file: file, location: "line \(lineNo)", "expected a @key header line or @data, found '\(line.prefix(40))'") }
                let parts = line.dropFirst().split(separator: " ", maxSplits: 1).map(String.init)
                guard let first = parts.first else {
                    throw DataError(file: file, location: "line \(lineNo)", "'@' without a key; expected @key value or @data")
                }
                let key = first.lowercased()
                if key == "data" { inData = true; continue }
                let value = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
                header[key] = value
                if key == "classlabel" {
                    let tokens = value.split(separator: " ").map(String.init)
                    guard tokens.first?.lowercased() == "true" else {
                        throw DataError(file: file, location: "line \(lineNo)", "@classLabel must be true with the class names (this loader is for classification)")
                    }
                    classes = Array(tokens.dropFirst())
                    guard !classes.isEmpty else { throw DataError(file: file, location: "line \(lineNo)", "@classLabel true lists no classes") }
                }
                continue
            }
            let stamped = header["timestamps"]?.lowercased() == "true"
            let fields = splitFields(line)
            guard fields.count >= 2 else { throw DataError(file: file, location: "line \(lineNo)", "expected dimensions separated by ':' and a class label") }
            let label = fields.last!.trimmingCharacters(in: .whitespaces)
            var dims: [[(Double, Double)]] = []
            for (d, field) in fields.dropLast().enumerated() {
                let series = try parseSeries(field, stamped: stamped, period: options.samplePeriod, file: file, line: lineNo, dimension: d)
                guard !series.isEmpty else { throw DataError(file: file, location: "line \(lineNo), dimension \(d)", "empty series") }
                dims.append(series)
            }
            // Without time stamps, sample k of every dimension is at k·period: dimensions of different lengths
            // cannot be aligned (which samples belong together?), so they are refused rather than cut.
            if !stamped, let short = dims.indices.first(where: { dims[$0].count != dims[0].count }) {
                throw DataError(file: file, location: "line \(lineNo), dimension \(short)",
                                "has \(dims[short].count) samples, dimension 0 has \(dims[0].count); the dimensions of one case must "
                                    + "have equal lengths (or give @timeStamps true with (time,value) pairs)")
            }
            if let expected = dimensions, expected != dims.count {
                throw DataError(file: file, location: "line \(lineNo)", "has \(dims.count) dimensions, earlier cases have \(expected)")
            }
            dimensions = dims.count
            raw.append((lineNo, dims, label))
        }
        guard inData else { throw DataError(file: file, "no @data line") }
        guard !classes.isEmpty else { throw DataError(file: file, "no @classLabel header") }
        guard let channels = dimensions, !raw.isEmpty else { throw DataError(file: file, "no cases after @data") }
        if let declared = header["dimensions"].flatMap(Int.init), declared != channels {
            throw DataError(file: file, "@dimensions says \(declared), the data have \(channels)")
        }
        var samples: [SequenceDataset.Sample] = []
        for c in raw {
            guard classes.contains(c.label) else {
                throw DataError(file: file, location: "line \(c.line)", "class '\(c.label)' is not among @classLabel \(classes.joined(separator: " "))")
            }
            guard let label = (options.classes ?? classes).firstIndex(of: c.label) else {
                throw DataError(
                    file: file, location: "line \(c.line)",
                    "class '\(c.label)' does not occur in the training file's classes "
                        + "(\(options.classes!.joined(separator: " "))): the network has no output for it")
            }
            // The common time span of all dimensions, on the grid.
            let start = c.dims.map { $0.first!.0 }.max()!, end = c.dims.map { $0.last!.0 }.min()!
            guard end >= start else { throw DataError(file: file, location: "line \(c.line)", "dimensions do not overlap in time") }
            let span = ((end - start) / options.gridStep).rounded(.down)
            guard span.isFinite, span < Double(maxSteps) else {
                throw DataError(file: file, location: "line \(c.line)", "the series spans "
                    + String(format: "%.3g", span + 1) + " steps of the grid, more than \(maxSteps); check the time "
                    + "stamps or raise sample_period")
            }
            let steps = Int(span) + 1
            var values = [Float](repeating: 0, count: steps * channels)
            let grid = (0..<steps).map { start + Double($0) * options.gridStep }
            for (d, series) in c.dims.enumerated() {
                let resampled = Resample.linear(x: series.map(\.0), y: series.map(\.1), at: grid)
                for s in 0..<steps { values[s * channels + d] = Float(resampled[s]) }
            }
            samples.append(.init(values: values, steps: steps, label: label))
        }
        return SequenceDataset(name: header["problemname"] ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent,
                               channels: channels, classes: options.classes ?? classes, samples: samples)
    }

    /// Splits on ':' outside parentheses (time-stamped values contain commas, not colons, but stay safe).
    static func splitFields(_ line: String) -> [String] {
        var fields: [String] = [], current = "", depth = 0
        for ch in line {
            if ch == "(" { depth += 1 } else if ch == ")" { depth -= 1 }
            if ch == ":" && depth == 0 { fields.append(current); current = "" } else { current.append(ch) }
        }
        fields.append(current)
        return fields
    }

    static func parseSeries(_ field: String, stamped: Bool, period: Double, file: String, line: Int, dimension: Int) throws -> [(Double, Double)] {
        let location = "line \(line), dimension \(dimension)"
        func number(_ s: Substring, _ what: String) throws -> Double {
            let t = s.trimmingCharacters(in: .whitespaces)
            if t == "?" || t.lowercased() == "nan" {
                throw DataError(file: file, location: location, "missing value ('\(t)') in \(what); fill or interpolate it before training")
            }
            guard let v = Double(t), v.isFinite else { throw DataError(file: file, location: location, "'\(t)' in \(what) is not a finite number") }
            return v
        }
        if stamped {
            var out: [(Double, Double)] = []
            var rest = Substring(field)
            while let open = rest.firstIndex(of: "(") {
                guard let close = rest[open...].firstIndex(of: ")") else { throw DataError(file: file, location: location, "unclosed '('") }
                let pair = rest[rest.index(after: open)..<close].split(separator: ",")
                guard pair.count == 2 else { throw DataError(file: file, location: location, "expected (time,value), found (\(rest[rest.index(after: open)..<close]))") }
                let t = try number(pair[0], "a time stamp"), v = try number(pair[1], "a value")
                if let last = out.last, t <= last.0 { throw DataError(file: file, location: location, "time stamps must increase (\(t) after \(last.0))") }
                out.append((t, v))
                rest = rest[rest.index(after: close)...]
            }
            return out
        }
        return try field.split(separator: ",", omittingEmptySubsequences: false).enumerated().map { (k, s) in
            (Double(k) * period, try number(s, "sample \(k)"))
        }
    }
}
