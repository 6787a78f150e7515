import TamasEvents

/// One file as a directory listing (inotify or polling) saw it, relative to the Telsa root,
/// with `/` separators.
public struct TelsaFileSnapshot: Hashable, Sendable {
    public var path: String
    public var size: Int64
    public var modifiedAt: Timestamp

    public init(path: String, size: Int64, modifiedAt: Timestamp) {
        self.path = path
        self.size = size
        self.modifiedAt = modifiedAt
    }
}

/// A recording's `ref`: which file, and which version of it. Readable back by whoever fetches
/// the recording, and the same after a restart rescans the folder.
public struct TelsaRecordingRef: Hashable, Sendable {
    public var path: String
    public var size: Int64
    public var modifiedMillis: Int64

    public init(_ file: TelsaFileSnapshot) {
        path = file.path
        size = file.size
        modifiedMillis = file.modifiedAt.epochMillis
    }

    /// `<size>-<modified epoch ms>/<relative path>`.
    public var encoded: String { "\(size)-\(modifiedMillis)/\(path)" }

    public init?(encoded: String) {
        guard let slash = encoded.firstIndex(of: "/") else { return nil }
        let version = encoded[..<slash].split(separator: "-", maxSplits: 1)
        guard version.count == 2, let size = Int64(version[0]), let modified = Int64(version[1]) else { return nil }
        path = String(encoded[encoded.index(after: slash)...])
        guard !path.isEmpty else { return nil }
        self.size = size
        modifiedMillis = modified
    }
}

/// "Read the last `bytes` bytes of this file and hand them to `acceptTail`."
public struct TelsaTailRequest: Hashable, Sendable {
    public var path: String
    public var bytes: Int
}

/// Decides when a recording is complete and announces it once (docs/telsa.md).
///
/// Feed it the complete listing of the Telsa folder each time (`observe`); it answers with the
/// files whose trailer it needs. The adapter reads each file's tail and calls `acceptTail`
/// (or `tailUnreadable`), which yields the `recording.available` event. Completion: full mode,
/// the file is under `Archive/` (and unchanged for `archiveSettleSeconds`); folder mode, its
/// size and modification time have not changed for `settleSeconds`, measured by the listings'
/// own `now`, so a clock difference between the recorder PC and the agent does not matter.
public struct TelsaFolderTracker: Sendable {
    public let settings: TelsaSettings
    static let audioExtensions: Set<String> = ["wav", "mp3"]

    private struct Watched: Sendable {
        var file: TelsaFileSnapshot
        var unchangedSince: Timestamp
    }

    private var watched: [String: Watched] = [:]
    private var awaitingTail: [String: TelsaFileSnapshot] = [:]
    private var announced: Set<TelsaRecordingRef> = []

    public init(settings: TelsaSettings) {
        self.settings = settings
    }

    public mutating func observe(_ files: [TelsaFileSnapshot], now: Timestamp) -> [TelsaTailRequest] {
        var requests: [TelsaTailRequest] = []
        let present = Set(files.map(\.path))
        watched = watched.filter { present.contains($0.key) }
        awaitingTail = awaitingTail.filter { present.contains($0.key) }
        announced = announced.filter { present.contains($0.path) }
        for file in files.sorted(by: { $0.path < $1.path }) {
            guard let settle = settleSeconds(for: file.path) else { continue }
            let ref = TelsaRecordingRef(file)
            if announced.contains(ref) || awaitingTail[file.path] == file { continue }
            var entry = watched[file.path] ?? Watched(file: file, unchangedSince: now)
            if entry.file != file { entry = Watched(file: file, unchangedSince: now) }
            watched[file.path] = entry
            guard entry.unchangedSince.seconds(until: now) >= settle else { continue }
            awaitingTail[file.path] = file
            requests.append(TelsaTailRequest(path: file.path, bytes: settings.trailerBytes))
        }
        return requests
    }

