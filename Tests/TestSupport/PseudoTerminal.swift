import Foundation
import Glibc
import XCTest

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A real pseudo-terminal pair standing in for a USB-serial adapter: the adapter under test opens
/// the slave through a symlink (like a /dev/serial/by-id link), the test plays the PBX on the master.
public final class PseudoTerminal {
    public let master: Int32
    public let slavePath: String
    private var masterOpen = true

    public init() throws {
        let master = PTYFunctions.openMaster(O_RDWR | O_NOCTTY)
        guard master >= 0 else { throw TestFailure("posix_openpt failed: errno \(errno)") }
        var name = [CChar](repeating: 0, count: 128)
        guard PTYFunctions.grant(master) == 0, PTYFunctions.unlock(master) == 0,
              PTYFunctions.slaveName(master, &name, 128) == 0 else {
            close(master)
            throw TestFailure("grantpt/unlockpt/ptsname_r failed: errno \(errno)")
        }
        self.master = master
        slavePath = String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { closeMaster() }

    /// Pulls the plug: the slave side sees hang-up.
    public func closeMaster() {
        guard masterOpen else { return }
        masterOpen = false
        close(master)
    }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
            guard written > 0 else { throw TestFailure("write to pty master failed: errno \(errno)") }
            offset += written
        }
    }

    /// Reads from the master until `count` bytes came or `timeout` passed.
    public func receive(count: Int, timeout: Duration = .seconds(5)) -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        var received: [UInt8] = []
        while received.count < count, ContinuousClock.now < deadline {
            var watched = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&watched, 1, 20) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let got = read(master, &buffer, 4096)
            guard got > 0 else { break }
            received += buffer.prefix(got)
        }
        return received
    }

    /// True once nobody holds the slave open any more (the master then polls as hung up).
    public func slaveClosed(within timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var watched = pollfd(fd: master, events: 0, revents: 0)
            if poll(&watched, 1, 20) > 0, Int32(watched.revents) & POLLHUP != 0 { return true }
        }
        return false
    }

    /// The slave's termios as the driver holds them. Opened from the test side; as a non-root user
    /// the adapter's TIOCEXCL refuses that second open, and then the master answers instead (on
    /// Linux tcgetattr on a pty master reports the slave's settings).
    public func slaveAttributes() throws -> termios {
        var attributes = termios()
        let slave = open(slavePath, O_RDWR | O_NOCTTY | O_NONBLOCK)
        let source = slave >= 0 ? slave : master
        defer { if slave >= 0 { close(slave) } }
        guard tcgetattr(source, &attributes) == 0 else { throw TestFailure("tcgetattr failed: errno \(errno)") }
        return attributes
    }
}

/// Glibc's Swift module leaves out the XSI pty calls (they need _XOPEN_SOURCE), so the test
/// looks them up in the C library it is already linked with.
private enum PTYFunctions {
    typealias DescriptorCall = @convention(c) (Int32) -> Int32
    typealias NameCall = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32

    static let openMaster = lookUp("posix_openpt", as: DescriptorCall.self)
    static let grant = lookUp("grantpt", as: DescriptorCall.self)
    static let unlock = lookUp("unlockpt", as: DescriptorCall.self)
    static let slaveName = lookUp("ptsname_r", as: NameCall.self)

    private static func lookUp<Function>(_ name: String, as type: Function.Type) -> Function {
        guard let address = dlsym(dlopen(nil, RTLD_NOW), name) else { fatalError("the C library has no \(name)") }
        return unsafeBitCast(address, to: type)
    }
}

/// A directory with one symlink that plays /dev/serial/by-id/...: removing or re-pointing it is
/// how the tests make the device disappear and come back.
public final class PortLink {
    public let directory: URL
    public let path: String

    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("serial-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("usb-Test_Adapter-if00-port0").path
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    public func point(at target: String) throws {
        remove()
        guard symlink(target, path) == 0 else { throw TestFailure("symlink \(path) -> \(target) failed: errno \(errno)") }
    }

    public func remove() { unlink(path) }
}
