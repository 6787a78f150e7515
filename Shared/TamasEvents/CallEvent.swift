/// The normalized event of EVENTS.md, schema v1.
///
/// One flat value type rather than a class per event type: every source fills the fields its
/// type uses, the JSON shape stays exactly the contract's (absent fields are omitted), and the
/// collector can store, merge and forward any event without knowing its type in advance.
public struct CallEvent: Codable, Hashable, Sendable {
    public static let schemaVersion = 1

    public var schema: Int
    public var eventId: String
    public var type: EventType
    public var systemKey: String
    public var source: String
    public var at: Timestamp
    public var raw: String?

    // call.*
    public var callId: String?
    public var direction: Direction?
    public var from: String?
    public var to: String?
    public var fromRaw: String?
    public var toRaw: String?
    public var `extension`: String?
    public var line: String?
    public var extensions: [String]?
    public var answeredBy: String?
    public var disposition: Disposition?
    public var startedAt: Timestamp?
    public var answeredAt: Timestamp?
    public var endedAt: Timestamp?
    public var ringSec: Int?
    public var durationSec: Int?
    public var transferredTo: String?
    public var recording: RecordingLink?

    /// `extension.state`: an `ExtensionState` raw value; `agent.status`: free-form state word.
    public var state: String?
    public var peer: String?
    public var ref: String?
    public var format: String?
    public var reason: String?
    public var detail: String?

    public init(
        eventId: String, type: EventType, systemKey: String, source: String, at: Timestamp, raw: String? = nil,
        callId: String? = nil, direction: Direction? = nil, from: String? = nil, to: String? = nil,
        fromRaw: String? = nil, toRaw: String? = nil, extension: String? = nil, line: String? = nil,
        extensions: [String]? = nil, answeredBy: String? = nil, disposition: Disposition? = nil,
        startedAt: Timestamp? = nil, answeredAt: Timestamp? = nil, endedAt: Timestamp? = nil,
        ringSec: Int? = nil, durationSec: Int? = nil, transferredTo: String? = nil, recording: RecordingLink? = nil,
        state: String? = nil, peer: String? = nil, ref: String? = nil, format: String? = nil,
        reason: String? = nil, detail: String? = nil
    ) {
        self.schema = Self.schemaVersion
        self.eventId = eventId
        self.type = type
        self.systemKey = systemKey
        self.source = source
        self.at = at
        self.raw = raw
        self.callId = callId
        self.direction = direction
        self.from = from
        self.to = to
        self.fromRaw = fromRaw
        self.toRaw = toRaw
        self.extension = `extension`
        self.line = line
        self.extensions = extensions
        self.answeredBy = answeredBy
        self.disposition = disposition
        self.startedAt = startedAt
        self.answeredAt = answeredAt
        self.endedAt = endedAt
        self.ringSec = ringSec
        self.durationSec = durationSec
        self.transferredTo = transferredTo
        self.recording = recording
        self.state = state
        self.peer = peer
        self.ref = ref
        self.format = format
        self.reason = reason
        self.detail = detail
    }
}

public enum EventType: String, Codable, Sendable, CaseIterable {
    case callRinging = "call.ringing"
    case callAnswered = "call.answered"
    case callEnded = "call.ended"
    case extensionState = "extension.state"
    case recordingAvailable = "recording.available"
    case lineUnparsed = "line.unparsed"
    case agentStatus = "agent.status"

    public var isCallEvent: Bool { self == .callRinging || self == .callAnswered || self == .callEnded }
}

public enum Direction: String, Codable, Sendable, CaseIterable {
    case inbound, outbound, `internal`
}

public enum Disposition: String, Codable, Sendable, CaseIterable {
    case answered, missed, busy, noAnswer, failed, cancelled
}

public enum ExtensionState: String, Codable, Sendable, CaseIterable {
    case idle, ringing, inUse, onHold, unavailable
}

/// The sources EVENTS.md names. `source` stays a string on the wire so a custom source can
/// still be carried; this list is what the built-in agents emit.
public enum SourceName: String, Sendable, CaseIterable {
    case smdr, callerid, ami, telsa, jsonl
}

public struct RecordingLink: Codable, Hashable, Sendable {
    public var ref: String
    public var agent: String?
    /// A signed, expiring URL added by the collector when it delivers to a CRM.
    public var url: String?

    public init(ref: String, agent: String? = nil, url: String? = nil) {
        self.ref = ref
        self.agent = agent
        self.url = url
    }
}
