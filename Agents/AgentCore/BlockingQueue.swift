import Dispatch

/// Runs blocking file-system calls on a dispatch queue of its own, so Swift's cooperative
/// threads (two here) never wait on a disk or on a Windows share that stalls for seconds.
struct BlockingQueue: Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
