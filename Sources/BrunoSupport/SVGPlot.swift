import Foundation

/// A small, dependency-free SVG line chart: one or more panels stacked vertically, each with its own y axis,
/// sharing the x axis. Enough for transients, f–I curves and fit overlays that a person wants to look at.
public struct SVGPlot: Sendable {
    public struct Series: Sendable {
        public var label: String
        public var x: [Double]
        public var y: [Double]
        /// `nil` picks from the palette; dashed for overlays such as "surrogate" against "SPICE".
        public var color: String?
        public var dashed: Bool
        /// Draw points (markers) instead of a line, e.g. for measured data.
        public var markers: Bool

        public init(label: String, x: [Double], y: [Double], color: String? = nil, dashed: Bool = false, markers: Bool = false) {
            self.label = label
            self.x = x
            self.y = y
            self.color = color
            self.dashed = dashed
            self.markers = markers
        }
    }

    /// How tick labels are written. SI prefixes suit quantities with a unit (20µ s, 1.5m V); a dimensionless
    /// axis (accuracy, loss, a count) reads 0.8, not 800m.
    public enum TickFormat: Sendable {
        /// SI prefixes when the label names a unit in brackets (`time [ms]`), plain numbers otherwise.
        case automatic
        case si
        case plain

        func label(_ x: Double, axis: String) -> String {
            switch self {
            case .si: return SVGPlot.si(x)
            case .plain: return SVGPlot.plain(x)
            case .automatic: return SVGPlot.hasUnit(axis) ? SVGPlot.si(x) : SVGPlot.plain(x)
            }
        }
    }

    public struct Panel: Sendable {
        public var yLabel: String
        public var series: [Series]
        public var logY: Bool
        public var yFormat: TickFormat

        public init(yLabel: String, series: [Series], logY: Bool = false, yFormat: TickFormat = .automatic) {
            self.yLabel = yLabel
            self.series = series
            self.logY = logY
            self.yFormat = yFormat
        }
    }

    public var title: String
    public var xLabel: String
    public var panels: [Panel]
    public var width: Double = 820
    public var panelHeight: Double = 260
    public var xFormat = TickFormat.automatic

