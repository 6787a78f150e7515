/// One call as assembled from its events: what the collector stores per (systemKey, callId),
/// what `tamasctl calls` lists and what a webhook receives beside the event.
public struct CallRecord: Codable, Hashable, Sendable {
    public enum Phase: String, Codable, Sendable, Comparable {
        case ringing, answered, ended

        var rank: Int {
            switch self {
            case .ringing: 0
            case .answered: 1
            case .ended: 2
            }
        }

        public static func < (lhs: Phase, rhs: Phase) -> Bool { lhs.rank < rhs.rank }
    }

    public var systemKey: String
    public var callId: String
    public var source: String
    public var phase: Phase
    public var direction: Direction?
    public var from: String?
    public var to: String?
    public var fromRaw: String?
    public var toRaw: String?
    public var `extension`: String?
    public var line: String?
    public var extensions: [String]
    public var answeredBy: String?
    public var disposition: Disposition?
    public var startedAt: Timestamp?
    public var answeredAt: Timestamp?
    public var endedAt: Timestamp?
    public var ringSec: Int?
    public var durationSec: Int?
    public var transferredTo: String?
    public var recording: RecordingLink?
    public var eventCount: Int
    public var lastEventAt: Timestamp?

    public init(systemKey: String, callId: String, source: String) {
        self.systemKey = systemKey
        self.callId = callId
        self.source = source
        self.phase = .ringing
        self.extensions = []
        self.eventCount = 0
    }
}

/// Folds call events into a `CallRecord` so that the result does not depend on arrival order:
/// a `call.ringing` that arrives after `call.ended` fills gaps but never reopens the call, and
/// applying the same event twice changes nothing but the count.
public enum CallAssembler {
    public static func phase(of type: EventType) -> CallRecord.Phase? {
        switch type {
        case .callRinging: .ringing
        case .callAnswered: .answered
        case .callEnded: .ended
        default: nil
        }
    }

    public static func apply(_ event: CallEvent, to existing: CallRecord?) -> CallRecord? {
        guard let eventPhase = phase(of: event.type), let callId = event.callId else { return existing }
        var call = existing ?? CallRecord(systemKey: event.systemKey, callId: callId, source: event.source)
        let authoritative = call.eventCount == 0 || eventPhase >= call.phase
        func merge<Value>(_ keyPath: WritableKeyPath<CallRecord, Value?>, _ value: Value?) {
            guard let value else { return }
            if authoritative || call[keyPath: keyPath] == nil { call[keyPath: keyPath] = value }
        }
        merge(\.direction, event.direction)
        merge(\.from, event.from)
        merge(\.to, event.to)
        merge(\.fromRaw, event.fromRaw)
        merge(\.toRaw, event.toRaw)
        merge(\.extension, event.extension)
        merge(\.line, event.line)
        merge(\.transferredTo, event.transferredTo)
        merge(\.recording, event.recording)
        merge(\.answeredBy, event.answeredBy ?? (event.disposition == .answered ? event.extension : nil))
        for candidate in (event.extensions ?? []) + [event.extension, event.answeredBy].compactMap({ $0 })
        where !call.extensions.contains(candidate) {
            call.extensions.append(candidate)
        }
        let began = event.startedAt ?? (eventPhase == .ringing ? event.at : nil)
        call.startedAt = earliest(call.startedAt, began)
        call.answeredAt = earliest(call.answeredAt, event.answeredAt ?? (eventPhase == .answered ? event.at : nil))
        if eventPhase == .ended {
            call.disposition = event.disposition
            call.endedAt = event.endedAt ?? event.at
            call.durationSec = event.durationSec
            call.ringSec = event.ringSec ?? call.ringSec
        }
        if call.startedAt == nil { call.startedAt = event.at }
        call.phase = max(call.phase, eventPhase)
        call.eventCount += 1
        call.lastEventAt = latest(call.lastEventAt, event.at)
        return call
    }

    /// Links a recording to an already assembled call (Telsa and AMI recordings arrive on their own).
    public static func attach(_ recording: RecordingLink, to call: CallRecord) -> CallRecord {
        var updated = call
        updated.recording = recording
        return updated
    }

    private static func earliest(_ a: Timestamp?, _ b: Timestamp?) -> Timestamp? {
        guard let a else { return b }
        guard let b else { return a }
        return min(a, b)
    }

    private static func latest(_ a: Timestamp?, _ b: Timestamp?) -> Timestamp? {
        guard let a else { return b }
        guard let b else { return a }
        return max(a, b)
    }
}
