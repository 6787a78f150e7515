/// The normalized event of EVENTS.md, schema v1.
///
/// One flat value type rather than a class per event type: every source fills the fields its
/// type uses, the JSON shape stays exactly the contract's (absent fields are omitted), and the
/// collector can store, merge and forward any event without knowing its type in advance.
///
/// The fields live in one copy-on-write box: some thirty of them inline made the value about
/// 500 bytes, and a source building events at line rate spent its time moving them (into
/// arrays, out of functions) rather than making them. A copy of the event shares the box until
/// one side changes a field, so the value semantics are those of a plain struct.
public struct CallEvent: Codable, Hashable, Sendable {
    public static let schemaVersion = 1

    private var storage: Storage

    public var schema: Int {
        get { storage.schema }
        set { uniqueStorage().schema = newValue }
    }

    public var eventId: String {
        get { storage.eventId.text }
        set { uniqueStorage().eventId = .text(newValue) }
    }

    public var type: EventType {
        get { storage.type }
        set { uniqueStorage().type = newValue }
    }

    public var systemKey: String {
        get { storage.systemKey }
        set { uniqueStorage().systemKey = newValue }
    }

    public var source: String {
        get { storage.source }
        set { uniqueStorage().source = newValue }
    }

    public var at: Timestamp {
        get { storage.at }
        set { uniqueStorage().at = newValue }
    }

    public var raw: String? {
        get { storage.raw }
        set { uniqueStorage().raw = newValue }
    }

    // call.*
    public var callId: String? {
        get { storage.callId?.text }
        set { uniqueStorage().callId = newValue.map { .text($0) } }
    }

    public var direction: Direction? {
        get { storage.direction }
        set { uniqueStorage().direction = newValue }
    }

    public var from: String? {
        get { storage.from }
        set { uniqueStorage().from = newValue }
    }

    public var to: String? {
        get { storage.to }
        set { uniqueStorage().to = newValue }
    }

    public var fromRaw: String? {
        get { storage.fromRaw }
        set { uniqueStorage().fromRaw = newValue }
    }

    public var toRaw: String? {
        get { storage.toRaw }
        set { uniqueStorage().toRaw = newValue }
    }

    public var `extension`: String? {
        get { storage.extension }
        set { uniqueStorage().extension = newValue }
    }

    public var line: String? {
        get { storage.line }
        set { uniqueStorage().line = newValue }
    }

    public var extensions: [String]? {
        get { storage.extensions }
        set { uniqueStorage().extensions = newValue }
    }

    public var answeredBy: String? {
        get { storage.answeredBy }
        set { uniqueStorage().answeredBy = newValue }
    }

    public var disposition: Disposition? {
        get { storage.disposition }
        set { uniqueStorage().disposition = newValue }
    }

    public var startedAt: Timestamp? {
        get { storage.startedAt }
        set { uniqueStorage().startedAt = newValue }
    }

    public var answeredAt: Timestamp? {
        get { storage.answeredAt }
        set { uniqueStorage().answeredAt = newValue }
    }

    public var endedAt: Timestamp? {
        get { storage.endedAt }
        set { uniqueStorage().endedAt = newValue }
    }

    public var ringSec: Int? {
        get { storage.ringSec }
        set { uniqueStorage().ringSec = newValue }
    }

    public var durationSec: Int? {
        get { storage.durationSec }
        set { uniqueStorage().durationSec = newValue }
    }

    public var transferredTo: String? {
        get { storage.transferredTo }
        set { uniqueStorage().transferredTo = newValue }
    }

    public var recording: RecordingLink? {
        get { storage.recording }
        set { uniqueStorage().recording = newValue }
    }

    /// `extension.state`: an `ExtensionState` raw value; `agent.status`: free-form state word.
    public var state: String? {
        get { storage.state }
        set { uniqueStorage().state = newValue }
    }

