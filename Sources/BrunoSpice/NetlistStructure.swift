import Foundation

/// The subcircuit structure of a netlist: definitions with their parameters, instances with their overrides,
/// top-level `.param`s — each with the line it is written on.
///
/// Why: to say *where* a value comes from (the instance override, the `.param` it refers to, the subcircuit
/// default in an included model file). The values themselves are never computed here: expressions are
/// evaluated by ngspice (see `ParameterProbe`), which is the only evaluator that agrees with ngspice.
public struct NetlistStructure: Sendable {
    /// `name = value` as written, on the physical line `lineIndex` of `Netlist.lines`.
    public struct Definition: Sendable, Equatable {
        public var name: String
        public var value: String
        public var lineIndex: Int
    }

    /// An `X` line: `XN mem spk felif vthr={vthr}`.
    public struct Instance: Sendable, Equatable {
        public var name: String
        public var subcircuit: String
        public var nodes: [String]
        /// Parameters set on the instance line, by lower-cased name.
        public var overrides: [String: Definition]
        public var lineIndex: Int
    }

    /// A `.subckt … .ends` block.
    public struct Subcircuit: Sendable, Equatable {
        public var name: String
        public var nodes: [String]
        /// Header defaults and `.param`s inside the block, by lower-cased name.
        public var parameters: [String: Definition]
        public var instances: [Instance]
        /// Index of the `.ends` line (new lines of the body go before it).
        public var endsIndex: Int
    }

    /// Definitions by lower-cased name.
    public var subcircuits: [String: Subcircuit] = [:]
    /// Top-level `.param`s by lower-cased name.
    public var parameters: [String: Definition] = [:]
    public var instances: [Instance] = []

    /// One statement: a physical line and its `+` continuations, joined as ngspice joins them.
    struct Statement {
        var indices: [Int]
        var text: String
        var keyword: String { Netlist.keyword(of: text) }
    }

    static func statements(of netlist: Netlist) -> [Statement] {
        var out: [Statement] = []
        for i in netlist.deckLineIndices.dropFirst() {
            let text = netlist.lines[i].text
            let trimmed = text.drop { $0 == " " || $0 == "\t" }
            if trimmed.hasPrefix("*") { continue }
            if trimmed.hasPrefix("+"), !out.isEmpty {
                out[out.count - 1].indices.append(i)
                out[out.count - 1].text += " " + Netlist.stripComment(String(trimmed.dropFirst()))
            } else {
                out.append(Statement(indices: [i], text: Netlist.stripComment(text)))
            }
        }
        return out
    }

    public init(_ netlist: Netlist) {
        var stack: [Subcircuit] = []
        /// The physical line of `name=` within a statement (continuation lines each hold some of them).
        func definitions(_ s: Statement) -> [String: Definition] {
            var out: [String: Definition] = [:]
            for index in s.indices {
                let text = netlist.lines[index].text
                for a in Netlist.paramAssignments(in: text) {
                    let value = (text as NSString).substring(with: a.valueRange)
                    out[a.name.lowercased()] = Definition(name: a.name, value: value, lineIndex: index)
                }
            }
            return out
        }
        /// The words before the first `name=value` (and without `params:`).
        func words(_ s: Statement) -> [String] {
            let normalised = s.text.replacingOccurrences(of: #"\s*=\s*"#, with: "=", options: .regularExpression)
            var out: [String] = []
            for w in normalised.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                if w.contains("=") { break }
                if w.lowercased() == "params:" { continue }
                out.append(String(w))
            }
            return out
        }
        for s in NetlistStructure.statements(of: netlist) {
            let key = s.keyword
            if key == ".subckt" {
                let w = words(s)
                guard w.count >= 2 else { continue }
                stack.append(Subcircuit(name: w[1], nodes: Array(w.dropFirst(2)), parameters: definitions(s),
                                        instances: [], endsIndex: s.indices[0]))
            } else if key == ".ends" {
                guard var sub = stack.popLast() else { continue }
                sub.endsIndex = s.indices[0]
                subcircuits[sub.name.lowercased()] = sub
            } else if key == ".param" {
                let defs = definitions(s)
                if stack.isEmpty {
                    parameters.merge(defs) { _, new in new }
                } else {
                    stack[stack.count - 1].parameters.merge(defs) { _, new in new }
                }
            } else if key.hasPrefix("x") {
                let w = words(s)
                guard w.count >= 2 else { continue }
                let instance = Instance(name: w[0], subcircuit: w[w.count - 1], nodes: Array(w.dropFirst().dropLast()),
                                        overrides: definitions(s), lineIndex: s.indices[0])
                if stack.isEmpty { instances.append(instance) } else { stack[stack.count - 1].instances.append(instance) }
            }
        }
    }

    /// One level of an instance path: the instance and the definition it places.
    public struct Level: Sendable {
        public var instance: Instance
        public var subcircuit: Subcircuit
        /// ngspice's name of the level (`xn`, `xn.xfe`), the prefix of its internal nodes.
        public var path: String
    }

