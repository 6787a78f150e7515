import TamasEvents

/// Builds the EVENTS.md events of this source, with ids derived from the system key, the call
/// and the record that caused them, so the same bytes at the same times give the same ids.
struct CallEventFactory: Sendable {
    let systemKey: String
    let numbers: CallerIDNumbers
    static let source = SourceName.callerid.rawValue

    func eventId(_ parts: String...) -> String {
        StableID.make([systemKey, Self.source] + parts)
    }

    func callId(line: String, firstRecordAt: Timestamp, ordinal: Int) -> String {
        StableID.make(systemKey, Self.source, "call", line, String(firstRecordAt.epochMillis), String(ordinal))
    }

    func ringing(_ call: ActiveCall, at: Timestamp, raw: String, cause: String) -> CallEvent {
        var event = base(.callRinging, call, at: at, raw: raw, cause: cause)
        event.startedAt = call.startedAt
        return event
    }

    func answered(_ call: ActiveCall, at: Timestamp, raw: String, cause: String) -> CallEvent {
        var event = base(.callAnswered, call, at: at, raw: raw, cause: cause)
        event.startedAt = call.startedAt
        event.answeredAt = at
        return event
    }

    struct Ending {
        var disposition: Disposition
        var startedAt: Timestamp
        var answeredAt: Timestamp?
        var endedAt: Timestamp
        var durationSec: Int
        var detail: String?
    }

    func ended(_ call: ActiveCall, _ ending: Ending, raw: String, cause: String) -> CallEvent {
        var event = base(.callEnded, call, at: ending.endedAt, raw: raw, cause: cause)
        event.disposition = ending.disposition
        event.startedAt = ending.startedAt
        event.answeredAt = ending.answeredAt
        event.endedAt = ending.endedAt
        event.durationSec = ending.durationSec
        if call.direction == .inbound {
            event.ringSec = ending.startedAt.seconds(until: ending.answeredAt ?? call.lastRingAt)
        }
        event.detail = ending.detail
        return event
    }

    func unparsed(raw: String, reason: String, at: Timestamp, ordinal: Int) -> CallEvent {
        CallEvent(
            eventId: eventId("unparsed", String(at.epochMillis), String(ordinal), raw), type: .lineUnparsed,
            systemKey: systemKey, source: Self.source, at: at, raw: raw, reason: reason)
    }

    func status(state: String, detail: String, at: Timestamp, cause: String) -> CallEvent {
        CallEvent(
            eventId: eventId("status", state, String(at.epochMillis), cause), type: .agentStatus,
            systemKey: systemKey, source: Self.source, at: at, state: state, detail: detail)
    }

    private func base(_ type: EventType, _ call: ActiveCall, at: Timestamp, raw: String, cause: String) -> CallEvent {
        var event = CallEvent(
            eventId: eventId(call.callId, type.rawValue, cause), type: type, systemKey: systemKey,
            source: Self.source, at: at, raw: raw.isEmpty ? nil : raw, callId: call.callId,
            direction: call.direction, line: call.line)
        switch call.direction {
        case .inbound:
            event.fromRaw = call.callerRaw
            event.from = call.callerRaw.flatMap { numbers.normalize($0, direction: .inbound) }
            event.toRaw = call.calledRaw
            event.to = call.calledRaw.flatMap { numbers.normalize($0, direction: .inbound) }
        case .outbound, .internal:
            let dialed = call.dialedNumber
            event.toRaw = dialed.isEmpty ? nil : dialed
            event.to = dialed.isEmpty ? nil : numbers.normalize(dialed, direction: .outbound)
        }
        return event
    }
}
