import Foundation

extension CallEvent {
    private static let fieldKeys = FieldKeys([
        "schema", "eventId", "type", "systemKey", "source", "at", "raw", "callId", "direction", "from", "to",
        "fromRaw", "toRaw", "extension", "line", "extensions", "answeredBy", "disposition", "startedAt", "answeredAt",
        "endedAt", "ringSec", "durationSec", "transferredTo", "recording", "state", "peer", "ref", "format", "reason", "detail",
    ])

    /// The event in `data` by `FastJSONReader`, or nil when only `JSONDecoder` can say.
    static func fastDecoded(_ data: Data) -> CallEvent? {
        FastJSONReader.read(data) { reader in
            var schema: Int?, eventId: String?, type: EventType?, systemKey: String?, source: String?, at: Timestamp?
            var event = CallEvent(eventId: "", type: .lineUnparsed, systemKey: "", source: "", at: Timestamp(epochMillis: 0))
            let complete = reader.object(keys: fieldKeys) { reader, field in
                switch field {
                case 0: reader.optional(&schema) { $0.int() }
                case 1: reader.optional(&eventId) { $0.string() }
                case 2: reader.optional(&type) { $0.raw(EventType.self) }
                case 3: reader.optional(&systemKey) { $0.string() }
                case 4: reader.optional(&source) { $0.string() }
                case 5: reader.optional(&at) { $0.timestamp() }
                case 6: reader.optional(&event.raw) { $0.string() }
                case 7: reader.optional(&event.callId) { $0.string() }
                case 8: reader.optional(&event.direction) { $0.raw(Direction.self) }
                case 9: reader.optional(&event.from) { $0.string() }
                case 10: reader.optional(&event.to) { $0.string() }
                case 11: reader.optional(&event.fromRaw) { $0.string() }
                case 12: reader.optional(&event.toRaw) { $0.string() }
                case 13: reader.optional(&event.extension) { $0.string() }
                case 14: reader.optional(&event.line) { $0.string() }
                case 15: reader.optional(&event.extensions) { $0.stringArray() }
                case 16: reader.optional(&event.answeredBy) { $0.string() }
                case 17: reader.optional(&event.disposition) { $0.raw(Disposition.self) }
                case 18: reader.optional(&event.startedAt) { $0.timestamp() }
                case 19: reader.optional(&event.answeredAt) { $0.timestamp() }
                case 20: reader.optional(&event.endedAt) { $0.timestamp() }
                case 21: reader.optional(&event.ringSec) { $0.int() }
                case 22: reader.optional(&event.durationSec) { $0.int() }
                case 23: reader.optional(&event.transferredTo) { $0.string() }
                case 24: reader.optional(&event.recording) { $0.recordingLink() }
                case 25: reader.optional(&event.state) { $0.string() }
                case 26: reader.optional(&event.peer) { $0.string() }
                case 27: reader.optional(&event.ref) { $0.string() }
                case 28: reader.optional(&event.format) { $0.string() }
                case 29: reader.optional(&event.reason) { $0.string() }
                default: reader.optional(&event.detail) { $0.string() }
                }
            }
            guard complete, let schema, let eventId, let type, let systemKey, let source, let at else { return nil }
            event.schema = schema
            event.eventId = eventId
            event.type = type
            event.systemKey = systemKey
            event.source = source
            event.at = at
            return event
        }
    }
}

extension CallRecord {
    private static let fieldKeys = FieldKeys([
        "systemKey", "callId", "source", "phase", "direction", "from", "to", "fromRaw", "toRaw", "extension", "line",
        "extensions", "answeredBy", "disposition", "startedAt", "answeredAt", "endedAt", "ringSec", "durationSec",
        "transferredTo", "recording", "eventCount", "lastEventAt",
    ])

