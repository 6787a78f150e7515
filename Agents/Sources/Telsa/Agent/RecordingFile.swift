import Foundation
import Glibc

/// Why a path under the Telsa folder could not be opened or read.
public enum RecordingAccessError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The path tries to leave the Telsa folder or to reach something that is not a plain file.
    case refused(path: String, reason: String)
    case missing(path: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .refused(let path, let reason): "refused '\(path)': \(reason)"
        case .missing(let path): "no such recording: '\(path)'"
        case .unreadable(let path, let reason): "cannot read '\(path)': \(reason)"
        }
    }
}

/// A plain file under the Telsa root, opened so that nothing in a ref can reach outside it:
/// the relative path may not be absolute or hold `..`, `.` or empty parts, and it is opened one
/// directory at a time with `O_NOFOLLOW`, so no symbolic link below the root is ever followed
/// (Telsa writes plain files; a link is either a mistake or an attack). Refs can be influenced by
/// CRM users, so this is the security boundary of the recording fetch.
///
/// Blocking: call it from a `BlockingQueue`.
struct RecordingFile: Sendable {
    let path: String
    let descriptor: Int32
    let size: Int64
    let modifiedMillis: Int64

    static func open(root: String, path: String) throws(RecordingAccessError) -> RecordingFile {
        let parts = try components(of: path)
        var directory = Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw .unreadable(path: path, reason: "the Telsa folder \(root): \(errorText())") }
        for part in parts.dropLast() {
            let next = openat(directory, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let failure = errno
            Glibc.close(directory)
            guard next >= 0 else { throw problem(failure, path: path, part: part) }
            directory = next
        }
        let descriptor = openat(directory, parts[parts.count - 1], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        let failure = errno
        Glibc.close(directory)
        guard descriptor >= 0 else { throw problem(failure, path: path, part: parts[parts.count - 1]) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let reason = errorText()
            Glibc.close(descriptor)
            throw .unreadable(path: path, reason: reason)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            Glibc.close(descriptor)
            throw .refused(path: path, reason: "not a plain file")
        }
        return RecordingFile(path: path, descriptor: descriptor, size: Int64(info.st_size),
                             modifiedMillis: Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000)
    }

    /// Exactly `count` bytes from `offset`; a file that ends sooner has shrunk since it was opened.
    func read(at offset: Int64, count: Int) throws(RecordingAccessError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress.map { $0 + filled }, count - filled, off_t(offset) + off_t(filled))
            }
            if got < 0, errno == EINTR { continue }
            guard got >= 0 else { throw .unreadable(path: path, reason: Self.errorText()) }
            guard got > 0 else { throw .unreadable(path: path, reason: "the file shrank while being read") }
            filled += got
        }
        return bytes
    }

    /// The last `count` bytes (all of a shorter file): where Telsa64 keeps its trailer.
    func tail(_ count: Int) throws(RecordingAccessError) -> [UInt8] {
        let length = Int(min(size, Int64(count)))
        return try read(at: size - Int64(length), count: length)
    }

    func close() {
        Glibc.close(descriptor)
    }

    static func components(of path: String) throws(RecordingAccessError) -> [String] {
        guard !path.isEmpty else { throw .refused(path: path, reason: "empty path") }
        guard !path.hasPrefix("/") else { throw .refused(path: path, reason: "absolute paths leave the Telsa folder") }
        guard !path.contains("\\"), !path.utf8.contains(0) else { throw .refused(path: path, reason: "backslash or NUL in the path") }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for part in parts {
            switch part {
            case "": throw .refused(path: path, reason: "empty path component")
            case ".", "..": throw .refused(path: path, reason: "'\(part)' components leave or bend the Telsa folder")
            default: continue
            }
        }
        return parts
    }

    private static func problem(_ code: Int32, path: String, part: String) -> RecordingAccessError {
        switch code {
        case ENOENT: .missing(path: path)
        case ELOOP, ENOTDIR: .refused(path: path, reason: "'\(part)' is a symbolic link or not a folder; links are not followed")
        default: .unreadable(path: path, reason: String(cString: strerror(code)))
        }
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
