import AgentCLI
import Foundation
import Glibc
import Logging
import TamasEvents

/// Watches the Telsa folder for as long as the agent runs: picks inotify or polling, keeps the
/// listing current, and hands every complete recording to `output` as `recording.available`.
struct TelsaFolderWatch: Sendable {
    struct Output: Sendable {
        var emit: @Sendable ([CallEvent]) async throws -> Void
        var report: @Sendable (_ state: String, _ detail: String) async throws -> Void
    }

    typealias InotifyStarter = @Sendable (String, @escaping @Sendable (InotifyChange) -> Void) throws -> InotifyWatcher

    enum Mode {
        case inotify(InotifyWatcher)
        case polling(reason: String)
    }

    private enum Wake: Sendable {
        case changed(InotifyChange)
        case tick
        case rescan
    }

    let settings: TelsaAgentSettings
    let logger: Logger
    /// Tests replace this to prove the fall-back when inotify cannot start.
    let startInotify: InotifyStarter

    init(settings: TelsaAgentSettings, logger: Logger,
         startInotify: @escaping InotifyStarter = { try InotifyWatcher(root: $0, onChange: $1) }) {
        self.settings = settings
        self.logger = logger
        self.startInotify = startInotify
    }

    func run(_ output: Output) async throws {
        var scanner = TelsaFolderScanner(settings: settings)
        while await !scanner.rootExists {
            try await output.report("folderMissing", "\(settings.root) does not exist or is not a folder (share not mounted?); checking again every \(settings.pollIntervalSeconds) s")
            try await Task.sleep(for: .seconds(settings.pollIntervalSeconds))
        }
        let (wakes, wake) = AsyncStream.makeStream(of: Wake.self)
        let mode = try chooseMode { wake.yield(.changed($0)) }
        let watching = describe(mode)
        logger.notice("watching the Telsa folder", metadata: ["root": "\(settings.root)", "mode": "\(watching)"])
        try await output.report("watching", watching)
        var interval = settings.pollIntervalSeconds
        var watcher: InotifyWatcher?
        if case .inotify(let started) = mode {
            interval = settings.rescanSeconds
            watcher = started
        }
        defer { watcher?.stop() }
        try await rescanAndAnnounce(&scanner, output: output, watching: watching)
        let settleWindow = Double(max(settings.tracker.settleSeconds, settings.tracker.archiveSettleSeconds) + 2)
        try await withThrowingTaskGroup(of: Void.self) { group in
            if watcher != nil { group.addTask { try await Self.repeatEvery(0.5) { wake.yield(.tick) } } }
            group.addTask { [interval] in try await Self.repeatEvery(interval) { wake.yield(.rescan) } }
            var dirty: Set<String> = []
            var needsRescan = false
            var lastChange = ContinuousClock.now
            for await next in wakes {
                switch next {
                case .changed(.directories(let directories)):
                    dirty.formUnion(directories)
                case .changed(.overflow):
                    logger.warning("inotify queue overflowed; listing the whole folder again")
                    needsRescan = true
                case .changed(.watchFailed(let reason)):
                    logger.warning("a new folder is not watched; the rescan every \(settings.rescanSeconds) s covers it", metadata: ["reason": "\(reason)"])
                case .rescan:
                    try await rescanAndAnnounce(&scanner, output: output, watching: watching)
                case .tick:
                    if needsRescan {
                        needsRescan = false
                        dirty = []
                        lastChange = .now
                        try await rescanAndAnnounce(&scanner, output: output, watching: watching)
                    } else if !dirty.isEmpty {
                        let problems = await scanner.refresh(dirty)
                        dirty = []
                        lastChange = .now
                        log(problems)
                        try await announce(&scanner, output: output)
                    } else if lastChange.duration(to: .now) < .seconds(settleWindow) {
                        // Folder mode: a file counts as complete once it has stopped changing,
                        // which no inotify event announces.
                        try await announce(&scanner, output: output)
                    }
                }
            }
            group.cancelAll()
        }
    }

