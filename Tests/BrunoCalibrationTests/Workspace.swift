import Foundation
import XCTest

extension XCTestCase {
    /// A copy of the package's `netlists/` and `models/` in a fresh folder (removed after the test), to edit the
    /// way a user edits their own.
    func netlistWorkspace() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bruno-workspace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for sub in ["netlists", "models"] {
            try FileManager.default.copyItem(at: FeLIFCalibrationTests.root.appendingPathComponent(sub),
                                             to: dir.appendingPathComponent(sub))
        }
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }
}
