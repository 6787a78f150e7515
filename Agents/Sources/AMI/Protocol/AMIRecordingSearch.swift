import TamasEvents

/// A call that ended answered without any channel variable naming its recording, on a system
/// whose recording folder the agent can list (`AMISettings.searchRecordingsByUniqueid`). The
/// tracker only says where to look; the agent lists `candidates.directories` in order, off the
/// AMI reader, and the first name ending in one of `candidates.fileNameSuffixes` is the file.
public struct AMIRecordingSearch: Hashable, Sendable {
    public var systemKey: String
    public var callId: String
    public var line: String?
    /// When the conversation began (else the call), as `recording.available` reports it.
    public var startedAt: Timestamp
    public var durationSec: Int
    public var endedAt: Timestamp
    public var candidates: AMIRecordings.Candidates

    public init(systemKey: String, callId: String, line: String?, startedAt: Timestamp, durationSec: Int, endedAt: Timestamp,
                candidates: AMIRecordings.Candidates) {
        self.systemKey = systemKey
        self.callId = callId
        self.line = line
        self.startedAt = startedAt
        self.durationSec = durationSec
        self.endedAt = endedAt
        self.candidates = candidates
    }

    /// The name among one folder's plain files that is this call's recording. Suffix order
    /// decides between several: the call's own id before another leg's, `.wav` before `.mp3`.
    public func recording(amongFileNames names: [String]) -> String? {
        for suffix in candidates.fileNameSuffixes {
            if let name = names.first(where: { $0.hasSuffix(suffix) && $0.count > suffix.count }) { return name }
        }
        return nil
    }

    /// The event for the file found at `path`: the same shape and id as when a channel variable
    /// had named it, and dated at the hangup, so a repeated search announces it only once.
    public func availableEvent(path: String) -> CallEvent {
        AMIRecordings.availableEvent(systemKey: systemKey, callId: callId, line: line, startedAt: startedAt,
                                     durationSec: durationSec, path: path, at: endedAt)
    }
}
