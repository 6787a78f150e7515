
/// Links a recording to the call it recorded: the call on the same system and line whose time
/// overlaps the recording most, among calls that come within `toleranceSeconds` of it. A
/// recording with no such call stays unmatched; the matcher never picks the "nearest" call
/// beyond the tolerance.
public enum RecordingMatcher {
    public struct Recording: Hashable, Sendable {
        public var systemKey: String
        public var line: String
        public var startedAt: Timestamp
        public var durationSec: Int

        public init(systemKey: String, line: String, startedAt: Timestamp, durationSec: Int) {
            self.systemKey = systemKey
            self.line = line
            self.startedAt = startedAt
            self.durationSec = durationSec
        }

        public var endedAt: Timestamp { startedAt.adding(seconds: max(0, durationSec)) }
    }

    public static func match(_ recording: Recording, candidates: [CallRecord], toleranceSeconds: Int) -> CallRecord? {
        let tolerance = Int64(max(0, toleranceSeconds)) * 1000
        let recordingStart = recording.startedAt.epochMillis
        let recordingEnd = recording.endedAt.epochMillis
        var best: (call: CallRecord, overlap: Int64, distance: Int64)?
        for call in candidates where call.systemKey == recording.systemKey {
            guard let line = call.line, sameLine(line, recording.line), let started = call.startedAt else { continue }
            let callStart = started.epochMillis
            let callEnd = max(callStart, (call.endedAt ?? call.answeredAt ?? started).epochMillis)
            guard recordingStart <= callEnd + tolerance, recordingEnd >= callStart - tolerance else { continue }
            let overlap = max(0, min(recordingEnd, callEnd) - max(recordingStart, callStart))
            let distance = abs(recordingStart - (call.answeredAt ?? started).epochMillis)
            if let current = best {
                let better = overlap > current.overlap
                    || (overlap == current.overlap && (distance < current.distance
                        || (distance == current.distance && call.callId < current.call.callId)))
                if !better { continue }
            }
            best = (call, overlap, distance)
        }
        return best?.call
    }

    /// SMDR prints CO line `01` where Telsa and the caller-ID box say `1`.
    static func sameLine(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        guard let left = Int(a), let right = Int(b) else { return false }
        return left == right
    }
}
