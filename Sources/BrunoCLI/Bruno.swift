import ArgumentParser

@main
struct Bruno: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bruno",
        abstract: "Train spiking networks against the circuits they will run on (ngspice in the loop).",
        subcommands: [PipelineCommand.self, Sim.self, Column.self, Calibrate.self, Train.self, Evaluate.self, Validate.self, Export.self]
    )
}
