import TamasEvents

/// Builds the EVENTS.md events for SMDR calls and lines. Ids come from the lines: each line is
/// hashed once into a line key; a call's id is its first line's key, an event's id hashes the
/// key of the line that caused it with what the event says (ringing, ended, missed...).
struct SMDREventFactory {
    static let source = SourceName.smdr.rawValue

    let systemKey: String
    let numberPlan: NumberPlan

    func lineKey(_ raw: String) -> String {
        StableID.make([systemKey, raw])
    }

    /// Why an event was produced, beyond its type: one line can both ring a call and, later,
    /// be the last line of the call reported missed.
    enum Cause {
        case line(key: String)
        case missed(lastLineKey: String)
    }

    private func eventId(_ type: EventType, _ cause: Cause) -> String {
        switch cause {
        case .line(let key): StableID.make([key, type.rawValue])
        case .missed(let key): StableID.make([key, type.rawValue, "missed"])
        }
    }

    func normalizedParty(_ raw: String, direction: Direction) -> String? {
        direction == .internal ? nilIfEmpty(raw) : numberPlan.normalize(raw, direction: direction)
    }

    private func callEvent(_ type: EventType, _ call: SMDRCall, cause: Cause, at: Timestamp) -> CallEvent {
        let raw = call.lines.count == 1 ? call.lines[0] : call.lines.joined(separator: "\n")
        var event = CallEvent(eventId: eventId(type, cause), type: type, systemKey: systemKey,
                              source: Self.source, at: at, raw: raw,
                              callId: call.callId, direction: call.key.direction, line: nilIfEmpty(call.key.line))
        switch call.key.direction {
        case .inbound:
            let handledBy = call.answeredBy ?? call.members.first
            event.from = call.partyNormalized
            event.fromRaw = nilIfEmpty(call.partyRaw)
            event.to = handledBy
            event.extension = handledBy
            event.extensions = call.members.isEmpty ? nil : call.members
            event.detail = inboundDetail(call)
        case .outbound:
            event.from = call.placedBy
            event.extension = call.placedBy
            event.to = call.partyNormalized
            event.toRaw = nilIfEmpty(call.partyRaw)
        case .internal:
            event.from = call.placedBy
            event.extension = call.placedBy
            event.to = call.partyNormalized
            event.extensions = call.members.isEmpty ? nil : call.members
        }
        return event
    }

    func ringing(_ call: SMDRCall, cause: Cause) -> CallEvent {
        callEvent(.callRinging, call, cause: cause, at: call.begin)
    }

    func answered(_ call: SMDRCall, cause: Cause) -> CallEvent {
        var event = callEvent(.callAnswered, call, cause: cause, at: call.answeredAt ?? call.begin)
        event.answeredBy = call.answeredBy
        event.answeredAt = call.answeredAt
        return event
    }

    func ended(_ call: SMDRCall, disposition: Disposition, cause: Cause) -> CallEvent {
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
