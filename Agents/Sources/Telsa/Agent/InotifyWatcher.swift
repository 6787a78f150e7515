import Foundation
import Glibc
import Synchronization

/// What the kernel said changed under the Telsa root.
enum InotifyChange: Sendable, Equatable {
    /// Directories (relative to the root) in which something was created, written, moved or deleted.
    case directories(Set<String>)
    /// The kernel's event queue overflowed: only a full rescan knows what happened.
    case overflow
    /// A new subfolder could not be watched (e.g. the watch limit): the periodic rescan covers it.
    case watchFailed(String)
}

struct InotifyUnavailable: Error, CustomStringConvertible {
    var description: String
}

/// inotify on the Telsa root and every folder below it, on a thread of its own (reading inotify
/// blocks). Folders that appear later (`Archive/<line>/…`) are watched as they appear; each
/// batch of events is reported as the set of directories to list again.
final class InotifyWatcher: @unchecked Sendable {
    private static let mask = UInt32(IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO
        | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

    let root: String
    private let descriptor: Int32
    private let onChange: @Sendable (InotifyChange) -> Void
    private let stopping = Atomic<Bool>(false)
    /// Watch descriptor → directory relative to the root. Filled before the thread starts, then
    /// only touched by it.
    private var watches: [Int32: String] = [:]

    init(root: String, onChange: @escaping @Sendable (InotifyChange) -> Void) throws {
        self.root = root
        self.onChange = onChange
        descriptor = inotify_init1(Int32(IN_CLOEXEC))
        guard descriptor >= 0 else { throw InotifyUnavailable(description: "inotify_init1: \(String(cString: strerror(errno)))") }
        if let failure = watchTree("") {
            Glibc.close(descriptor)
            throw InotifyUnavailable(description: failure)
        }
        watchedAtStart = watches.count
        Thread { [self] in readEvents() }.start()
    }

    /// How many folders were watched at start (set before the thread starts, never again).
    private(set) var watchedAtStart = 0

    func stop() {
        stopping.store(true, ordering: .relaxed)
    }

    /// Watches `directory` and every folder below it; returns the first failure.
    private func watchTree(_ directory: String) -> String? {
        let full = directory.isEmpty ? root : "\(root)/\(directory)"
        let watch = inotify_add_watch(descriptor, full, Self.mask)
        guard watch >= 0 else { return "inotify_add_watch \(full): \(String(cString: strerror(errno)))" }
        watches[watch] = directory
        guard let entries = try? TelsaFolderReader.entries(of: full, relative: directory) else { return nil }
        for entry in entries where entry.info.st_mode & S_IFMT == S_IFDIR {
            guard let name = entry.name else { continue }
            if let failure = watchTree(directory.isEmpty ? name : "\(directory)/\(name)") { return failure }
        }
        return nil
    }

    private func unwatchTree(_ directory: String) {
        let prefix = directory + "/"
        for (watch, path) in watches where path == directory || path.hasPrefix(prefix) {
            inotify_rm_watch(descriptor, watch)
            watches[watch] = nil
        }
    }

    private func readEvents() {
        defer { Glibc.close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !stopping.load(ordering: .relaxed) {
            var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 250) > 0 else { continue }
            // Telsa writes audio many times a second; gathering a moment's events into one
            // batch keeps the listing work per batch, not per write.
            usleep(100_000)
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { continue }
            handle(buffer.prefix(count))
        }
    }

    private func handle(_ bytes: ArraySlice<UInt8>) {
        var changed: Set<String> = []
        var offset = bytes.startIndex
        let headerSize = 16
        while offset + headerSize <= bytes.endIndex {
            let (watch, mask, nameLength) = bytes.withUnsafeBytes { raw in
                let base = offset - bytes.startIndex
                return (raw.loadUnaligned(fromByteOffset: base, as: Int32.self),
                        raw.loadUnaligned(fromByteOffset: base + 4, as: UInt32.self),
                        Int(raw.loadUnaligned(fromByteOffset: base + 12, as: UInt32.self)))
            }
            let nameBytes = bytes[(offset + headerSize)..<min(offset + headerSize + nameLength, bytes.endIndex)].prefix { $0 != 0 }
            offset += headerSize + nameLength
            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                onChange(.overflow)
                continue
            }
            if mask & UInt32(IN_IGNORED) != 0 {
                watches[watch] = nil
                continue
            }
            guard let directory = watches[watch] else { continue }
            changed.insert(directory)
            guard mask & UInt32(IN_ISDIR) != 0, let name = String(validating: nameBytes, as: UTF8.self) else { continue }
            let path = directory.isEmpty ? name : "\(directory)/\(name)"
            if mask & UInt32(IN_MOVED_FROM | IN_DELETE) != 0 { unwatchTree(path) }
            if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0, let failure = watchTree(path) { onChange(.watchFailed(failure)) }
        }
        if !changed.isEmpty { onChange(.directories(changed)) }
    }
}
