import BrunoDevices
import BrunoSpice
import Foundation

/// An input current for calibrating the FeLIF neuron, held piecewise constant over windows (the training
/// engine's input has this form).
public struct FeLIFStimulus: Sendable, Equatable, Codable {
    public var name: String
    /// Window length [s].
    public var window: Double
    /// One current [A] per window; the last one holds until `duration`.
    public var currents: [Double]
    /// Simulated time [s].
    public var duration: Double
    /// Kept out of the fit and used only to judge it.
    public var heldOut: Bool

    public init(name: String, window: Double, currents: [Double], duration: Double, heldOut: Bool = false) {
        self.name = name
        self.window = window
        self.currents = currents
        self.duration = duration
        self.heldOut = heldOut
    }

    public static func constant(_ name: String, current: Double, duration: Double, heldOut: Bool = false) -> FeLIFStimulus {
        FeLIFStimulus(name: name, window: duration, currents: [current], duration: duration, heldOut: heldOut)
    }

    /// `on` seconds of `current`, then silence until `duration` (shows the leak).
    public static func burst(_ name: String, current: Double, on: Double, duration: Double, window: Double = 1e-3, heldOut: Bool = false) -> FeLIFStimulus {
        let n = Int((duration / window).rounded(.up)), k = Int((on / window).rounded())
        return FeLIFStimulus(name: name, window: window, currents: (0..<n).map { $0 < k ? current : 0 }, duration: duration, heldOut: heldOut)
    }

    /// ngspice's largest time step in calibration runs [s] (`[simulation] max_step`).
    public static let defaultMaxStep = 1e-6

    /// SPICE PWL source value with 1 ns steps between windows.
    var sourceValue: String {
        (currents.count == 1 ? NeuronInput.constant(currents[0]) : NeuronInput.piecewise(window: window, currents: currents)).sourceValue()
    }

    /// The neuron netlist driven by this stimulus: its `Iin` source gets the stimulus and its `.tran` the
    /// duration, with ngspice's time step at most `maxStep` [s]. Throws, naming the netlist, if it has no `Iin`
    /// source or no `.tran` line.
    ///
    /// The step bound is about the circuit, not the plot: the comparator and latch are switch models, whose
    /// transitions ngspice's truncation-error control does not resolve. At 50 µs the shipped neuron fires 40 µs
    /// early at 2 nA and the error accumulates (0.6 % after six spikes); at 1 µs the spike times agree with a
    /// 200 ns run within 2 µs over 40 ms.
    public func deck(from base: Netlist, maxStep: Double = FeLIFStimulus.defaultMaxStep) throws -> Netlist {
        if let bad = currents.firstIndex(where: { !$0.isFinite }) {
            throw CalibrationError.invalidParameter("stimulus '\(name)': current \(bad + 1) is \(currents[bad]), not a finite number")
        }
        guard duration > 0, duration.isFinite, window > 0, !currents.isEmpty else {
            throw CalibrationError.invalidParameter("stimulus '\(name)': needs a positive duration and window and at least one current")
        }
        var deck = base
        guard let i = deck.lines.indices.dropFirst().first(where: { Netlist.keyword(of: deck.lines[$0].text) == "iin" }) else {
            throw CalibrationError.netlistShape("\(base.name) has no current source `Iin` driving the membrane (expected a line like `Iin 0 mem DC {iin}`)")
        }
        let tokens = deck.lines[i].text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        let place = base.place(ofLineAt: i)
        guard tokens.count >= 3 else { throw CalibrationError.netlistShape("\(place): `Iin` needs two nodes") }
        guard tokens[2].lowercased() == "mem" else {
            throw CalibrationError.netlistShape("\(place): `Iin` must drive the membrane node `mem` from node "
                + "\(tokens[1]) (current flows into its second node: `Iin 0 mem DC {iin}`); it drives `\(tokens[2])`")
        }
        deck.lines[i].text = "\(tokens[0]) \(tokens[1]) \(tokens[2]) \(sourceValue)"
        guard let t = deck.lines.indices.first(where: { Netlist.keyword(of: deck.lines[$0].text) == ".tran" }) else {
            throw CalibrationError.netlistShape("\(base.name) has no .tran line")
        }
        let step = Netlist.spiceNumber(min(10e-6, duration / 1000, maxStep))
        deck.lines[t].text = ".tran \(step) \(Netlist.spiceNumber(duration)) 0 \(Netlist.spiceNumber(maxStep)) uic"
        return deck
    }
}
