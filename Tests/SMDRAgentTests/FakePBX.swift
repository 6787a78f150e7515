import TestSupport
import Foundation
import Glibc

/// A Panasonic PBX's SMDR port on 127.0.0.1, speaking the NS500 login of FACTS.md section 2 byte
/// for byte: `\r-`, the client's `SMDR\r` echoed, `Enter Password:`, the password echoed as `*`,
/// then records with CR LF, or `Rejected` for a wrong password (matched case-insensitively, like
/// the ivnglkv emulator). One client at a time, as on the real PBX.
final class FakePBX: @unchecked Sendable {
    let port: Int
    private let password: String
    private let listener: Int32
    private let lock = NSLock()
    private var queue: [String] = []
    private var connectionCount = 0
    private var loginCount = 0
    private var dropAfterLines: Int?
    private var stopped = false
    private var thread: Thread?

    init(password: String) throws {
        self.password = password
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var reuse: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        guard bound == 0, listen(listener, 4) == 0 else { throw TestFailure("cannot listen: errno \(errno)") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [weak self] in self?.serve() }
        thread.start()
        self.thread = thread
    }

    deinit { stop() }

    func stop() {
        lock.withLock { stopped = true }
    }

    /// Lines to print to the logged-in client, in order; they wait while nobody is logged in.
    func print(_ lines: [String]) { lock.withLock { queue += lines } }
    /// Closes the client's connection after this many more lines (a PBX reboot mid-stream).
    func dropConnection(afterLines count: Int) { lock.withLock { dropAfterLines = count } }
    var connections: Int { lock.withLock { connectionCount } }
    var logins: Int { lock.withLock { loginCount } }
    var unsentLines: Int { lock.withLock { queue.count } }
    private var isStopped: Bool { lock.withLock { stopped } }

    private func serve() {
        defer { close(listener) }
        while !isStopped {
            var watched = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&watched, 1, 50) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            lock.withLock { connectionCount += 1 }
            converse(with: client)
            close(client)
        }
    }

    private func converse(with client: Int32) {
        guard send(client, "\r-"), let command = readUntilCR(client), command.uppercased().hasSuffix("SMDR") else { return }
        guard send(client, "SMDR\r\n"), send(client, "Enter Password:"), let given = readUntilCR(client) else { return }
        guard send(client, String(repeating: "*", count: given.count) + "\r\n") else { return }
        guard given.lowercased() == password.lowercased() else {
            _ = send(client, "Rejected\r\n")
            return
        }
        lock.withLock { loginCount += 1 }
        while !isStopped {
            if peerClosed(client) { return }
            let next: (line: String, drop: Bool)? = lock.withLock {
                if dropAfterLines == 0 {
                    dropAfterLines = nil
                    return ("", true)
                }
                guard !queue.isEmpty else { return nil }
                if let remaining = dropAfterLines { dropAfterLines = remaining - 1 }
                return (queue.removeFirst(), false)
            }
            guard let next else {
                usleep(10_000)
                continue
            }
            if next.drop { return }
            guard send(client, next.line + "\r\n") else { return }
        }
    }

    private func send(_ client: Int32, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    /// What the client typed up to CR, or nil after 10 s or a closed connection.
    private func readUntilCR(_ client: Int32) -> String? {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !isStopped {
            var watched = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            guard poll(&watched, 1, 50) > 0 else { continue }
            var byte: UInt8 = 0
            guard recv(client, &byte, 1, 0) == 1 else { return nil }
            if byte == 0x0D { return String(decoding: received, as: UTF8.self) }
            if byte != 0x0A { received.append(byte) }
        }
        return nil
    }

    private func peerClosed(_ client: Int32) -> Bool {
        var watched = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
        guard poll(&watched, 1, 0) > 0 else { return false }
        var byte: UInt8 = 0
        return recv(client, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) <= 0
    }
}