    public var peer: String? {
        get { storage.peer }
        set { uniqueStorage().peer = newValue }
    }

    public var ref: String? {
        get { storage.ref }
        set { uniqueStorage().ref = newValue }
    }

    public var format: String? {
        get { storage.format }
        set { uniqueStorage().format = newValue }
    }

    public var reason: String? {
        get { storage.reason }
        set { uniqueStorage().reason = newValue }
    }

    public var detail: String? {
        get { storage.detail }
        set { uniqueStorage().detail = newValue }
    }

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
        storage = Storage(
            schema: Self.schemaVersion, eventId: .text(eventId), type: type, systemKey: systemKey, source: source, at: at,
            raw: raw, callId: callId.map { .text($0) }, direction: direction, from: from, to: to, fromRaw: fromRaw, toRaw: toRaw,
            extension: `extension`, line: line, extensions: extensions, answeredBy: answeredBy,
            disposition: disposition, startedAt: startedAt, answeredAt: answeredAt, endedAt: endedAt,
            ringSec: ringSec, durationSec: durationSec, transferredTo: transferredTo, recording: recording,
            state: state, peer: peer, ref: ref, format: format, reason: reason, detail: detail)
    }

    /// Sets both ids from the digests a source hashed them to. They stay numbers until something
    /// reads them as text: a source at line rate would otherwise write out two 32-character
    /// strings per event that, on the agent, only the JSON encoder ever reads.
    public mutating func identify(eventId: StableID.Digest, callId: StableID.Digest?) {
        let storage = uniqueStorage()
        storage.eventId = .digest(eventId)
        storage.callId = callId.map { .digest($0) }
    }

    /// The box to write into, copied first when another event still shares it.
    private mutating func uniqueStorage() -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return storage
    }

    /// Written out because the box hides the fields from synthesis: the same keys, the same
    /// required fields (`decode`) and optional ones (`decodeIfPresent`, `encodeIfPresent`), in
    /// the same order, as the synthesized conformance had.
    private enum CodingKeys: String, CodingKey {
        case schema, eventId, type, systemKey, source, at, raw, callId, direction, from, to, fromRaw, toRaw
        case `extension`, line, extensions, answeredBy, disposition, startedAt, answeredAt, endedAt, ringSec
        case durationSec, transferredTo, recording, state, peer, ref, format, reason, detail
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        storage = Storage(
            schema: try container.decode(Int.self, forKey: .schema),
            eventId: .text(try container.decode(String.self, forKey: .eventId)),
            type: try container.decode(EventType.self, forKey: .type),
            systemKey: try container.decode(String.self, forKey: .systemKey),
            source: try container.decode(String.self, forKey: .source),
            at: try container.decode(Timestamp.self, forKey: .at),
            raw: try container.decodeIfPresent(String.self, forKey: .raw),
            callId: try container.decodeIfPresent(String.self, forKey: .callId).map { .text($0) },
            direction: try container.decodeIfPresent(Direction.self, forKey: .direction),
            from: try container.decodeIfPresent(String.self, forKey: .from),
            to: try container.decodeIfPresent(String.self, forKey: .to),
            fromRaw: try container.decodeIfPresent(String.self, forKey: .fromRaw),
            toRaw: try container.decodeIfPresent(String.self, forKey: .toRaw),
            extension: try container.decodeIfPresent(String.self, forKey: .`extension`),
            line: try container.decodeIfPresent(String.self, forKey: .line),
            extensions: try container.decodeIfPresent([String].self, forKey: .extensions),
            answeredBy: try container.decodeIfPresent(String.self, forKey: .answeredBy),
            disposition: try container.decodeIfPresent(Disposition.self, forKey: .disposition),
            startedAt: try container.decodeIfPresent(Timestamp.self, forKey: .startedAt),
            answeredAt: try container.decodeIfPresent(Timestamp.self, forKey: .answeredAt),
            endedAt: try container.decodeIfPresent(Timestamp.self, forKey: .endedAt),
            ringSec: try container.decodeIfPresent(Int.self, forKey: .ringSec),
            durationSec: try container.decodeIfPresent(Int.self, forKey: .durationSec),
            transferredTo: try container.decodeIfPresent(String.self, forKey: .transferredTo),
            recording: try container.decodeIfPresent(RecordingLink.self, forKey: .recording),
            state: try container.decodeIfPresent(String.self, forKey: .state),
            peer: try container.decodeIfPresent(String.self, forKey: .peer),
            ref: try container.decodeIfPresent(String.self, forKey: .ref),
            format: try container.decodeIfPresent(String.self, forKey: .format),
            reason: try container.decodeIfPresent(String.self, forKey: .reason),
            detail: try container.decodeIfPresent(String.self, forKey: .detail))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(storage.schema, forKey: .schema)
        try container.encode(storage.eventId.text, forKey: .eventId)
        try container.encode(storage.type, forKey: .type)
        try container.encode(storage.systemKey, forKey: .systemKey)
        try container.encode(storage.source, forKey: .source)
        try container.encode(storage.at, forKey: .at)
        try container.encodeIfPresent(storage.raw, forKey: .raw)
        try container.encodeIfPresent(storage.callId?.text, forKey: .callId)
        try container.encodeIfPresent(storage.direction, forKey: .direction)
        try container.encodeIfPresent(storage.from, forKey: .from)
        try container.encodeIfPresent(storage.to, forKey: .to)
        try container.encodeIfPresent(storage.fromRaw, forKey: .fromRaw)
        try container.encodeIfPresent(storage.toRaw, forKey: .toRaw)
        try container.encodeIfPresent(storage.extension, forKey: .`extension`)
        try container.encodeIfPresent(storage.line, forKey: .line)
        try container.encodeIfPresent(storage.extensions, forKey: .extensions)
        try container.encodeIfPresent(storage.answeredBy, forKey: .answeredBy)
        try container.encodeIfPresent(storage.disposition, forKey: .disposition)
        try container.encodeIfPresent(storage.startedAt, forKey: .startedAt)
        try container.encodeIfPresent(storage.answeredAt, forKey: .answeredAt)
        try container.encodeIfPresent(storage.endedAt, forKey: .endedAt)
        try container.encodeIfPresent(storage.ringSec, forKey: .ringSec)
        try container.encodeIfPresent(storage.durationSec, forKey: .durationSec)
        try container.encodeIfPresent(storage.transferredTo, forKey: .transferredTo)
        try container.encodeIfPresent(storage.recording, forKey: .recording)
        try container.encodeIfPresent(storage.state, forKey: .state)
        try container.encodeIfPresent(storage.peer, forKey: .peer)
        try container.encodeIfPresent(storage.ref, forKey: .ref)
        try container.encodeIfPresent(storage.format, forKey: .format)
        try container.encodeIfPresent(storage.reason, forKey: .reason)
        try container.encodeIfPresent(storage.detail, forKey: .detail)
    }

    public static func == (lhs: CallEvent, rhs: CallEvent) -> Bool {
        lhs.storage === rhs.storage || lhs.storage.hasSameFields(as: rhs.storage)
    }

    /// The fields in declaration order, as the synthesized conformance combined them.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.schema)
        hasher.combine(storage.eventId.text)
        hasher.combine(storage.type)
        hasher.combine(storage.systemKey)
        hasher.combine(storage.source)
        hasher.combine(storage.at)
        hasher.combine(storage.raw)
        hasher.combine(storage.callId?.text)
        hasher.combine(storage.direction)
        hasher.combine(storage.from)
        hasher.combine(storage.to)
        hasher.combine(storage.fromRaw)
        hasher.combine(storage.toRaw)
        hasher.combine(storage.extension)
        hasher.combine(storage.line)
        hasher.combine(storage.extensions)
        hasher.combine(storage.answeredBy)
        hasher.combine(storage.disposition)
        hasher.combine(storage.startedAt)
        hasher.combine(storage.answeredAt)
        hasher.combine(storage.endedAt)
        hasher.combine(storage.ringSec)
        hasher.combine(storage.durationSec)
        hasher.combine(storage.transferredTo)
        hasher.combine(storage.recording)
        hasher.combine(storage.state)
        hasher.combine(storage.peer)
        hasher.combine(storage.ref)
        hasher.combine(storage.format)
        hasher.combine(storage.reason)
        hasher.combine(storage.detail)
    }

    /// The fields. Only `CallEvent` touches it, and only writes to a box no other event holds,
    /// which is what makes sharing it between threads safe.
    private final class Storage: @unchecked Sendable {
        var schema: Int
        var eventId: StableID.Value
        var type: EventType
        var systemKey: String
        var source: String
        var at: Timestamp
        var raw: String?
        var callId: StableID.Value?
        var direction: Direction?
        var from: String?
        var to: String?
        var fromRaw: String?
        var toRaw: String?
        var `extension`: String?
        var line: String?
        var extensions: [String]?
        var answeredBy: String?
        var disposition: Disposition?
        var startedAt: Timestamp?
        var answeredAt: Timestamp?
        var endedAt: Timestamp?
        var ringSec: Int?
        var durationSec: Int?
        var transferredTo: String?
        var recording: RecordingLink?
        var state: String?
        var peer: String?
        var ref: String?
        var format: String?
        var reason: String?
        var detail: String?

        init(
            schema: Int, eventId: StableID.Value, type: EventType, systemKey: String, source: String, at: Timestamp,
            raw: String?, callId: StableID.Value?, direction: Direction?, from: String?, to: String?, fromRaw: String?,
            toRaw: String?, extension: String?, line: String?, extensions: [String]?, answeredBy: String?,
            disposition: Disposition?, startedAt: Timestamp?, answeredAt: Timestamp?, endedAt: Timestamp?,
            ringSec: Int?, durationSec: Int?, transferredTo: String?, recording: RecordingLink?, state: String?,
            peer: String?, ref: String?, format: String?, reason: String?, detail: String?
        ) {
            self.schema = schema
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

        func copy() -> Storage {
            Storage(
                schema: schema, eventId: eventId, type: type, systemKey: systemKey, source: source, at: at, raw: raw,
                callId: callId, direction: direction, from: from, to: to, fromRaw: fromRaw, toRaw: toRaw,
                extension: `extension`, line: line, extensions: extensions, answeredBy: answeredBy,
                disposition: disposition, startedAt: startedAt, answeredAt: answeredAt, endedAt: endedAt,
                ringSec: ringSec, durationSec: durationSec, transferredTo: transferredTo, recording: recording,
                state: state, peer: peer, ref: ref, format: format, reason: reason, detail: detail)
        }

        func hasSameFields(as other: Storage) -> Bool {
            schema == other.schema
                && eventId == other.eventId
                && type == other.type
                && systemKey == other.systemKey
                && source == other.source
                && at == other.at
                && raw == other.raw
                && callId == other.callId
                && direction == other.direction
                && from == other.from
                && to == other.to
                && fromRaw == other.fromRaw
                && toRaw == other.toRaw
                && `extension` == other.`extension`
                && line == other.line
                && extensions == other.extensions
                && answeredBy == other.answeredBy
                && disposition == other.disposition
                && startedAt == other.startedAt
                && answeredAt == other.answeredAt
                && endedAt == other.endedAt
                && ringSec == other.ringSec
                && durationSec == other.durationSec
                && transferredTo == other.transferredTo
                && recording == other.recording
                && state == other.state
                && peer == other.peer
                && ref == other.ref
                && format == other.format
                && reason == other.reason
                && detail == other.detail
        }
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
