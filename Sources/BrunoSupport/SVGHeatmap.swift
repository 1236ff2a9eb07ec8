import Foundation

/// A matrix drawn as coloured cells with its numbers written in them (e.g. a confusion matrix): rows top to
/// bottom, columns left to right, white for zero to dark blue for the largest entry.
public struct SVGHeatmap: Sendable {
    public var title: String
    public var rowLabel: String
    public var columnLabel: String
    public var rows: [String]
    public var columns: [String]
    /// `values[row][column]`.
    public var values: [[Double]]
    public var cell: Double = 22

    public init(title: String, rowLabel: String, columnLabel: String, rows: [String], columns: [String], values: [[Double]]) {
        self.title = title
        self.rowLabel = rowLabel
        self.columnLabel = columnLabel
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public func render() -> String {
        let left = 70.0, top = 64.0, right = 20.0, bottom = 20.0
        let width = left + Double(columns.count) * cell + right, height = top + Double(rows.count) * cell + bottom
        let peak = max(values.flatMap { $0 }.filter(\.isFinite).max() ?? 1, 1e-300)
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="9">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="16" text-anchor="middle" font-size="13">\(SVGPlot.escape(title))</text>
        <text x="\(left + Double(columns.count) * cell / 2)" y="32" text-anchor="middle" font-size="11">\(SVGPlot.escape(columnLabel))</text>
        <text transform="translate(14,\(top + Double(rows.count) * cell / 2)) rotate(-90)" text-anchor="middle" font-size="11">\(SVGPlot.escape(rowLabel))</text>\n
        """
        for (j, c) in columns.enumerated() {
            svg += "<text x=\"\(left + (Double(j) + 0.5) * cell)\" y=\"\(top - 6)\" text-anchor=\"middle\">\(SVGPlot.escape(c))</text>"
        }
        svg += "\n"
        for (i, r) in rows.enumerated() {
            let y = top + Double(i) * cell
            svg += "<text x=\"\(left - 4)\" y=\"\(y + cell / 2 + 3)\" text-anchor=\"end\">\(SVGPlot.escape(r))</text>"
            for j in columns.indices {
                let v = i < values.count && j < values[i].count ? values[i][j] : 0
                let f = v.isFinite ? min(1, max(0, v / peak)) : 0
                // White → #08306b through the blues.
                let rgb = (Int(255 - f * (255 - 8)), Int(255 - f * (255 - 48)), Int(255 - f * (255 - 107)))
                svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#%02x%02x%02x\" stroke=\"#ddd\"/>",
                              left + Double(j) * cell, y, cell, cell, rgb.0, rgb.1, rgb.2)
                if v != 0 {
                    svg += "<text x=\"\(left + (Double(j) + 0.5) * cell)\" y=\"\(y + cell / 2 + 3)\" text-anchor=\"middle\" fill=\"\(f > 0.55 ? "white" : "black")\">"
                        + "\(v == v.rounded() ? String(Int(v)) : String(format: "%.2g", v))</text>"
                }
            }
            svg += "\n"
        }
        return svg + "</svg>\n"
    }
}
