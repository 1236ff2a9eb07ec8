import Foundation

/// The README.md written next to an export.
enum ExportReadme {
    static func text(run: URL, epoch: Int, layer: Int, sample: Int, columns: Int, inputs: Int, synapses: Int, energy: Bool = false) -> String {
        """
        # Exported from \(run.lastPathComponent) (epoch \(epoch))

        Everything needed to simulate the trained chip. SI units throughout (S, A, V, s, m, C/m²).

        | file | what it is |
        |---|---|
        | `felif.card.json`, `rram.card.json` | the calibrated device cards the network was trained with, byte for byte (format `bruno-device-card`, version 1: `docs/cards.md` and `docs/card.schema.json` in Bruno) |
        | `devices.lib` | the same parameters as SPICE: `.param felif_*` named after the `felif` subcircuit's parameters, `.param rram_g<l>` etc. per level, and commented example instances — one `XN<j> … felif …` per trained neuron with its device-to-device factors, one `rram_read` cell per level |
        | `synapses.csv` | one row per synapse (\(synapses) in all) of every RRAM layer: `layer` (index in the network), `row` (input), `column` (output), `weight` (realised, normalised to the full swing G₇ − G₀), `level` (signed, −7…7: the G⁺ cell at level l > 0 or the G⁻ cell at −l), `target_g_plus_S`/`target_g_minus_S` (the card's level means), `programmed_g_*_S` (this chip's cells, with device-to-device and programming draws), `compliance_*_A` (the SET compliance of each cell's level in `netlists/rram_program.cir`), and the programming recipe: ISPP with verify window `tolerance` (relative), first SET at `start_fraction` of the compliance, then `step_pulse_s` pulses |
        | `network.cir` | the trained FeLIF layer \(layer) (\(columns) neurons, \(inputs) active input lines) driven by test sample \(sample)'s presynaptic spikes: each input spike is a read pulse over its 1 ms step, each synapse a differential pair of frozen-state RRAM read cells at its programmed conductance. Runs as is: `ngspice -b network.cir` or `bruno sim network.cir --out out.csv`. Outputs `v(mem<j>)` [V] and `v(spk<j>)` (1 V while neuron j fires). One deck puts all neurons on one time grid: large layers take long (see Bruno's docs/export.md) |
        | `network-expected.json` | what the surrogate did on that sample: spike counts per neuron and the predicted class, to compare with the circuit |
        | `models/` | the compact models `network.cir` includes (`felif.lib`, `fecap.lib`, `rram.lib`) |
        """ + "\n" + (energy ? """
        | `energy/` | the chip's energy from SPICE (`bruno energy`): `energy.md` (per spike, per read and programming, per inference, checked against whole-column ngspice sums), `energy.json`, two plots, and the two cards with an `energy` section (each figure with its conditions) |

        """ : "")
    }
}