    /// The call in `data` by `FastJSONReader`, or nil when only `JSONDecoder` can say.
    static func fastDecoded(_ data: Data) -> CallRecord? {
        FastJSONReader.read(data) { reader in
            var systemKey: String?, callId: String?, source: String?, phase: Phase?, extensions: [String]?, eventCount: Int?
            var call = CallRecord(systemKey: "", callId: "", source: "")
            let complete = reader.object(keys: fieldKeys) { reader, field in
                switch field {
                case 0: reader.optional(&systemKey) { $0.string() }
                case 1: reader.optional(&callId) { $0.string() }
                case 2: reader.optional(&source) { $0.string() }
                case 3: reader.optional(&phase) { $0.raw(Phase.self) }
                case 4: reader.optional(&call.direction) { $0.raw(Direction.self) }
                case 5: reader.optional(&call.from) { $0.string() }
                case 6: reader.optional(&call.to) { $0.string() }
                case 7: reader.optional(&call.fromRaw) { $0.string() }
                case 8: reader.optional(&call.toRaw) { $0.string() }
                case 9: reader.optional(&call.extension) { $0.string() }
                case 10: reader.optional(&call.line) { $0.string() }
                case 11: reader.optional(&extensions) { $0.stringArray() }
                case 12: reader.optional(&call.answeredBy) { $0.string() }
                case 13: reader.optional(&call.disposition) { $0.raw(Disposition.self) }
                case 14: reader.optional(&call.startedAt) { $0.timestamp() }
                case 15: reader.optional(&call.answeredAt) { $0.timestamp() }
                case 16: reader.optional(&call.endedAt) { $0.timestamp() }
                case 17: reader.optional(&call.ringSec) { $0.int() }
                case 18: reader.optional(&call.durationSec) { $0.int() }
                case 19: reader.optional(&call.transferredTo) { $0.string() }
                case 20: reader.optional(&call.recording) { $0.recordingLink() }
                case 21: reader.optional(&eventCount) { $0.int() }
                default: reader.optional(&call.lastEventAt) { $0.timestamp() }
                }
            }
            guard complete, let systemKey, let callId, let source, let phase, let extensions, let eventCount else { return nil }
            call.systemKey = systemKey
            call.callId = callId
            call.source = source
            call.phase = phase
            call.extensions = extensions
            call.eventCount = eventCount
            return call
        }
    }

    /// The call as JSON, written directly: the collector rewrites a call's record on every event
    /// of it, and `JSONEncoder` was the second largest item of the ingest profile. Same shape as
    /// the Codable form (absent fields omitted), so either side can read what the other wrote.
    func fastEncoded() -> Data {
        var writer = FastJSONWriter()
        writer.field("systemKey", systemKey)
        writer.field("callId", callId)
        writer.field("source", source)
        writer.field("phase", phase.rawValue)
        writer.field("direction", direction?.rawValue)
        writer.field("from", from)
        writer.field("to", to)
        writer.field("fromRaw", fromRaw)
        writer.field("toRaw", toRaw)
        writer.field("extension", `extension`)
        writer.field("line", line)
        writer.field("extensions", extensions)
        writer.field("answeredBy", answeredBy)
        writer.field("disposition", disposition?.rawValue)
        writer.field("startedAt", startedAt?.iso8601)
        writer.field("answeredAt", answeredAt?.iso8601)
        writer.field("endedAt", endedAt?.iso8601)
        writer.field("ringSec", ringSec)
        writer.field("durationSec", durationSec)
        writer.field("transferredTo", transferredTo)
        if let recording {
            var link = FastJSONWriter()
            link.field("ref", recording.ref)
            link.field("agent", recording.agent)
            link.field("url", recording.url)
            writer.field("recording", object: link)
        }
        writer.field("eventCount", eventCount)
        writer.field("lastEventAt", lastEventAt?.iso8601)
        return writer.finished()
    }
}

/// Writes one JSON object field by field; nil values are left out, as `encodeIfPresent` does.
struct FastJSONWriter {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    init() {
        bytes.reserveCapacity(512)
    }

    mutating func field(_ key: String, _ value: String?) {
        guard let value else { return }
        start(key)
        appendString(value)
    }

    mutating func field(_ key: String, _ value: Int?) {
        guard let value else { return }
        start(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func field(_ key: String, _ values: [String]) {
        start(key)
        bytes.append(UInt8(ascii: "["))
        for (position, value) in values.enumerated() {
            if position > 0 { bytes.append(UInt8(ascii: ",")) }
            appendString(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func field(_ key: String, object: FastJSONWriter) {
        start(key)
        bytes.append(contentsOf: object.bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    func finished() -> Data {
        var data = Data(capacity: bytes.count + 1)
        data.append(contentsOf: bytes)
        data.append(UInt8(ascii: "}"))
        return data
    }

    private mutating func start(_ key: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        appendString(key)
        bytes.append(UInt8(ascii: ":"))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private mutating func escape(_ byte: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(byte)
    }

    private mutating func appendString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): escape(byte)
            case 0x0A: escape(UInt8(ascii: "n"))
            case 0x0D: escape(UInt8(ascii: "r"))
            case 0x09: escape(UInt8(ascii: "t"))
            case ..<0x20:
                escape(UInt8(ascii: "u"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// Call records as the collector stores them: written by `FastJSONWriter`, read by
/// `FastJSONReader` with `JSONDecoder` behind it for anything the fast path declines.
public struct CallRecordJSON: Sendable {
    private let decoder = JSONDecoder()

    public init() {}

    public func encode(_ call: CallRecord) -> Data {
        call.fastEncoded()
    }

    public func decode(_ data: Data) throws -> CallRecord {
        if let call = CallRecord.fastDecoded(data) { return call }
        return try decoder.decode(CallRecord.self, from: data)
    }
}
