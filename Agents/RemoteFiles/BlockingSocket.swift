import Foundation
import Glibc

/// A blocking TCP socket with a connect timeout and per-call send/receive timeouts. Only ever
/// used from a `BlockingQueue`: libssh2 needs a plain descriptor, and FTP's control and data
/// connections are simplest as plain blocking reads on a thread that may wait.
final class BlockingSocket: @unchecked Sendable {
    let descriptor: Int32
    let server: String
    private var closed = false

    /// Tries every address of `host` in turn; the last failure is the one reported.
    init(host: String, port: Int, server: String, connectTimeoutSeconds: Int, ioTimeoutSeconds: Int) throws(RemoteFilesError) {
        self.server = server
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let lookup = getaddrinfo(host, String(port), &hints, &list)
        guard lookup == 0, let first = list else {
            throw .cannotConnect(server: server, reason: "cannot resolve '\(host)': \(String(cString: gai_strerror(lookup)))")
        }
        defer { freeaddrinfo(list) }
        var failure = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            candidate = address.pointee.ai_next
            let socket = Glibc.socket(address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), address.pointee.ai_protocol)
            guard socket >= 0 else { failure = Self.errorText(); continue }
            if let problem = Self.connect(socket, address.pointee.ai_addr, address.pointee.ai_addrlen, timeoutSeconds: connectTimeoutSeconds) {
                Glibc.close(socket)
                failure = problem
                continue
            }
            var timeout = timeval(tv_sec: ioTimeoutSeconds, tv_usec: 0)
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var one: Int32 = 1
            setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            descriptor = socket
            return
        }
        throw .cannotConnect(server: server, reason: failure)
    }

    /// A non-blocking connect bounded by poll, then back to blocking mode.
    private static func connect(_ socket: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t, timeoutSeconds: Int) -> String? {
        let flags = fcntl(socket, F_GETFL)
        _ = fcntl(socket, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(socket, F_SETFL, flags) }
        if Glibc.connect(socket, address, length) == 0 { return nil }
        guard errno == EINPROGRESS else { return errorText() }
        var poller = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&poller, 1, Int32(timeoutSeconds * 1000))
        guard ready > 0 else { return ready == 0 ? "no answer within \(timeoutSeconds) s" : errorText() }
        var problem: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(socket, SOL_SOCKET, SO_ERROR, &problem, &size)
        return problem == 0 ? nil : String(cString: strerror(problem))
    }

    /// Up to `maximum` bytes; empty at the end of the stream.
    func receive(maximum: Int, during: String) throws(RemoteFilesError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, maximum, 0) }
            if count >= 0 { return Array(buffer.prefix(count)) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: throw .timedOut(server: server, during: during)
            default: throw .protocolFailure(server: server, reason: "\(during): \(Self.errorText())")
            }
        }
    }

    func send(_ bytes: [UInt8], during: String) throws(RemoteFilesError) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EINTR { continue }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK { throw .timedOut(server: server, during: during) }
            guard count > 0 else { throw .protocolFailure(server: server, reason: "\(during): \(Self.errorText())") }
            sent += count
        }
    }

    /// The peer's numeric address: FTP data connections go to the control connection's host.
    var peerAddress: String? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let found = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(descriptor, $0, &length) }
        }
        guard found == 0 else { return nil }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let named = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
            }
        }
        guard named == 0 else { return nil }
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(descriptor)
    }

    deinit {
        close()
    }

    static func errorText() -> String {
        String(cString: strerror(errno))
    }
}
