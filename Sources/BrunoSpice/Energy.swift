import Foundation

/// Energy from a transient, on the simulator's own time points.
///
/// Why the returned vectors and not `meas … INTEG`: a deck's `.save` list already names what is needed, the
/// integral over any window can be taken again without rerunning, and one code path serves sources, devices
/// and whole subcircuits. The trapezoid rule on ngspice's accepted points is as accurate as the transient itself
/// (its local truncation error control bounds the change between points); window ends that fall between points
/// are interpolated linearly.
public enum SpiceEnergy {
    /// ∫ p dt [J] over `window` (the whole trace when nil) by the trapezoid rule on `time`.
    public static func integral(time: [Double], power: [Double], window: ClosedRange<Double>? = nil) -> Double {
        precondition(time.count == power.count, "time and power must have one value per point")
        guard time.count > 1 else { return 0 }
        let lo = window?.lowerBound ?? time[0], hi = window?.upperBound ?? time[time.count - 1]
        func at(_ t: Double, _ k: Int) -> Double {   // p(t) for t in [time[k-1], time[k]]
            let t0 = time[k - 1], t1 = time[k]
            return t1 > t0 ? power[k - 1] + (power[k] - power[k - 1]) * (t - t0) / (t1 - t0) : power[k]
        }
        var sum = 0.0
        for k in 1..<time.count {
            let a = max(time[k - 1], lo), b = min(time[k], hi)
            guard b > a else { continue }
            sum += 0.5 * (at(a, k) + at(b, k)) * (b - a)
        }
        return sum
    }
}

/// Which vectors of a plot describe one two-terminal element, and the sign that makes the product the power the
/// element *absorbs*.
public struct EnergyProbe: Sendable, Equatable, Codable {
    /// What the element is, in the report's words ("FeCap switching").
    public var label: String
    /// Node voltages of the element's terminals (`mem`, `0` for ground).
    public var plus: String
    public var minus: String
    /// The current vector: ngspice's `v1#branch` / `i(v1)` (flows from + through the source to −) or a device's
    /// `@b.x1.b1[i]` (flows from + through the element to −).
    public var current: String

    public init(label: String, plus: String, minus: String = "0", current: String) {
        self.label = label
        self.plus = plus
        self.minus = minus
        self.current = current
    }

    /// The probe of the independent or controlled source `name` (`vin`, `xn.vone`, `e.xn.eqb`): its branch current.
    public static func source(_ label: String, name: String, plus: String, minus: String = "0") -> EnergyProbe {
        EnergyProbe(label: label, plus: plus, minus: minus, current: "\(name)#branch")
    }
}

extension SpicePlot {
    /// The power [W] an element absorbs at every time point (negative while it delivers), v(plus, minus) · i.
    ///
    /// ngspice's current of every element flows from its + node through it to its − node, for sources and devices
    /// alike, so v·i is absorbed power and a source delivering energy shows a negative product.
    public func absorbedPower(_ probe: EnergyProbe) throws -> [Double] {
        func voltage(_ node: String) throws -> [Double]? {
            if node == "0" || node.lowercased() == "gnd" { return nil }
            guard let v = self["v(\(node))"] ?? self[node] else { throw missing("v(\(node))", for: probe) }
            return v.real
        }
        guard let i = self[probe.current], i.count > 0 else { throw missing(probe.current, for: probe) }
        let vp = try voltage(probe.plus), vm = try voltage(probe.minus)
        for v in [vp, vm].compactMap({ $0 }) where v.count != i.count {
            throw SpiceError.invalidRequest(
                "Energy of \(probe.label): \(probe.current) has \(i.count) points, its terminal voltages \(v.count).")
        }
        var p = [Double](repeating: 0, count: i.count)
        for k in 0..<i.count {
            p[k] = ((vp?[k] ?? 0) - (vm?[k] ?? 0)) * i.real[k]
        }
        return p
    }

    /// Energy [J] the element absorbed over `window` (negative: it delivered energy).
    public func absorbedEnergy(_ probe: EnergyProbe, window: ClosedRange<Double>? = nil) throws -> Double {
        guard let t = scale, t.quantity == .time else {
            throw SpiceError.invalidRequest("Energy needs a transient: plot \(name) has no time vector.")
        }
        return SpiceEnergy.integral(time: t.real, power: try absorbedPower(probe), window: window)
    }

    /// Energy [J] the source delivered to the circuit over `window`: minus what it absorbed.
    public func deliveredEnergy(_ probe: EnergyProbe, window: ClosedRange<Double>? = nil) throws -> Double {
        -(try absorbedEnergy(probe, window: window))
    }

    private func missing(_ vector: String, for probe: EnergyProbe) -> SpiceError {
        let names = vectors.map(\.name).sorted().joined(separator: ", ")
        return .invalidRequest("""
            Energy of \(probe.label): plot \(name) has no vector \(vector) (save it: `.save \(vector)`). \
            Vectors: \(names).
            """)
    }
}
