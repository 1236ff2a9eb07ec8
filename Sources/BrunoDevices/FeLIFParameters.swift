import BrunoSpice
import BrunoSupport
import BrunoSurrogates
import Foundation

/// Parameters of the FeLIF neuron circuit (`models/felif.lib`), defaults from the reference work
/// (Fehlings et al. 2026, see docs/devices.md). SI units throughout.
public struct FeLIFParameters: Sendable, Equatable, Codable {
    // Ferroelectric capacitor (HZO stack)
    public var area = 25e-12            // electrode area [m²]
    public var tFe = 10e-9              // ferroelectric thickness [m]
    public var epsFe = 25.2             // ferroelectric relative permittivity
    public var tInt = 1.375e-9          // interlayer thickness [m]
    public var epsInt = 33.0            // interlayer relative permittivity
    public var saturationPolarization = 0.22    // Ps [C/m²]
    public var tau0 = 1e-13             // switching-time prefactor [s]
    public var activationField = 1.27e9 // Ea [V/m]
    public var alpha = 1.3              // switching-law exponent
    public var leakCurrentDensity = 1e-4 // J0 of the diode-like leak [A/m²]
    public var leakVoltage = 0.32       // Vt of the diode-like leak [V]
    // Neuron circuit
    public var parasiticCapacitance = 15e-15    // [F]
    public var dischargeCurrent = 10e-12        // I_dsc [A]
    public var threshold = 2.5                  // [V]
    public var resetVoltage = -1.5              // [V]
    public var polarizingVoltage = -3.0         // [V]
    public var resetTime = 20e-6                // reset timer rt·ct [s]

    public init() {}

    /// The reference defaults.
    public static let reference = FeLIFParameters()

    /// `name=value` pairs for the `felif` subcircuit's instance line.
    public var subcircuitArguments: [(String, Double)] {
        [("area", area), ("tfe", tFe), ("epsfe", epsFe), ("tint", tInt), ("epsint", epsInt),
         ("ps", saturationPolarization), ("tau0", tau0), ("ea", activationField), ("alpha", alpha),
         ("j0", leakCurrentDensity), ("vt", leakVoltage), ("cpar", parasiticCapacitance),
         ("idsc", dischargeCurrent), ("vthr", threshold), ("vreset", resetVoltage), ("vpol", polarizingVoltage),
         ("treset", resetTime)]
    }
}

extension FeLIFVariation {
    /// The factors as the FeLIF subcircuit's instance parameters.
    var subcircuitArguments: [(String, Double)] {
        [("varea", area), ("vea", activationField), ("vps", saturationPolarization), ("vj0", leak),
         ("vtfe", tFe), ("vtint", tInt), ("vidsc", discharge)]
    }
}

/// Formats `name=value` pairs for a subcircuit instance line.
func instanceArguments(_ pairs: [(String, Double)]) -> String {
    pairs.map { "\($0.0)=\(Netlist.spiceNumber($0.1))" }.joined(separator: " ")
}
