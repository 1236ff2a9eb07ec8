import ArgumentParser
import BrunoCalibration
import BrunoCards
import BrunoData
import BrunoEnergy
import BrunoExport
import BrunoScaleOut
import BrunoSpice
import BrunoSupport
import BrunoTraining
import BrunoValidation
import Foundation

struct Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate a netlist with the in-process ngspice and write its vectors.",
        discussion: """
        Runs the analyses the netlist asks for (.tran, .dc, .op), or the transient given with --tran.
        Relative .include/.lib paths resolve against the netlist's folder. Vectors go to --out as CSV
        (.csv) or JSON (.json); without --out a summary is printed. --plot writes an SVG against time.
        """
    )

    @Argument(help: "The netlist file (.cir).")
    var netlist: String

    @Option(name: .customLong("param"), help: ArgumentHelp("Override a top-level .param (repeatable).", valueName: "NAME=VALUE"))
    var params: [String] = []

    @Option(help: ArgumentHelp("Run this transient instead of the netlist's analyses.", valueName: "STEP,STOP"))
    var tran: String?

    @Option(name: .customLong("save"), help: ArgumentHelp("Keep only this vector, e.g. v(out) (repeatable).", valueName: "VEC"))
    var saves: [String] = []

    @Option(help: ArgumentHelp("Write vectors to FILE (.csv or .json).", valueName: "FILE"))
    var out: String?

    @Option(help: ArgumentHelp("Write an SVG plot of the vectors to FILE.", valueName: "FILE"))
    var plot: String?

    @Flag(help: "Echo everything ngspice prints.")
    var verbose = false

    func run() throws {
        do {
            try simulate()
        } catch let error as SpiceError {
            throw CLIError(error.description)
        }
    }

    private func simulate() throws {
        if let out, !(out.hasSuffix(".csv") || out.hasSuffix(".json")) {
            throw CLIError("--out must end in .csv or .json (got \(out)).")
        }
        var deck = try Netlist(contentsOf: URL(fileURLWithPath: netlist))
        for assignment in params {
            guard let eq = assignment.firstIndex(of: "="), eq != assignment.startIndex else {
                throw CLIError("--param expects NAME=VALUE (got '\(assignment)').")
            }
            try deck.setParameter(String(assignment[..<eq]), to: String(assignment[assignment.index(after: eq)...]))
        }
        deck.save(saves)
        var analysis = Analysis.netlist
        if let tran {
            let parts = tran.split(separator: ",").map { SpiceNumber.parse(String($0)) }
            guard parts.count == 2, let step = parts[0], let stop = parts[1] else {
                throw CLIError("--tran expects STEP,STOP in seconds, e.g. 1u,5m (got '\(tran)').")
            }
            analysis = .transient(step: step, stop: stop)
        }
        let instance = try SpiceInstance()
        if verbose { instance.setEcho { FileHandle.standardError.write(Data(("ngspice: " + $0 + "\n").utf8)) } }
        let result = try instance.simulate(deck, analysis: analysis)
        for w in result.warnings { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
        guard let main = result.mainPlot else { throw CLIError("ngspice produced no vectors for \(netlist).") }
        if let out {
            let url = URL(fileURLWithPath: out)
            if out.hasSuffix(".json") {
                try AtomicFile.write(try result.json(saves), to: url)
            } else {
                try AtomicFile.write(try main.table(saves).csv(), to: url)
                if result.plots.count > 1 {
                    print("note: \(out) holds plot \(main.name); the run also made \(result.plots.filter { $0 != main }.map(\.name).joined(separator: ", ")) (use .json for all).")
                }
            }
            print("wrote \(main.vectors.count) vectors × \(main.scale?.count ?? main.vectors.first?.count ?? 0) points to \(out)")
        } else {
            for p in result.plots {
                print("plot \(p.name) (\(p.kind)): \(p.vectors.count) vectors")
                for v in p.vectors {
                    let last = v.real.last.map { SVGPlot.si($0) } ?? "-"
                    print("  \(v.name) [\(v.quantity.unit)] \(v.count) points, last \(last)")
                }
            }
        }
        if let plot {
            try AtomicFile.write(try main.svg(saves, title: "\(deck.title) (\(main.name))"), to: URL(fileURLWithPath: plot))
            print("wrote plot to \(plot)")
        }
    }
}

/// An error printed as one paragraph with a non-zero exit status.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}

/// The library's errors already say what is wrong and where (file, line, key, what was expected): shown as one
/// paragraph with a non-zero exit, without the type name ArgumentParser would prepend.
func userFacing(_ error: Error) -> Error {
    switch error {
    case let e as ProtocolError: return CLIError(e.description)
    case let e as DataError: return CLIError(e.description)
    case let e as TrainingError:
        if case .interrupted(let signal, _, _) = e {
            FileHandle.standardError.write(Data(("bruno: " + e.description + "\n").utf8))
            return ExitCode(Interruption.exitStatus(signal))
        }
        return CLIError(e.description)
    case let e as RunFolderLockError: return CLIError(e.description)
    case let e as CocoaError:
        // Foundation's own description is a dump of its user-info dictionary; say which file and why.
        let path = e.userInfo[NSFilePathErrorKey] as? String ?? e.errorUserInfo[NSFilePathErrorKey] as? String
        let reason = (e.userInfo[NSUnderlyingErrorKey] as? NSError)?.localizedDescription
            ?? (e.userInfo[NSLocalizedDescriptionKey] as? String) ?? "\(e.code)"
        return CLIError("cannot write or read \(path ?? "a file"): \(reason) (is the disk full or the folder read-only?)")
    case let e as ValidationSetupError: return CLIError(e.description)
    case let e as ExportError: return CLIError(e.description)
    case let e as CalibrationError: return CLIError(e.description)
    case let e as SpiceError: return CLIError(e.description)
    case let e as ShardError: return CLIError(e.description)
    case let e as SlurmError: return CLIError(e.description)
    case let e as EnergyError: return CLIError(e.description)
    default: return error
    }
}

/// Prints a progress line and flushes it at once (stdout is block-buffered when it is a file or a pipe).
@Sendable func say(_ line: String) {
    print(line)
    fflush(nil)
}
