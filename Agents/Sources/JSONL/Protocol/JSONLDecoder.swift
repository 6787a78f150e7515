import Foundation
import TamasEvents

/// Turns lines of normalized events (EVENTS.md, one JSON object per line) into validated
/// events. This is the integration point for systems Tamas has no driver for, so it is lenient
/// where the contract allows defaults and precise where it does not: a line that cannot be used
/// becomes a `line.unparsed` event naming the line number and the field, never a silent skip.
///
/// Defaults: `schema` 1, `source` "jsonl", `systemKey` the agent's, `eventId` derived from the
/// line itself (so re-reading a file deduplicates).
public struct JSONLDecoder: SourceStateMachine {
    public let systemKey: String
    private var framer = LineFramer(maxLineBytes: 1 << 20, keepsEmptyLines: true)
    private var lineNumber = 0
    private let decoder = JSONDecoder()

    public init(systemKey: String) {
        self.systemKey = systemKey
    }

    public mutating func receive(_ bytes: [UInt8], now: Timestamp) -> [CallEvent] {
        framer.push(bytes).compactMap { decode($0, now: now) }
    }

    public mutating func tick(now: Timestamp) -> [CallEvent] { [] }

    public mutating func finish(now: Timestamp) -> [CallEvent] {
        framer.flush().compactMap { decode($0, now: now) }
    }

    private mutating func decode(_ line: LineFramer.Line, now: Timestamp) -> CallEvent? {
        lineNumber += 1
        let text = line.text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        if line.truncated { return unparsed(text, "line \(lineNumber): longer than 1 MiB without a line end", now: now) }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            return unparsed(text, "line \(lineNumber): not a JSON object", now: now)
        }
        var filled = object
        if filled["schema"] == nil { filled["schema"] = CallEvent.schemaVersion }
        if filled["source"] == nil { filled["source"] = SourceName.jsonl.rawValue }
        if filled["systemKey"] == nil { filled["systemKey"] = systemKey }
        if filled["eventId"] == nil { filled["eventId"] = StableID.make(systemKey, "jsonl", text) }
        do {
            let data = try JSONSerialization.data(withJSONObject: filled)
            let event = try decoder.decode(CallEvent.self, from: data)
            try event.validate()
            return event
        } catch let error as EventValidationError {
            return unparsed(text, "line \(lineNumber): \(error)", now: now)
        } catch let error as DecodingError {
            return unparsed(text, "line \(lineNumber): \(Self.describe(error))", now: now)
        } catch {
            return unparsed(text, "line \(lineNumber): \(error)", now: now)
        }
    }

    private func unparsed(_ raw: String, _ reason: String, now: Timestamp) -> CallEvent {
        CallEvent(eventId: StableID.make(systemKey, "jsonl", "unparsed", raw), type: .lineUnparsed,
                  systemKey: systemKey, source: SourceName.jsonl.rawValue, at: now, raw: raw, reason: reason)
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "\(parent.isEmpty ? "" : parent + ".")\(key.stringValue): required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
