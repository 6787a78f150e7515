import AgentCore
import TamasEvents
import TelsaProtocol

/// The Telsa folder's listing, the tracker that decides what is complete, and the reads
/// between them. Shared by the long-running watch and the one-pass `telsa scan`.
struct TelsaFolderScanner {
    struct Announcement {
        var events: [CallEvent] = []
        /// Recordings announced without a trailer because their tail could not be read, with why.
        var unreadable: [String] = []
    }

    let reader: TelsaFolderReader
    private let io = BlockingQueue(label: "tamas.telsa.folder")
    private(set) var listing = FolderListing()
    private var tracker: TelsaFolderTracker
    /// Problems of the last full listing, so a folder that stays unreadable is reported once.
    private var knownProblems: Set<String> = []

    init(settings: TelsaAgentSettings) {
        reader = TelsaFolderReader(root: settings.root, timeZone: settings.timeZone)
        tracker = TelsaFolderTracker(settings: settings.tracker)
    }

    var rootExists: Bool {
        get async { (try? await io.run { [reader] in reader.rootExists }) ?? false }
    }

    /// Lists the whole folder again and returns what could newly not be read below it. Throws
    /// when the root itself cannot be read; the old listing is kept then, because an empty one
    /// would make the tracker forget every file.
    mutating func rescan() async throws -> [String] {
        let scan = try await io.run { [reader] in try reader.scan("", recursive: true) }
        var fresh = FolderListing()
        fresh.apply(scan)
        listing = fresh
        defer { knownProblems = Set(scan.problems) }
        return scan.problems.filter { !knownProblems.contains($0) }
    }

    /// Lists again only the directories inotify named, and in full any folder that is new.
    mutating func refresh(_ directories: Set<String>) async -> [String] {
        var problems: [String] = []
        for directory in directories.sorted() {
            do {
                let known = listing.knows(directory)
                var scan = try await io.run { [reader] in try reader.scan(directory, recursive: !known) }
                for subdirectory in listing.unseenSubdirectories(in: scan) {
                    let inner = try await io.run { [reader] in try reader.scan(subdirectory, recursive: true) }
                    scan.filesByDirectory.merge(inner.filesByDirectory) { $1 }
                    scan.subdirectories.merge(inner.subdirectories) { $1 }
                    scan.problems += inner.problems
                }
                listing.apply(scan)
                problems += scan.problems
            } catch RecordingAccessError.missing {
                listing.remove(directory)
            } catch {
                problems.append("\(error)")
            }
        }
        return problems
    }

    /// Shows the tracker the current listing and reads the trailer of every file it now
    /// considers complete.
    mutating func announce(now: Timestamp) async -> Announcement {
        var announcement = Announcement()
        for request in tracker.observe(listing.snapshots, now: now) {
            do {
                let tail = try await io.run { [reader] in try reader.tail(request.path, bytes: request.bytes) }
                announcement.events += tracker.acceptTail(path: request.path, bytes: tail)
            } catch {
                announcement.unreadable.append("\(request.path): \(error)")
                announcement.events += tracker.tailUnreadable(path: request.path, reason: "\(error)")
            }
        }
        return announcement
    }
}
