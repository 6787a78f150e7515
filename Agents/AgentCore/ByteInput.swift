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
    /// A named pipe's write end, held open by the reader itself and never written to: while it
    /// is open, a writer that closes the pipe is not an end of input, so the next writer can
    /// open it at any moment and its bytes stay in the pipe until read. Closing and reopening
    /// the read end when a writer leaves would lose what the next writer wrote in between, and
    /// break the pipe under it. Only touched on `queue`.
    private var namedPipeWriteEnd: Int32 = -1

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

    /// The next chunk; nil at end of input. A named pipe never ends: it is a long-lived
    /// integration point that writers open and close, and between writers the read waits.
    public func next(maxBytes: Int = 64 * 1024) async throws -> [UInt8]? {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.readBlocking(maxBytes: maxBytes) })
            }
        }
    }

    private func readBlocking(maxBytes: Int) throws -> [UInt8]? {
        if descriptor < 0 { try openInput() }
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, maxBytes) }
            if count > 0 { return Array(buffer.prefix(count)) }
            if count == 0 { return nil }
            guard errno == EINTR else { throw InputError(path: path, problem: String(cString: strerror(errno))) }
        }
    }

    private func openInput() throws {
        guard kind == .namedPipe else {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw InputError(path: path, problem: String(cString: strerror(errno))) }
            return
        }
        // Non-blocking so that opening does not wait for a first writer, and so that our own
        // write end can then be opened (a reader exists); reads go back to blocking after.
        let readEnd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard readEnd >= 0 else { throw InputError(path: path, problem: String(cString: strerror(errno))) }
        let writeEnd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK)
        guard writeEnd >= 0, fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) & ~O_NONBLOCK) == 0 else {
            let problem = String(cString: strerror(errno))
            close(readEnd)
            if writeEnd >= 0 { close(writeEnd) }
            throw InputError(path: path, problem: problem)
        }
        descriptor = readEnd
        namedPipeWriteEnd = writeEnd
    }

    deinit {
        if descriptor >= 0, kind != .standardInput { close(descriptor) }
        if namedPipeWriteEnd >= 0 { close(namedPipeWriteEnd) }
    }
}

public struct InputError: Error, CustomStringConvertible {
    public var path: String
    public var problem: String

    public var description: String { "cannot read \(path): \(problem)" }
}
