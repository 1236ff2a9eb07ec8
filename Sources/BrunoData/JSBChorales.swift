import BrunoSupport
import Foundation

/// Bach chorales (JSB) for next-step prediction: each chorale is a piano roll of 54 keys (MIDI 43…96) at
/// quarter-note resolution; the input at step t is the roll at t and the target is the roll at t + 1.
///
/// File format (Boulanger-Lewandowski et al. 2012 split, JSON): an object with any of the keys `train`,
/// `valid`, `test`, each a list of chorales; a chorale is a list of time steps; a time step is a list of the
/// MIDI note numbers sounding (an empty list is silence).
public enum JSBChorales {
    public static let lowestKey = 43
    public static let keys = 54
    public static let splits = ["train", "valid", "test"]

    /// Loads one split as a prediction dataset (`channels` = `targetChannels` = 54).
    public static func load(_ url: URL, split: String) throws -> SequenceDataset {
        let file = url.path
        guard splits.contains(split) else {
            throw DataError(file: file, "unknown split '\(split)'; expected one of \(splits.joined(separator: ", "))")
        }
        let data: Data
        do { data = try BoundedFile.read(url, limit: BoundedFile.dataLimit) } catch let refusal as BoundedFile.Refusal {
            throw DataError(file: file, refusal.reason)
        }
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw DataError(file: file, "not valid JSON: \((error as NSError).localizedDescription)")
        }
        guard let object = root as? [String: Any] else {
            throw DataError(file: file, "expected a JSON object with keys \(splits.joined(separator: "/")), found \(type(of: root))")
        }
        let unknown = object.keys.filter { !splits.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw DataError(file: file, "unexpected key(s) \(unknown.joined(separator: ", ")); allowed: \(splits.joined(separator: ", "))")
        }
        guard let chorales = object[split] else {
            throw DataError(file: file, "no '\(split)' split; the file has \(object.keys.sorted().joined(separator: ", "))")
        }
        guard let list = chorales as? [Any] else { throw DataError(file: file, location: split, "expected a list of chorales") }
        var samples: [SequenceDataset.Sample] = []
        for (ci, chorale) in list.enumerated() {
            guard let steps = chorale as? [Any] else { throw DataError(file: file, location: "\(split)[\(ci)]", "expected a list of time steps") }
            guard steps.count >= 2 else { throw DataError(file: file, location: "\(split)[\(ci)]", "a chorale needs at least 2 time steps for next-step targets (has \(steps.count))") }
            var roll = [Float](repeating: 0, count: steps.count * keys)
            for (t, step) in steps.enumerated() {
                guard let notes = step as? [Any] else { throw DataError(file: file, location: "\(split)[\(ci)][\(t)]", "expected a list of MIDI note numbers") }
                for (k, note) in notes.enumerated() {
                    let where_ = "\(split)[\(ci)][\(t)][\(k)]"
                    // JSONSerialization gives NSNumber; booleans have objCType "c". Reject them and fractions.
                    guard let number = note as? NSNumber, String(cString: number.objCType) != "c" else {
                        throw DataError(file: file, location: where_, "expected an integer MIDI note, found \(note)")
                    }
                    let value = number.doubleValue
                    guard value.isFinite, value == value.rounded(), let midi = Int(exactly: value) else {
                        throw DataError(file: file, location: where_, "expected an integer MIDI note, found \(value)")
                    }
                    guard midi >= lowestKey, midi < lowestKey + keys else {
                        throw DataError(file: file, location: where_, "MIDI note \(midi) is outside \(lowestKey)…\(lowestKey + keys - 1)")
                    }
                    roll[t * keys + midi - lowestKey] = 1
                }
            }
            let inputs = Array(roll[0..<((steps.count - 1) * keys)])
            let targets = Array(roll[keys...])
            samples.append(SequenceDataset.Sample(values: inputs, steps: steps.count - 1, targets: targets))
        }
        return SequenceDataset(name: "jsb-\(split)", channels: keys, classes: [], samples: samples)
    }
}
