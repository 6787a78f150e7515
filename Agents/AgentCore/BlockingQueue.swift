import Dispatch

/// Runs blocking calls (file systems, sockets, libssh2) on a serial dispatch queue of its own, so
/// Swift's cooperative threads (two here) and NIO's event loops never wait on a disk, a Windows
/// share or a remote server that stalls for seconds. Being serial, it also confines a
/// non-thread-safe handle (a libssh2 session) to one thread at a time.
public struct BlockingQueue: Sendable {
    private let queue: DispatchQueue

    public init(label: String) {
        queue = DispatchQueue(label: label)
    }

    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