    public init(title: String, xLabel: String, panels: [Panel]) {
        self.title = title
        self.xLabel = xLabel
        self.panels = panels
    }

    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]

    /// "Nice" tick positions covering [lo, hi]. Ticks are counted as whole multiples of the step, so a range
    /// of a few ULPs (where adding the step would not move a tick) gives its two ends, never an endless loop.
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 6) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite, count >= 1 else { return [lo] }
        let raw = (hi - lo) / Double(count)
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        let first = ceil(lo / step), last = floor(hi / step + 1e-9)
        // Ticks that the doubles cannot tell apart (a range near the resolution of lo and hi) are not drawn.
        guard step > 0, step.isFinite, last - first <= Double(4 * count), last >= first,
              abs(first) < 0x1p52, abs(last) < 0x1p52, (first + 1) * step != first * step
        else { return [lo, hi] }
        return stride(from: first, through: last, by: 1).map { k in
            let t = k * step
            return abs(t) < step * 1e-9 ? 0 : t
        }
    }

    /// A number with an SI prefix (1.5m, 20µ, 3.3k).
    public static func si(_ x: Double) -> String {
        if x == 0 || !x.isFinite { return x == 0 ? "0" : "\(x)" }
        let prefixes: [(Double, String)] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"), (1e-18, "a")]
        let a = abs(x)
        for (scale, p) in prefixes where a >= scale * 0.9999999 {
            let v = x / scale
            var s = String(format: "%.3g", v)
            if s.contains("e") { s = String(format: "%.2f", v) }
            return s + p
        }
        return String(format: "%.2g", x)
    }

    /// A plain decimal number (0.8, 250, 12000), scientific only far from 1 (2.5e-05).
    public static func plain(_ x: Double) -> String {
        let a = abs(x)
        if x == 0 || !x.isFinite { return x == 0 ? "0" : "\(x)" }
        if a >= 1e4 && a < 1e9 { return String(format: "%.0f", x) }
        if a >= 1e-3 && a < 1e4 { return String(format: "%.4g", x) }
        return String(format: "%.2g", x)
    }

    /// Whether an axis label names a unit: a bracket with something other than 1 (`rate [Hz]`, not `ratio [1]`).
    public static func hasUnit(_ label: String) -> Bool {
        guard let open = label.lastIndex(of: "["), let close = label[open...].firstIndex(of: "]") else { return false }
        let unit = label[label.index(after: open)..<close].trimmingCharacters(in: .whitespaces)
        return !unit.isEmpty && unit != "1"
    }

    /// Marker shapes, in the order a panel's marker series take them: points of one series never hide another's
    /// (a ring around a dot, a square behind a diamond).
    enum Marker: CaseIterable {
        case dot, ring, square, diamond, triangle

        func svg(x: Double, y: Double, color: String, size: Double = 1) -> String {
            let r = 2.6 * size, f = { (v: Double) in String(format: "%.2f", v) }
            switch self {
            case .dot: return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r))\" fill=\"\(color)\"/>"
            case .ring:
                return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r * 1.5))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.3\"/>"
            case .square:
                return "<rect x=\"\(f(x - r))\" y=\"\(f(y - r))\" width=\"\(f(2 * r))\" height=\"\(f(2 * r))\" fill=\"none\" "
                    + "stroke=\"\(color)\" stroke-width=\"1.3\"/>"
            case .diamond:
                let d = r * 1.5
                return "<polygon points=\"\(f(x)),\(f(y - d)) \(f(x + d)),\(f(y)) \(f(x)),\(f(y + d)) \(f(x - d)),\(f(y))\" fill=\"\(color)\"/>"
            case .triangle:
                let d = r * 1.6
                return "<polygon points=\"\(f(x)),\(f(y - d)) \(f(x + d)),\(f(y + d * 0.8)) \(f(x - d)),\(f(y + d * 0.8))\" "
                    + "fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.3\"/>"
            }
        }
    }

    public func render() -> String {
        let left = 78.0, right = 170.0, top = 36.0, gap = 28.0, bottom = 44.0
        let plotW = width - left - right
        let height = top + Double(panels.count) * panelHeight + Double(max(0, panels.count - 1)) * gap + bottom
        let allX = panels.flatMap { $0.series.flatMap(\.x) }.filter(\.isFinite)
        var xlo = allX.min() ?? 0, xhi = allX.max() ?? 1
        if xhi <= xlo { xhi = xlo + 1; xlo -= 0 }
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="20" text-anchor="middle" font-size="14">\(SVGPlot.escape(title))</text>\n
        """
        // One colour per series label across the whole figure: "test" is the same colour in every panel.
        var colorOf: [String: String] = [:]
        func color(_ s: Series) -> String {
            if let c = s.color { return c }
            if let c = colorOf[s.label] { return c }
            let used = Set(colorOf.values)
            let c = SVGPlot.palette.first { !used.contains($0) } ?? SVGPlot.palette[colorOf.count % SVGPlot.palette.count]
            colorOf[s.label] = c
            return c
        }
        for (pi, panel) in panels.enumerated() {
            let y0 = top + Double(pi) * (panelHeight + gap)
            let transform: (Double) -> Double = panel.logY ? { $0 > 0 ? log10($0) : .nan } : { $0 }
            let ys = panel.series.flatMap(\.y).map(transform).filter(\.isFinite)
            var ylo = ys.min() ?? 0, yhi = ys.max() ?? 1
            if yhi - ylo < 1e-300 { ylo -= 0.5 * max(abs(ylo), 1e-12); yhi += 0.5 * max(abs(yhi), 1e-12) }
            let pad = (yhi - ylo) * 0.05
            ylo -= pad; yhi += pad
            func px(_ x: Double) -> Double { left + (x - xlo) / (xhi - xlo) * plotW }
            func py(_ y: Double) -> Double { y0 + panelHeight - (transform(y) - ylo) / (yhi - ylo) * panelHeight }
            svg += "<rect x=\"\(left)\" y=\"\(y0)\" width=\"\(plotW)\" height=\"\(panelHeight)\" fill=\"none\" stroke=\"#444\"/>\n"
            for t in SVGPlot.ticks(ylo, yhi) {
                let yy = y0 + panelHeight - (t - ylo) / (yhi - ylo) * panelHeight
                let label = panel.yFormat.label(panel.logY ? pow(10, t) : t, axis: panel.yLabel)
                svg += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\"\(yy)\" y2=\"\(yy)\" stroke=\"#e4e4e4\"/>"
                svg += "<text x=\"\(left - 6)\" y=\"\(yy + 4)\" text-anchor=\"end\">\(label)</text>\n"
            }
            if pi == panels.count - 1 {
                for t in SVGPlot.ticks(xlo, xhi, count: 8) {
                    let xx = px(t)
                    svg += "<line x1=\"\(xx)\" x2=\"\(xx)\" y1=\"\(y0 + panelHeight)\" y2=\"\(y0 + panelHeight + 5)\" stroke=\"#444\"/>"
                    svg += "<text x=\"\(xx)\" y=\"\(y0 + panelHeight + 18)\" text-anchor=\"middle\">\(xFormat.label(t, axis: xLabel))</text>\n"
                }
                svg += "<text x=\"\(left + plotW / 2)\" y=\"\(y0 + panelHeight + 36)\" text-anchor=\"middle\">\(SVGPlot.escape(xLabel))</text>\n"
            }
            svg += "<text transform=\"translate(16,\(y0 + panelHeight / 2)) rotate(-90)\" text-anchor=\"middle\">\(SVGPlot.escape(panel.yLabel))</text>\n"
            var markerIndex = 0
            for (si, s) in panel.series.enumerated() {
                let color = color(s)
                let marker = Marker.allCases[markerIndex % Marker.allCases.count]
                if s.markers { markerIndex += 1 }
                let points = SVGPlot.decimate(x: s.x, y: s.y, maxPoints: 4000)
                    .compactMap { p -> String? in
                        let X = px(p.0), Y = py(p.1)
                        return X.isFinite && Y.isFinite ? String(format: "%.2f,%.2f", X, Y) : nil
                    }
                if s.markers {
                    for p in points {
                        let xy = p.split(separator: ",").compactMap { Double($0) }
                        svg += marker.svg(x: xy[0], y: xy[1], color: color)
                    }
                    svg += "\n"
                } else if !points.isEmpty {
                    svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.4\"\(s.dashed ? " stroke-dasharray=\"5,3\"" : "") points=\"\(points.joined(separator: " "))\"/>\n"
                }
                let ly = y0 + 14 + Double(si) * 16
                // The legend draws what the series draws: a marker for points, a line (dashed or not) for lines.
                if s.markers {
                    svg += marker.svg(x: left + plotW + 20, y: ly - 4, color: color, size: 1.15)
                } else {
                    svg += "<line x1=\"\(left + plotW + 10)\" x2=\"\(left + plotW + 30)\" y1=\"\(ly - 4)\" y2=\"\(ly - 4)\" stroke=\"\(color)\" "
                        + "stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"5,3\"" : "")/>"
                }
                svg += "<text x=\"\(left + plotW + 34)\" y=\"\(ly)\">\(SVGPlot.escape(s.label))</text>\n"
            }
        }
        return svg + "</svg>\n"
    }

    /// Keeps at most about `maxPoints` points, preserving each bucket's min and max so spikes survive.
    static func decimate(x: [Double], y: [Double], maxPoints: Int) -> [(Double, Double)] {
        let n = min(x.count, y.count)
        guard n > maxPoints, maxPoints >= 4 else { return (0..<n).map { (x[$0], y[$0]) } }
        let buckets = maxPoints / 2
        var out: [(Double, Double)] = []
        out.reserveCapacity(maxPoints + 2)
        for b in 0..<buckets {
            let lo = b * n / buckets, hi = max(lo + 1, (b + 1) * n / buckets)
            var iMin = lo, iMax = lo
            for i in lo..<hi {
                if y[i] < y[iMin] { iMin = i }
                if y[i] > y[iMax] { iMax = i }
            }
            for i in [min(iMin, iMax), max(iMin, iMax)] { out.append((x[i], y[i])) }
        }
        return out
    }

    public static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
