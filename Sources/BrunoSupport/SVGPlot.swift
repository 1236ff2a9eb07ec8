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

    public struct Panel: Sendable {
        public var yLabel: String
        public var series: [Series]
        public var logY: Bool

        public init(yLabel: String, series: [Series], logY: Bool = false) {
            self.yLabel = yLabel
            self.series = series
            self.logY = logY
        }
    }

    public var title: String
    public var xLabel: String
    public var panels: [Panel]
    public var width: Double = 820
    public var panelHeight: Double = 260

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
        var colorIndex = 0
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
                let label = panel.logY ? SVGPlot.si(pow(10, t)) : SVGPlot.si(t)
                svg += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\"\(yy)\" y2=\"\(yy)\" stroke=\"#e4e4e4\"/>"
                svg += "<text x=\"\(left - 6)\" y=\"\(yy + 4)\" text-anchor=\"end\">\(label)</text>\n"
            }
            if pi == panels.count - 1 {
                for t in SVGPlot.ticks(xlo, xhi, count: 8) {
                    let xx = px(t)
                    svg += "<line x1=\"\(xx)\" x2=\"\(xx)\" y1=\"\(y0 + panelHeight)\" y2=\"\(y0 + panelHeight + 5)\" stroke=\"#444\"/>"
                    svg += "<text x=\"\(xx)\" y=\"\(y0 + panelHeight + 18)\" text-anchor=\"middle\">\(SVGPlot.si(t))</text>\n"
                }
                svg += "<text x=\"\(left + plotW / 2)\" y=\"\(y0 + panelHeight + 36)\" text-anchor=\"middle\">\(SVGPlot.escape(xLabel))</text>\n"
            }
            svg += "<text transform=\"translate(16,\(y0 + panelHeight / 2)) rotate(-90)\" text-anchor=\"middle\">\(SVGPlot.escape(panel.yLabel))</text>\n"
            for (si, s) in panel.series.enumerated() {
                let color = s.color ?? SVGPlot.palette[colorIndex % SVGPlot.palette.count]
                colorIndex += 1
                let points = SVGPlot.decimate(x: s.x, y: s.y, maxPoints: 4000)
                    .compactMap { p -> String? in
                        let X = px(p.0), Y = py(p.1)
                        return X.isFinite && Y.isFinite ? String(format: "%.2f,%.2f", X, Y) : nil
                    }
                if s.markers {
                    for p in points {
                        let xy = p.split(separator: ",")
                        svg += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"2.5\" fill=\"\(color)\"/>"
                    }
                    svg += "\n"
                } else if !points.isEmpty {
                    svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.4\"\(s.dashed ? " stroke-dasharray=\"5,3\"" : "") points=\"\(points.joined(separator: " "))\"/>\n"
                }
                let ly = y0 + 14 + Double(si) * 16
                // The legend draws what the series draws: a marker for points, a line (dashed or not) for lines.
                if s.markers {
                    svg += "<circle cx=\"\(left + plotW + 20)\" cy=\"\(ly - 4)\" r=\"3\" fill=\"\(color)\"/>"
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
