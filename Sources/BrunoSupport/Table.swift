import Foundation

/// Named numeric columns of equal length: what a simulation or a sweep hands to CSV, JSON and plots.
public struct Table: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var name: String
        public var unit: String
        public var values: [Double]

        public init(name: String, unit: String = "", values: [Double]) {
            self.name = name
            self.unit = unit
            self.values = values
        }
    }

    public var columns: [Column]

    public init(columns: [Column]) { self.columns = columns }

    public var rowCount: Int { columns.map(\.values.count).max() ?? 0 }

    /// RFC 4180 CSV; the header names each column with its unit in brackets (`time [s]`). Values use
    /// Swift's shortest round-tripping representation, so reading the CSV back gives the same doubles.
    public func csv() -> String {
        func quote(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var out = columns.map { quote($0.unit.isEmpty ? $0.name : "\($0.name) [\($0.unit)]") }.joined(separator: ",") + "\n"
        out.reserveCapacity(rowCount * columns.count * 12)
        for row in 0..<rowCount {
            out += columns.map { row < $0.values.count ? Table.format($0.values[row]) : "" }.joined(separator: ",")
            out += "\n"
        }
        return out
    }

    /// JSON: `{"columns":[{"name":…,"unit":…,"values":[…]}]}` with non-finite values as null.
    public func json(extra: [String: String] = [:]) -> String {
        var out = "{"
        for (k, v) in extra.sorted(by: { $0.key < $1.key }) { out += "\(Table.jsonString(k)):\(Table.jsonString(v))," }
        out += "\"columns\":["
        out += columns.map { c in
            "{\"name\":\(Table.jsonString(c.name)),\"unit\":\(Table.jsonString(c.unit)),\"values\":[" +
                c.values.map { $0.isFinite ? Table.format($0) : "null" }.joined(separator: ",") + "]}"
        }.joined(separator: ",")
        return out + "]}\n"
    }

    static func format(_ x: Double) -> String {
        x.isFinite ? "\(x)" : (x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf"))
    }

    public static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}