    public mutating func acceptTail(path: String, bytes: [UInt8]) -> [CallEvent] {
        guard let file = awaitingTail.removeValue(forKey: path) else { return [] }
        switch TelsaTrailer.parse(tail: bytes, timeZone: settings.timeZone) {
        case .success(let trailer):
            return [announce(file, trailer: trailer, note: nil)]
        case .failure(let problem):
            var events = [announce(file, trailer: nil, note: "no usable Telsa64 trailer (\(problem.reason))")]
            if !problem.absent {
                let tailText = LineFramer.decode(Array(bytes.suffix(512)))
                events.append(CallEvent(
                    eventId: StableID.make(settings.systemKey, "telsa", "unparsed", TelsaRecordingRef(file).encoded),
                    type: .lineUnparsed, systemKey: settings.systemKey, source: SourceName.telsa.rawValue,
                    at: file.modifiedAt, raw: tailText, reason: "\(file.path): \(problem.reason)"))
            }
            return events
        }
    }

    public mutating func tailUnreadable(path: String, reason: String) -> [CallEvent] {
        guard let file = awaitingTail.removeValue(forKey: path) else { return [] }
        return [announce(file, trailer: nil, note: "trailer not read (\(reason))")]
    }

    /// nil: not a recording this mode ever announces (still being written, or not audio).
    private func settleSeconds(for path: String) -> Int? {
        let components = path.split(separator: "/")
        guard let name = components.last, let format = Self.format(of: String(name)),
              Self.audioExtensions.contains(format) else { return nil }
        let top = components.count > 1 ? components[0].lowercased() : ""
        switch settings.mode {
        case .full: return top == "archive" ? max(0, settings.archiveSettleSeconds) : nil
        case .folder: return top == "archive" ? nil : max(0, settings.settleSeconds)
        }
    }

    private mutating func announce(_ file: TelsaFileSnapshot, trailer: TelsaTrailer?, note: String?) -> CallEvent {
        let ref = TelsaRecordingRef(file)
        announced.insert(ref)
        var notes = note.map { [$0] } ?? []
        let folderChannel = Self.archiveChannel(of: file.path)
        let channel = trailer?.channel ?? folderChannel
        if let trailerChannel = trailer?.channel, let folderChannel, trailerChannel != folderChannel {
            notes.append("trailer channel \(trailerChannel) differs from the Archive folder's \(folderChannel); the trailer wins")
        }
        if channel == nil { notes.append("no channel in the trailer or the folder name, so no line") }
        let startedAt = trailer?.startedAt ?? file.modifiedAt
        if trailer?.startedAt == nil { notes.append("start time is the file's modification time") }
        var event = CallEvent(
            eventId: StableID.make(settings.systemKey, "telsa", "recording", ref.encoded), type: .recordingAvailable,
            systemKey: settings.systemKey, source: SourceName.telsa.rawValue, at: file.modifiedAt, raw: trailer?.text,
            line: channel.map(settings.lineMapping.line(forChannel:)), startedAt: startedAt,
            durationSec: startedAt.seconds(until: file.modifiedAt), ref: ref.encoded,
            format: Self.format(of: file.path))
        event.peer = trailer?.number
        event.detail = notes.isEmpty ? nil : notes.joined(separator: "; ")
        return event
    }

    static func format(of path: String) -> String? {
        guard let dot = path.lastIndex(of: "."), !path[path.index(after: dot)...].contains("/") else { return nil }
        let ext = path[path.index(after: dot)...].lowercased()
        return ext.isEmpty ? nil : ext
    }

    /// `Archive/<folder>/…`: Telsa sorts archived files by line; the folder's trailing digits.
    static func archiveChannel(of path: String) -> Int? {
        let components = path.split(separator: "/")
        guard components.count >= 3, components[0].lowercased() == "archive" else { return nil }
        let digits = components[1].reversed().prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 4 else { return nil }
        return Int(String(digits.reversed()))
    }
}
