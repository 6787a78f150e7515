import TamasEvents

/// Builds the EVENTS.md events for SMDR calls and lines. Ids come from the lines: each line is
/// hashed once into a line key; a call's id is its first line's key, an event's id hashes the
/// key of the line that caused it with what the event says (ringing, ended, missed...).
///
/// An object, and immutable: as a struct of some 140 bytes it was copied into every call that
/// built an event. A copied decoder shares it, which is safe since nothing in it changes.
final class SMDREventFactory: Sendable {
    let source = SourceName.smdr.rawValue
    let systemKey: String
    let numberPlan: NumberPlan
    /// Every line key starts with the system key: hashed once here, not once per line.
    private let lineKeyPrefix: StableID.Builder

    init(systemKey: String, numberPlan: NumberPlan) {
        self.systemKey = systemKey
        self.numberPlan = numberPlan
        var prefix = StableID.Builder()
        prefix.append(systemKey)
        lineKeyPrefix = prefix
    }

    /// `StableID.make([systemKey, raw])`, as a number.
    func lineKey(_ raw: String) -> StableID.Digest {
        var builder = lineKeyPrefix
        builder.append(raw)
        return builder.digest
    }

    /// Why an event was produced, beyond its type: one line can both ring a call and, later,
    /// be the last line of the call reported missed.
    enum Cause {
        case line(key: StableID.Digest)
        case missed(lastLineKey: StableID.Digest)
        case noEndLine(lastLineKey: StableID.Digest)
    }

    /// `StableID.make([key.id, type.rawValue])`, with `"missed"` after them for a missed report.
    fileprivate func eventId(_ type: EventType, _ cause: Cause) -> StableID.Digest {
        var builder = StableID.Builder()
        switch cause {
        case .line(let key):
            builder.append(key)
            builder.append(type.rawValue)
        case .missed(let key):
            builder.append(key)
            builder.append(type.rawValue)
            builder.append("missed")
        case .noEndLine(let key):
            builder.append(key)
            builder.append(type.rawValue)
            builder.append("noEndLine")
        }
        return builder.digest
    }

    func normalizedParty(_ raw: String, direction: Direction) -> String? {
        direction == .internal ? nilIfEmpty(raw) : numberPlan.normalize(raw, direction: direction)
    }

    /// What an event says about the call's outcome, beyond the call itself.
    fileprivate struct Outcome {
        var answeredBy: String?
        var answeredAt: Timestamp?
        var disposition: Disposition?
        var startedAt: Timestamp?
        var endedAt: Timestamp?
        var ringSec: Int?
        var durationSec: Int?
        var transferredTo: String?
    }

    func unparsed(_ raw: String, reason: String, at: Timestamp) -> CallEvent {
        CallEvent(eventId: StableID.make([systemKey, EventType.lineUnparsed.rawValue, raw]), type: .lineUnparsed,
                  systemKey: systemKey, source: source, at: at, raw: raw, reason: reason)
    }

    func status(_ state: String, detail: String, at: Timestamp) -> CallEvent {
        CallEvent(eventId: StableID.make([systemKey, EventType.agentStatus.rawValue, state, detail]), type: .agentStatus,
                  systemKey: systemKey, source: source, at: at, state: state, detail: detail)
    }

    fileprivate func nilIfEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }
}

/// A call's events, built from the call where it lies in the tracker's slot. `mutating` only so
/// that `self` is that slot itself: handed to a function as an argument, `slots[slot]` is first
/// copied out of the array (some 350 bytes, every string and array in it retained, then
/// released), which was a tenth of the tracker's time.
extension SMDRCall {
    mutating func ringingEvent(_ factory: SMDREventFactory, cause: SMDREventFactory.Cause) -> CallEvent {
        event(.callRinging, factory, cause: cause, at: begin)
    }

    mutating func answeredEvent(_ factory: SMDREventFactory, cause: SMDREventFactory.Cause) -> CallEvent {
        event(.callAnswered, factory, cause: cause, at: answeredAt ?? begin,
              outcome: SMDREventFactory.Outcome(answeredBy: answeredBy, answeredAt: answeredAt))
    }

    mutating func endedEvent(_ factory: SMDREventFactory, disposition: Disposition,
                             cause: SMDREventFactory.Cause) -> CallEvent {
        let answered = disposition == .answered
        return event(.callEnded, factory, cause: cause, at: latestEnd, outcome: SMDREventFactory.Outcome(
            answeredBy: answered && key.direction == .inbound ? answeredBy : nil,
            answeredAt: answered ? answeredAt : nil, disposition: disposition,
            startedAt: begin, endedAt: latestEnd, ringSec: ringSec,
            durationSec: answered ? durationSec : 0, transferredTo: transferredTo))
    }

    /// Built with one initializer call and the ids given as digests (the box is not shared yet,
    /// so that writes in place): gathering the parties in a tuple first cost a retain and a
    /// release of each.
    private mutating func event(_ type: EventType, _ factory: SMDREventFactory, cause: SMDREventFactory.Cause,
                                at: Timestamp, outcome: SMDREventFactory.Outcome = SMDREventFactory.Outcome()) -> CallEvent {
        let direction = key.direction
        let inbound = direction == .inbound
        // Inbound: the caller calls the extension that took the call (or rang first).
        // Outbound and internal: the extension that placed the call calls the number.
        let handledBy = inbound ? answeredBy ?? members.first : placedBy
        var event = CallEvent(
            eventId: "", type: type, systemKey: factory.systemKey, source: factory.source,
            at: at, raw: text, direction: direction, from: inbound ? partyNormalized : placedBy,
            to: inbound ? handledBy : partyNormalized, fromRaw: inbound ? factory.nilIfEmpty(partyRaw) : nil,
            toRaw: direction == .outbound ? factory.nilIfEmpty(partyRaw) : nil, extension: handledBy,
            line: factory.nilIfEmpty(key.line),
            extensions: direction == .outbound || members.isEmpty ? nil : members,
            answeredBy: outcome.answeredBy, disposition: outcome.disposition,
            startedAt: outcome.startedAt, answeredAt: outcome.answeredAt, endedAt: outcome.endedAt,
            ringSec: outcome.ringSec, durationSec: outcome.durationSec, transferredTo: outcome.transferredTo,
            detail: inbound ? inboundDetail() : nil)
        event.identify(eventId: factory.eventId(type, cause), callId: callId)
        return event
    }

    private mutating func inboundDetail() -> String? {
        var parts: [String] = []
        if let name = callerName { parts.append("caller name \(name)") }
        if let ddi { parts.append("DDI \(ddi)") }
        if answeredBy == nil, members.isEmpty, !ignoredMembers.isEmpty {
            parts.append("only ignored extensions took it: \(ignoredMembers.joined(separator: ", "))")
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}
