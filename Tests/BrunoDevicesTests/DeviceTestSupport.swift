import BrunoDevices
import BrunoSpice
import BrunoSupport
import Foundation

enum DeviceTestSupport {
    static let library = DeviceLibrary(root: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent())
}
