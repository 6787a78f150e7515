import Foundation

/// Keeps `<spool>.lock` locked while a spool is open. Two agents given the same spool path (two
/// configs made from one template) would both send every row and overwrite each other's saved
/// source state; with the lock the second stops at start and names the process that has it.
///
/// A separate file, not the database: SQLite's own locks are POSIX record locks, which a
/// process loses when it closes any descriptor of the same file.
final class SpoolLock: Sendable {
    private let descriptor: Int32

    init(spoolPath: String) throws(SpoolInUse) {
        let path = spoolPath + ".lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw SpoolInUse(spoolPath: spoolPath, holder: nil, reason: String(cString: strerror(errno)))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.holder(descriptor)
            close(descriptor)
            throw SpoolInUse(spoolPath: spoolPath, holder: holder, reason: nil)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    private static func holder(_ descriptor: Int32) -> Int32? {
        var bytes = [UInt8](repeating: 0, count: 16)
        let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: bytes[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

public struct SpoolInUse: Error, CustomStringConvertible, Sendable {
    public var spoolPath: String
    public var holder: Int32?
    public var reason: String?

    public var description: String {
        if let reason { return "cannot lock spool \(spoolPath).lock: \(reason)" }
        let process = holder.map { "process \($0)" } ?? "another process"
        return "spool \(spoolPath) is in use by \(process): each agent needs a spool path of its own (spool: path: in its config)"
    }
}
