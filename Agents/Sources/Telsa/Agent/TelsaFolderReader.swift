import Foundation
import Glibc
import TamasEvents
import TelsaProtocol

/// What one pass over (part of) the Telsa folder found, by directory relative to the root
/// (`""` is the root itself).
struct DirectoryScan: Sendable {
    var filesByDirectory: [String: [TelsaFileSnapshot]] = [:]
    var subdirectories: [String: [String]] = [:]
    /// Entries that could not be read (a folder without permission, a name that is not UTF-8).
    var problems: [String] = []
}

/// The blocking reads of the Telsa folder: listings and trailers. Call it from a `BlockingQueue`.
struct TelsaFolderReader: Sendable {
    let root: String
    let timeZone: TimeZone

    var rootExists: Bool {
        var info = stat()
        return stat(root, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    /// Lists `directory` (and, when `recursive`, everything under it). Symbolic links are
    /// skipped: recordings are plain files and the fetch refuses links anyway. Throws only when
    /// `directory` itself cannot be read.
    func scan(_ directory: String, recursive: Bool) throws(RecordingAccessError) -> DirectoryScan {
        var scan = DirectoryScan()
        try list(directory, recursive: recursive, into: &scan)
        return scan
    }

    func tail(_ path: String, bytes: Int) throws(RecordingAccessError) -> [UInt8] {
        let file = try RecordingFile.open(root: root, path: path)
        defer { file.close() }
        return try file.tail(bytes)
    }

    private func list(_ directory: String, recursive: Bool, into scan: inout DirectoryScan) throws(RecordingAccessError) {
        let entries = try Self.entries(of: directory.isEmpty ? root : "\(root)/\(directory)", relative: directory)
        var files: [TelsaFileSnapshot] = []
        var subdirectories: [String] = []
        for entry in entries {
            guard let name = entry.name else {
                scan.problems.append("\(directory.isEmpty ? "." : directory): a name that is not UTF-8 was skipped")
                continue
            }
            let path = directory.isEmpty ? name : "\(directory)/\(name)"
            switch entry.info.st_mode & S_IFMT {
            case S_IFREG:
                files.append(TelsaFileSnapshot(path: path, size: Int64(entry.info.st_size), modifiedAt: modified(entry.info)))
            case S_IFDIR:
                subdirectories.append(path)
            default:
                continue
            }
        }
        scan.filesByDirectory[directory] = files
        scan.subdirectories[directory] = subdirectories
        guard recursive else { return }
        for subdirectory in subdirectories {
            do throws(RecordingAccessError) {
                try list(subdirectory, recursive: true, into: &scan)
            } catch {
                scan.problems.append(error.description)
            }
        }
    }

    private func modified(_ info: stat) -> Timestamp {
        let millis = Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000
        let offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(millis) / 1000))
        return Timestamp(epochMillis: millis, offsetSeconds: Int32(offset))
    }

    struct Entry {
        /// nil when the name is not valid UTF-8.
        var name: String?
        var info: stat
    }

    /// The entries of one directory, `lstat`ed (links are reported as links, not followed).
    static func entries(of fullPath: String, relative: String) throws(RecordingAccessError) -> [Entry] {
        guard let handle = opendir(fullPath) else {
            let code = errno
            if code == ENOENT { throw .missing(path: relative) }
            throw .unreadable(path: relative.isEmpty ? fullPath : relative, reason: String(cString: strerror(code)))
        }
        defer { closedir(handle) }
        let descriptor = dirfd(handle)
        var entries: [Entry] = []
        while let entry = readdir(handle) {
            let raw = withUnsafeBytes(of: entry.pointee.d_name) { buffer in Array(buffer.prefix { $0 != 0 }) }
            if raw == [0x2E] || raw == [0x2E, 0x2E] { continue }
            var info = stat()
            let cName = raw.map { CChar(bitPattern: $0) } + [0]
            guard fstatat(descriptor, cName, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            entries.append(Entry(name: String(validating: raw, as: UTF8.self), info: info))
        }
        return entries
    }
}

/// The Telsa folder as last seen, kept by directory so that a refresh of one directory (after an
/// inotify event) replaces just its entries, and a vanished directory drops everything under it.
struct FolderListing: Equatable, Sendable {
    private var filesByDirectory: [String: [TelsaFileSnapshot]] = [:]

    /// The complete listing `TelsaFolderTracker.observe` expects.
    var snapshots: [TelsaFileSnapshot] { filesByDirectory.values.flatMap { $0 } }

    func knows(_ directory: String) -> Bool { filesByDirectory[directory] != nil }

    /// The subdirectories `scan` found that this listing has never seen (to be scanned in full).
    func unseenSubdirectories(in scan: DirectoryScan) -> [String] {
        scan.subdirectories.values.flatMap { $0 }.filter { filesByDirectory[$0] == nil && scan.filesByDirectory[$0] == nil }
    }

    mutating func apply(_ scan: DirectoryScan) {
        for (directory, present) in scan.subdirectories {
            let kept = Set(present)
            let vanished = filesByDirectory.keys.filter { Self.parent(of: $0) == directory && !kept.contains($0) }
            vanished.forEach { remove($0) }
        }
        for (directory, files) in scan.filesByDirectory {
            filesByDirectory[directory] = files
        }
    }

    mutating func remove(_ directory: String) {
        let prefix = directory + "/"
        for known in filesByDirectory.keys where known == directory || known.hasPrefix(prefix) {
            filesByDirectory[known] = nil
        }
    }

    static func parent(of path: String) -> String? {
        guard !path.isEmpty else { return nil }
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }
}
