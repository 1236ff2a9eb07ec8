import ArgumentParser
import BrunoSupport
import CSignals

@main
struct Bruno: AsyncParsableCommand {
    static let configuration: CommandConfiguration = {
        // The first thing parsing reads: the signal thread (CSignals) learns where to send the first signal.
        bruno_set_signal_handler { Interruption.signalArrived($0) ? 1 : 0 }
        ProcessMemory.retainFreedPages()
        return CommandConfiguration(
            commandName: "bruno",
            abstract: "Train spiking networks against the circuits they will run on (ngspice in the loop).",
            subcommands: [PipelineCommand.self, Sim.self, Column.self, Calibrate.self, Train.self, Evaluate.self, Validate.self, SweepCommand.self,
                          Export.self, EnergyCommand.self, Shard.self]
        )
    }()
}