    /// The instance `top` and every instance below it, depth first (`xn`, `xn.xfe`, …).
    public func hierarchy(below top: Instance) -> [Level] {
        var out: [Level] = []
        func walk(_ instance: Instance, prefix: String, depth: Int) {
            guard depth < 16, let sub = subcircuits[instance.subcircuit.lowercased()] else { return }
            let path = prefix.isEmpty ? instance.name.lowercased() : prefix + "." + instance.name.lowercased()
            out.append(Level(instance: instance, subcircuit: sub, path: path))
            for child in sub.instances { walk(child, prefix: path, depth: depth + 1) }
        }
        walk(top, prefix: "", depth: 0)
        return out
    }

    /// The line a parameter of level `index` of `levels` gets its value from: the instance's override, followed
    /// to the `.param` (top level) or the parent's parameter it names; otherwise the subcircuit's own default.
    public func sourceLine(of name: String, level index: Int, in levels: [Level]) -> Int? {
        let key = name.lowercased()
        let level = levels[index]
        if let override = level.instance.overrides[key] {
            let referenced = override.value.trimmingCharacters(in: CharacterSet(charactersIn: "{}' "))
            if referenced.range(of: #"^[A-Za-z_][A-Za-z0-9_]*$"#, options: .regularExpression) != nil {
                if index == 0, let top = parameters[referenced.lowercased()] { return top.lineIndex }
                if index > 0, levels[index - 1].subcircuit.parameters[referenced.lowercased()] != nil {
                    return sourceLine(of: referenced, level: index - 1, in: levels) ?? override.lineIndex
                }
            }
            return override.lineIndex
        }
        return level.subcircuit.parameters[key]?.lineIndex
    }
}

extension Netlist {
    /// Subcircuits, instances and parameters of the deck (see `NetlistStructure`).
    public var structure: NetlistStructure { NetlistStructure(self) }

    /// Where `lines[index]` came from: "file:line" (the file as the user named it).
    public func place(ofLineAt index: Int) -> String {
        let loc = location(ofLineAt: index)
        return "\(loc.file):\(loc.line)"
    }

    /// The deck with every analysis, output and measurement statement commented out (continuations too), so that
    /// Bruno can add its own analysis.
    public func withoutAnalyses() -> Netlist {
        let removed: Set<String> = [".tran", ".ac", ".dc", ".op", ".noise", ".tf", ".sens", ".pz", ".disto", ".save",
                                    ".print", ".plot", ".probe", ".meas", ".measure", ".four", ".sp"]
        var copy = self
        for s in NetlistStructure.statements(of: self) where removed.contains(s.keyword) {
            for i in s.indices { copy.lines[i].text = "* " + copy.lines[i].text }
        }
        return copy
    }

    /// Inserts lines just before line `index` (they belong to whatever block `index` is in).
    public mutating func insert(_ newLines: [String], before index: Int) {
        lines.insert(contentsOf: newLines.map { Line(text: $0, sourceLine: nil) }, at: index)
    }
}

/// Values of parameter expressions as ngspice evaluates them for a netlist.
///
/// Each request becomes a behavioural source whose voltage is the expression, placed inside the subcircuit that
/// declares its names (or at the top level); one nanosecond of transient with `uic` is run and the nodes read.
/// The netlist's own analyses and outputs are commented out in the probe deck only.
public enum ParameterProbe {
    public struct Request: Sendable {
        public var expression: String
        /// The level to evaluate at (nil: the top level).
        public var level: NetlistStructure.Level?

        public init(_ expression: String, at level: NetlistStructure.Level? = nil) {
            self.expression = expression
            self.level = level
        }
    }

    /// One value per request (nil where ngspice gave none or it was not finite).
    public static func evaluate(_ netlist: Netlist, _ requests: [Request], spice: SpiceInstance) throws -> [Double?] {
        guard !requests.isEmpty else { return [] }
        var deck = netlist.withoutAnalyses()
        let inside = Dictionary(grouping: requests.indices.filter { requests[$0].level != nil },
                                by: { requests[$0].level!.subcircuit.endsIndex })
        for ends in inside.keys.sorted(by: >) {
            deck.insert(inside[ends]!.map { "Bbrunoprobe\($0) brunoprobe\($0) 0 V={\(requests[$0].expression)}" }, before: ends)
        }
        deck.append(requests.indices.filter { requests[$0].level == nil }
            .map { "Bbrunoprobe\($0) brunoprobe\($0) 0 V={\(requests[$0].expression)}" })
        deck.append([".tran 1n 2n 0 1n uic"])
        func node(_ k: Int) -> String { requests[k].level.map { "\($0.path).brunoprobe\(k)" } ?? "brunoprobe\(k)" }
        deck.save(requests.indices.map { "v(\(node($0)))" })
        let result = try spice.simulate(deck)
        return requests.indices.map { k in result["v(\(node(k)))"]?.real.first.flatMap { $0.isFinite ? $0 : nil } }
    }
}
