import TamasEvents

/// Builds the EVENTS.md events for SMDR calls and lines. Ids come from the lines: each line is
/// hashed once into a line key; a call's id is its first line's key, an event's id hashes the
/// key of the line that caused it with what the event says (ringing, ended, missed...).
struct SMDREventFactory {
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
    }

    /// `StableID.make([key.id, type.rawValue])`, with `"missed"` after them for a missed report.
    private func eventId(_ type: EventType, _ cause: Cause) -> String {
        var builder = StableID.Builder()
        switch cause {
        case .line(let key):
            builder.append(key)
            builder.append(type.rawValue)
        case .missed(let key):
            builder.append(key)
            builder.append(type.rawValue)
            builder.append("missed")
        }
        return builder.id
    }

    func normalizedParty(_ raw: String, direction: Direction) -> String? {
        direction == .internal ? nilIfEmpty(raw) : numberPlan.normalize(raw, direction: direction)
    }

    /// What an event says about the call's outcome, beyond the call itself.
    private struct Outcome {
        var answeredBy: String?
        var answeredAt: Timestamp?
        var disposition: Disposition?
        var startedAt: Timestamp?
        var endedAt: Timestamp?
        var ringSec: Int?
        var durationSec: Int?
        var transferredTo: String?
    }

    /// Built with one initializer call: setting fields on the event afterwards copied it, and
    /// gathering the parties in a tuple first cost a retain and a release of each.
    private func callEvent(_ type: EventType, _ call: SMDRCall, cause: Cause, at: Timestamp,
                           outcome: Outcome = Outcome()) -> CallEvent {
        let direction = call.key.direction
        let inbound = direction == .inbound
        // Inbound: the caller calls the extension that took the call (or rang first).
        // Outbound and internal: the extension that placed the call calls the number.
        let handledBy = inbound ? call.answeredBy ?? call.members.first : call.placedBy
        return CallEvent(
            eventId: eventId(type, cause), type: type, systemKey: systemKey, source: source, at: at, raw: call.text,
            callId: call.callId, direction: direction, from: inbound ? call.partyNormalized : call.placedBy,
            to: inbound ? handledBy : call.partyNormalized, fromRaw: inbound ? nilIfEmpty(call.partyRaw) : nil,
            toRaw: direction == .outbound ? nilIfEmpty(call.partyRaw) : nil, extension: handledBy,
            line: nilIfEmpty(call.key.line),
            extensions: direction == .outbound || call.members.isEmpty ? nil : call.members,
            answeredBy: outcome.answeredBy, disposition: outcome.disposition,
            startedAt: outcome.startedAt, answeredAt: outcome.answeredAt, endedAt: outcome.endedAt,
            ringSec: outcome.ringSec, durationSec: outcome.durationSec, transferredTo: outcome.transferredTo,
            detail: inbound ? inboundDetail(call) : nil)
    }

    func ringing(_ call: SMDRCall, cause: Cause) -> CallEvent {
        callEvent(.callRinging, call, cause: cause, at: call.begin)
    }

    func answered(_ call: SMDRCall, cause: Cause) -> CallEvent {
        callEvent(.callAnswered, call, cause: cause, at: call.answeredAt ?? call.begin,
                  outcome: Outcome(answeredBy: call.answeredBy, answeredAt: call.answeredAt))
    }

    func ended(_ call: SMDRCall, disposition: Disposition, cause: Cause) -> CallEvent {
        let answered = disposition == .answered
        return callEvent(.callEnded, call, cause: cause, at: call.latestEnd, outcome: Outcome(
            answeredBy: answered && call.key.direction == .inbound ? call.answeredBy : nil,
            answeredAt: answered ? call.answeredAt : nil, disposition: disposition,
            startedAt: call.begin, endedAt: call.latestEnd, ringSec: call.ringSec,
            durationSec: answered ? call.durationSec : 0, transferredTo: call.transferredTo))
    }

    func unparsed(_ raw: String, reason: String, at: Timestamp) -> CallEvent {
        CallEvent(eventId: StableID.make([systemKey, EventType.lineUnparsed.rawValue, raw]), type: .lineUnparsed,
                  systemKey: systemKey, source: source, at: at, raw: raw, reason: reason)
    }

    func status(_ state: String, detail: String, at: Timestamp) -> CallEvent {
        CallEvent(eventId: StableID.make([systemKey, EventType.agentStatus.rawValue, state, detail]), type: .agentStatus,
                  systemKey: systemKey, source: source, at: at, state: state, detail: detail)
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
