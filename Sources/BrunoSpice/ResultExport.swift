import BrunoSupport
import Foundation

extension SpicePlot {
    /// The plot as a table: the scale first, then the requested vectors (all if `names` is empty).
    /// Complex vectors give two columns, `re(name)` and `im(name)`.
    public func table(_ names: [String] = []) throws -> Table {
        var picked: [SpiceVector] = []
        if names.isEmpty {
            picked = vectors
        } else {
            if let s = scale { picked.append(s) }
            for n in names {
                guard let v = self[n] else {
                    throw SpiceError.invalidRequest("Vector '\(n)' is not in plot \(name). It has: \(vectors.map(\.name).joined(separator: ", ")).")
                }
                if !picked.contains(v) { picked.append(v) }
            }
        }
        var columns: [Table.Column] = []
        for v in picked {
            if let c = v.complex {
                columns.append(.init(name: "re(\(v.name))", unit: v.quantity.unit, values: c.map(\.real)))
                columns.append(.init(name: "im(\(v.name))", unit: v.quantity.unit, values: c.map(\.imaginary)))
            } else {
                columns.append(.init(name: v.name, unit: v.quantity.unit, values: v.real))
            }
        }
        return Table(columns: columns)
    }

    /// An SVG of the chosen vectors against the scale, one panel per physical quantity.
    public func svg(_ names: [String] = [], title: String) throws -> String {
        guard let s = scale else {
            throw SpiceError.invalidRequest("Plot \(name) has no scale vector (time, frequency or sweep) to plot against.")
        }
        let chosen = names.isEmpty ? vectors.filter { $0 != s } : try names.map { n in
            guard let v = self[n] else {
                throw SpiceError.invalidRequest("Vector '\(n)' is not in plot \(name). It has: \(vectors.map(\.name).joined(separator: ", ")).")
            }
            return v
        }
        var order: [SpiceQuantity] = []
        for v in chosen where !order.contains(v.quantity) { order.append(v.quantity) }
        let panels = order.map { q in
            SVGPlot.Panel(yLabel: "\(q.rawValue) [\(q.unit)]",
                          series: chosen.filter { $0.quantity == q }.map { SVGPlot.Series(label: $0.name, x: s.real, y: $0.real) })
        }
        return SVGPlot(title: title, xLabel: "\(s.name) [\(s.quantity.unit)]", panels: panels).render()
    }
}

extension SimulationResult {
    /// JSON of every plot: `{"plots":[{"name":"tran1","kind":"tran","vectors":[{"name","unit","real"[,"imag"]}]}],"warnings":[…]}`.
    public func json(_ names: [String] = []) throws -> String {
        var parts: [String] = []
        for plot in plots {
            let vs = names.isEmpty ? plot.vectors : ([plot.scale].compactMap { $0 } + names.compactMap { plot[$0] })
            let body = vs.map { v -> String in
                var s = "{\"name\":\(Table.jsonString(v.name)),\"quantity\":\"\(v.quantity.rawValue)\",\"unit\":\(Table.jsonString(v.quantity.unit)),\"real\":[" + v.real.map(SimulationResult.num).joined(separator: ",") + "]"
                if let c = v.complex { s += ",\"imag\":[" + c.map { SimulationResult.num($0.imaginary) }.joined(separator: ",") + "]" }
                return s + "}"
            }.joined(separator: ",")
            parts.append("{\"name\":\(Table.jsonString(plot.name)),\"kind\":\(Table.jsonString(plot.kind)),\"vectors\":[\(body)]}")
        }
        return "{\"plots\":[\(parts.joined(separator: ","))],\"warnings\":[\(warnings.map(Table.jsonString).joined(separator: ","))]}\n"
    }

    static func num(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }

    /// The plot a user most likely means: the last transient, else DC sweep, else the last plot.
    public var mainPlot: SpicePlot? {
        plots.last { $0.kind == "tran" } ?? plots.last { $0.kind == "dc" } ?? plots.last
    }
}
