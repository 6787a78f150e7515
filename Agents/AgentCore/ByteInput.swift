import Dispatch
import Foundation

/// Reads a file, a named pipe or standard input in chunks without blocking Swift's cooperative
/// thread pool (it has as many threads as cores: two here): each blocking `read` runs on a
/// private dispatch queue and the caller awaits its result, one chunk at a time, so memory stays
/// bounded by the chunk size however fast the writer is.
public final class ByteInput: @unchecked Sendable {
    public enum Kind: Sendable, Equatable { case standardInput, namedPipe, regularFile }

    public let path: String
    public let kind: Kind
    private let queue = DispatchQueue(label: "tamas.byte-input")
    /// Only touched on `queue`.
    private var descriptor: Int32 = -1

    public init(path: String) throws {
        self.path = path
        if path == "-" {
            kind = .standardInput
            descriptor = STDIN_FILENO
            return
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw InputError(path: path, problem: String(cString: strerror(errno))) }
        kind = (info.st_mode & S_IFMT) == S_IFIFO ? .namedPipe : .regularFile
    }

    /// The next chunk; nil at end of input. A named pipe whose writer went away is reopened and
    /// waited on, because it is a long-lived integration point, not a one-shot file.
    public func next(maxBytes: Int = 64 * 1024) async throws -> [UInt8]? {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.readBlocking(maxBytes: maxBytes) })
            }
        }
    }

    private func readBlocking(maxBytes: Int) throws -> [UInt8]? {
        while true {
            if descriptor < 0 {
                descriptor = open(path, O_RDONLY | O_CLOEXEC)
                guard descriptor >= 0 else { throw InputError(path: path, problem: String(cString: strerror(errno))) }
            }
            var buffer = [UInt8](repeating: 0, count: maxBytes)
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, maxBytes) }
            if count > 0 { return Array(buffer.prefix(count)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw InputError(path: path, problem: String(cString: strerror(errno)))
            }
            guard kind == .namedPipe else { return nil }
            close(descriptor)
            descriptor = -1
        }
    }

    deinit {
        if descriptor >= 0, kind != .standardInput { close(descriptor) }
    }
}

public struct InputError: Error, CustomStringConvertible {
    public var path: String
    public var problem: String

    public var description: String { "cannot read \(path): \(problem)" }
}
