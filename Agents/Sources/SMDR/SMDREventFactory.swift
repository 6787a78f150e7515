import TamasEvents

/// Builds the EVENTS.md events for SMDR calls and lines. Ids come from the lines: callId from
/// the call's first line, eventId from the callId, the event type and the line that caused it.
struct SMDREventFactory {
    static let source = SourceName.smdr.rawValue

    let systemKey: String
    let numberPlan: NumberPlan

    func callId(firstLine raw: String) -> String {
        StableID.make([systemKey, "smdr.call", raw])
    }

    private func eventId(_ callId: String, _ type: EventType, _ cause: String) -> String {
        StableID.make([callId, type.rawValue, cause])
    }

    private func callEvent(_ type: EventType, _ call: SMDRCall, cause: String, at: Timestamp) -> CallEvent {
        var event = CallEvent(eventId: eventId(call.callId, type, cause), type: type, systemKey: systemKey,
                              source: Self.source, at: at, raw: call.lines.joined(separator: "\n"),
                              callId: call.callId, direction: call.key.direction, line: nilIfEmpty(call.key.line))
        switch call.key.direction {
        case .inbound:
            let handledBy = call.answeredBy ?? call.members.first
            event.from = numberPlan.normalize(call.partyRaw, direction: .inbound)
            event.fromRaw = nilIfEmpty(call.partyRaw)
            event.to = handledBy
            event.extension = handledBy
            event.extensions = call.members.isEmpty ? nil : call.members
            event.detail = inboundDetail(call)
        case .outbound:
            event.from = call.placedBy
            event.extension = call.placedBy
            event.to = numberPlan.normalize(call.partyRaw, direction: .outbound)
            event.toRaw = nilIfEmpty(call.partyRaw)
        case .internal:
            event.from = call.placedBy
            event.extension = call.placedBy
            event.to = nilIfEmpty(call.partyRaw)
            event.extensions = call.members.isEmpty ? nil : call.members
        }
        return event
    }

    func ringing(_ call: SMDRCall, cause: String) -> CallEvent {
        callEvent(.callRinging, call, cause: cause, at: call.begin)
    }

    func answered(_ call: SMDRCall, cause: String) -> CallEvent {
        var event = callEvent(.callAnswered, call, cause: cause, at: call.answeredAt ?? call.begin)
        event.answeredBy = call.answeredBy
        event.answeredAt = call.answeredAt
        return event
    }

    func ended(_ call: SMDRCall, disposition: Disposition, cause: String) -> CallEvent {
        var event = callEvent(.callEnded, call, cause: cause, at: call.latestEnd)
        event.disposition = disposition
        event.startedAt = call.begin
        event.endedAt = call.latestEnd
        event.durationSec = disposition == .answered ? call.durationSec : 0
        event.ringSec = call.ringSec
        event.transferredTo = call.transferredTo
        if disposition == .answered {
            event.answeredBy = call.key.direction == .inbound ? call.answeredBy : nil
            event.answeredAt = call.answeredAt
        }
        return event
    }

    func unparsed(_ raw: String, reason: String, at: Timestamp) -> CallEvent {
        CallEvent(eventId: StableID.make([systemKey, EventType.lineUnparsed.rawValue, raw]), type: .lineUnparsed,
                  systemKey: systemKey, source: Self.source, at: at, raw: raw, reason: reason)
    }

    func status(_ state: String, detail: String, at: Timestamp) -> CallEvent {
        CallEvent(eventId: StableID.make([systemKey, EventType.agentStatus.rawValue, state, detail]), type: .agentStatus,
                  systemKey: systemKey, source: Self.source, at: at, state: state, detail: detail)
    }

    private func inboundDetail(_ call: SMDRCall) -> String? {
        var parts: [String] = []
        if let name = call.callerName { parts.append("caller name \(name)") }
        if let ddi = call.ddi { parts.append("DDI \(ddi)") }
        if call.answeredBy == nil, call.members.isEmpty, !call.ignoredMembers.isEmpty {
            parts.append("only ignored extensions took it: \(call.ignoredMembers.joined(separator: ", "))")
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    private func nilIfEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }
}