    func chooseMode(onChange: @escaping @Sendable (InotifyChange) -> Void) throws -> Mode {
        if settings.watch == .polling { return .polling(reason: "watch: polling") }
        let remote = RemoteFilesystem.name(of: settings.root)
        if settings.watch == .auto, let remote {
            return .polling(reason: "\(remote) filesystem: inotify does not see files written by other computers")
        }
        do {
            return .inotify(try startInotify(settings.root, onChange))
        } catch {
            guard settings.watch == .auto else {
                throw InotifyUnavailable(description: "watch: inotify, but inotify cannot watch \(settings.root): \(error)")
            }
            return .polling(reason: "inotify unavailable (\(error))")
        }
    }

    private func describe(_ mode: Mode) -> String {
        switch mode {
        case .inotify(let watcher):
            "inotify on \(settings.root) (\(watcher.watchedAtStart) folders), full rescan every \(settings.rescanSeconds) s"
        case .polling(let reason):
            "polling \(settings.root) every \(settings.pollIntervalSeconds) s: \(reason)"
        }
    }

    private func rescanAndAnnounce(_ scanner: inout TelsaFolderScanner, output: Output, watching: String) async throws {
        do {
            log(try await scanner.rescan())
            try await output.report("watching", watching)
        } catch {
            logger.error("cannot list the Telsa folder", metadata: ["error": "\(error)"])
            try await output.report("folderUnreadable", "\(error)")
            return
        }
        try await announce(&scanner, output: output)
    }

    private func announce(_ scanner: inout TelsaFolderScanner, output: Output) async throws {
        let announcement = await scanner.announce(now: .now())
        for event in announcement.events {
            logger.info("announcing", metadata: [
                "type": "\(event.type.rawValue)", "ref": "\(event.ref ?? "")", "line": "\(event.line ?? "none")",
                "eventId": "\(event.eventId)",
            ])
        }
        for problem in announcement.unreadable {
            logger.warning("trailer not readable; announced without it", metadata: ["problem": "\(problem)"])
        }
        try await output.emit(announcement.events)
    }

    private func log(_ problems: [String]) {
        for problem in problems {
            logger.warning("part of the Telsa folder is unreadable", metadata: ["problem": "\(problem)"])
        }
    }

    private static func repeatEvery(_ seconds: Double, _ body: @Sendable () -> Void) async throws {
        while true {
            try await Task.sleep(for: .seconds(seconds))
            body()
        }
    }
}

/// Filesystems where inotify only sees changes made by this computer: a Windows share over
/// SMB/CIFS (the usual Telsa setup), NFS, FUSE mounts (gvfs, sshfs, rclone), 9p shared folders.
/// Read from /proc/self/mountinfo: Swift's Glibc module does not export statfs.
enum RemoteFilesystem {
    static let remoteTypes: Set<String> = ["cifs", "smb3", "smbfs", "nfs", "nfs4", "9p", "ceph"]

    /// The remote filesystem type `path` is on, or nil for a local one (or when unknown).
    static func name(of path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        return type(of: String(cString: resolved), mountInfo: table).flatMap { isRemote($0) ? $0 : nil }
    }

    static func isRemote(_ type: String) -> Bool {
        remoteTypes.contains(type) || type.hasPrefix("fuse.")
    }

    /// The filesystem type of the mount holding `path`: the longest mount point it lies in.
    static func type(of path: String, mountInfo: String) -> String? {
        var best: (mountPoint: String, type: String)?
        for line in mountInfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4, let separator = fields.firstIndex(of: "-"), separator + 1 < fields.count else { continue }
            let mountPoint = unescape(fields[4])
            let inside = mountPoint == "/" || path == mountPoint || path.hasPrefix(mountPoint + "/")
            if inside, mountPoint.count >= (best?.mountPoint.count ?? 0) {
                best = (mountPoint, String(fields[separator + 1]))
            }
        }
        return best?.type
    }

    /// mountinfo writes space, tab, newline and backslash in paths as `\ooo` octal escapes.
    private static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        var rest = Array(field.utf8)[...]
        while let byte = rest.popFirst() {
            if byte == 0x5C, rest.count >= 3, let value = UInt8(String(decoding: rest.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                rest = rest.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
