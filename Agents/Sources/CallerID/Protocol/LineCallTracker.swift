import TamasEvents

/// A call in progress on one box line.
struct ActiveCall: Sendable {
    enum Phase: Sendable { case ringing, talking, dialing }

    var callId: String
    /// The stream position of the call's first record.
    var firstOrdinal: Int
    var line: String
    var direction: Direction
    var phase: Phase
    var startedAt: Timestamp
    var lastRingAt: Timestamp
    var ringCount = 0
    var callerRaw: String?
    var calledRaw: String?
    var announced = false
    var answeredAt: Timestamp?
    var digits = ""
    /// The number the box itself reported at hang-up (Segal `HND:`), preferred over `digits`.
    var reportedDialed: String?
    var callerIDMissingReported = false
    /// The last caller ID that came while the line was off-hook: call waiting, or the first
    /// record of the next call when this call's hang-up record was lost.
    var callerIDWhileOffHook: WaitingCallerID?

    struct WaitingCallerID: Sendable {
        var number: String
        var raw: String
        var at: Timestamp
        var ordinal: Int
    }

    var dialedNumber: String { reportedDialed.flatMap { $0.isEmpty ? nil : $0 } ?? digits }
}

/// The per-line state machine that turns records into calls (docs/callerid.md, "Calls"):
/// ring or caller ID starts an inbound call, off-hook while ringing answers it, ringing that
/// stops for `ringTimeoutSeconds` ends it as missed; off-hook while idle starts an outbound
/// call that hang-up (Segal `HND`, Danjeh `hook-on`) ends. Lines are independent.
struct LineCallTracker: Sendable {
    let factory: CallEventFactory
    let ringTimeoutSeconds: Int
    let callerIDWaitRings: Int
    /// Modems see rings but never the handset, so "ringing stopped" cannot tell answered from missed.
    let answerIsVisible: Bool
    private(set) var calls: [String: ActiveCall] = [:]

    init(factory: CallEventFactory, ringTimeoutSeconds: Int, callerIDWaitRings: Int, answerIsVisible: Bool) {
        self.factory = factory
        self.ringTimeoutSeconds = max(1, ringTimeoutSeconds)
        self.callerIDWaitRings = max(1, callerIDWaitRings)
        self.answerIsVisible = answerIsVisible
    }

    /// Ends every ringing call whose last ring is older than the ring timeout.
    mutating func expire(now: Timestamp) -> [CallEvent] {
        var events: [CallEvent] = []
        for line in calls.keys.sorted() {
            guard let call = calls[line], call.phase == .ringing,
                  call.lastRingAt.seconds(until: now) >= ringTimeoutSeconds else { continue }
            calls[line] = nil
            if !call.announced { events.append(factory.ringing(call, at: call.lastRingAt, raw: "", cause: "timeout")) }
            let detail = answerIsVisible ? nil
                : "ringing stopped; a caller-ID modem cannot see the handset, so this call may have been answered"
            events.append(factory.ended(call, .init(
                disposition: .missed, startedAt: call.startedAt, answeredAt: nil, endedAt: call.lastRingAt,
                durationSec: 0, detail: detail), raw: "", cause: "timeout"))
        }
        return events
    }

    /// True once per call when it has rung `callerIDWaitRings` times without any caller ID.
    mutating func takeCallerIDMissing(line: String) -> Bool {
        guard var call = calls[line], call.phase == .ringing, call.callerRaw == nil, !call.callerIDMissingReported,
              call.ringCount >= callerIDWaitRings else { return false }
        call.callerIDMissingReported = true
        calls[line] = call
        return true
    }

    mutating func handle(_ record: CallerIDRecord, raw: String, now: Timestamp, ordinal: Int) -> [CallEvent] {
        let cause = String(ordinal)
        func unexpected(_ reason: String) -> [CallEvent] {
            [factory.unparsed(raw: raw, reason: reason, at: now, ordinal: ordinal)]
        }
        switch record {
        case .callerID(let line, let number):
            return callerID(line: line, number: number, raw: raw, now: now, ordinal: ordinal) ?? unexpected(
                "caller ID while line \(line) is off-hook: call waiting (not modelled), or the next call after a lost "
                    + "hang-up record, which a ring within ringTimeoutSeconds starts with this number")
        case .calledNumber(let line, let number):
            guard var call = calls[line], call.phase == .ringing else {
                return unexpected("called number while line \(line) is not ringing")
            }
            call.calledRaw = number
            calls[line] = call
            return []
        case .ring(let line, let count):
            return endCallWhoseHangUpWasLost(line: line, now: now, cause: cause)
                + ring(line: line, count: count, raw: raw, now: now, ordinal: ordinal)
        case .offHook(let line):
            return offHook(line: line, raw: raw, now: now, ordinal: ordinal) ?? unexpected(
                "off-hook while line \(line) is already off-hook")
        case .dialed(let line, let digits):
            return dialed(line: line, digits: digits, now: now, ordinal: ordinal) ?? unexpected(
                "digits dialed while line \(line) is ringing and not answered")
        case .onHook(let line):
            return hangUp(line: line, dialed: nil, duration: nil, raw: raw, now: now, cause: cause)
        case .hangUp(let line, let dialed, let duration):
            var events = hangUp(line: line, dialed: dialed, duration: duration, raw: raw, now: now, cause: cause)
            if let doubt = duration.doubt {
                events.append(factory.status(state: "protocolDoubt", detail: doubt, at: now, cause: cause))
            }
            return events
        case .unparsed(let reason):
            return unexpected(reason)
        case .modemResult, .informational:
            return []
        }
    }

    private mutating func startCall(line: String, direction: Direction, phase: ActiveCall.Phase, now: Timestamp, ordinal: Int) -> ActiveCall {
        ActiveCall(
            callId: factory.callId(line: line, firstRecordAt: now, ordinal: ordinal), firstOrdinal: ordinal, line: line,
            direction: direction, phase: phase, startedAt: now, lastRingAt: now)
    }

    private mutating func callerID(line: String, number: String, raw: String, now: Timestamp, ordinal: Int) -> [CallEvent]? {
        var call = calls[line] ?? startCall(line: line, direction: .inbound, phase: .ringing, now: now, ordinal: ordinal)
        guard call.phase == .ringing else {
            call.callerIDWhileOffHook = .init(number: number, raw: raw, at: now, ordinal: ordinal)
            calls[line] = call
            return nil
        }
        call.lastRingAt = now
        let changed = call.callerRaw != number
        if call.callerRaw != nil, changed {
            calls[line] = call
            return [factory.unparsed(
                raw: raw, reason: "a second, different caller ID while line \(line) is still ringing; the first is kept",
                at: now, ordinal: ordinal)]
        }
        call.callerRaw = number
        let announce = !call.announced || changed
        call.announced = true
        calls[line] = call
        return announce ? [factory.ringing(call, at: now, raw: raw, cause: String(ordinal))] : []
    }

    /// A line only rings on-hook: a ring on a line still thought off-hook proves that the call
    /// on it ended and its hang-up record was lost (on the wire, or while no agent was reading).
    /// That call ends at the ring, the latest it can have ended, and says so. A caller ID that
    /// came just before the ring, while the line still looked off-hook, belongs to the new call.
    private mutating func endCallWhoseHangUpWasLost(line: String, now: Timestamp, cause: String) -> [CallEvent] {
        guard let call = calls[line], call.phase != .ringing else { return [] }
        var events = hangUp(line: line, dialed: nil, duration: nil, raw: "", now: now, cause: cause)
        for index in events.indices where events[index].type == .callEnded {
            events[index].detail = "the hang-up record was not seen: line \(line) rang again, which it only does "
                + "on-hook, so the call had ended by then; its end time and duration are upper bounds"
        }
        if let waiting = call.callerIDWhileOffHook, waiting.at.seconds(until: now) < ringTimeoutSeconds {
            events += callerID(line: line, number: waiting.number, raw: waiting.raw, now: waiting.at,
                               ordinal: waiting.ordinal) ?? []
        }
        return events
    }

    private mutating func ring(line: String, count: Int?, raw: String, now: Timestamp, ordinal: Int) -> [CallEvent] {
        var call = calls[line] ?? startCall(line: line, direction: .inbound, phase: .ringing, now: now, ordinal: ordinal)
        call.lastRingAt = now
        call.ringCount = max(call.ringCount + 1, count ?? 0)
        var events: [CallEvent] = []
        if !call.announced, call.ringCount >= callerIDWaitRings {
            call.announced = true
            events.append(factory.ringing(call, at: now, raw: raw, cause: String(ordinal)))
        }
        calls[line] = call
        return events
    }

    private mutating func offHook(line: String, raw: String, now: Timestamp, ordinal: Int) -> [CallEvent]? {
        guard var call = calls[line] else {
            calls[line] = startCall(line: line, direction: .outbound, phase: .dialing, now: now, ordinal: ordinal)
            return []
        }
        guard call.phase == .ringing else { return nil }
        var events: [CallEvent] = []
        if !call.announced {
            call.announced = true
            events.append(factory.ringing(call, at: now, raw: raw, cause: String(ordinal)))
        }
        call.phase = .talking
        call.answeredAt = now
        calls[line] = call
        events.append(factory.answered(call, at: now, raw: raw, cause: String(ordinal)))
        return events
    }

    private mutating func dialed(line: String, digits: String, now: Timestamp, ordinal: Int) -> [CallEvent]? {
        // Digits prove the handset is off-hook even when the off-hook record was lost.
        var call = calls[line] ?? startCall(line: line, direction: .outbound, phase: .dialing, now: now, ordinal: ordinal)
        switch call.phase {
        case .ringing: return nil
        case .dialing: call.digits += digits
        case .talking: break
        }
        calls[line] = call
        return []
    }

    private mutating func hangUp(line: String, dialed: String?, duration: SegalDuration?, raw: String, now: Timestamp, cause: String) -> [CallEvent] {
        guard var call = calls[line] else {
            // The agent started during a call: Segal's HND alone still describes an outbound call.
            guard let dialed, !dialed.isEmpty, let duration else { return [] }
            var lateCall = ActiveCall(
                callId: factory.callId(line: line, firstRecordAt: now, ordinal: Int(cause) ?? 0),
                firstOrdinal: Int(cause) ?? 0, line: line,
                direction: .outbound, phase: .dialing, startedAt: now.adding(seconds: -duration.seconds),
                lastRingAt: now)
            lateCall.reportedDialed = dialed
            return [factory.ended(lateCall, .init(
                disposition: .answered, startedAt: lateCall.startedAt, endedAt: now, durationSec: duration.seconds,
                detail: "the start of this call was not seen; its start is the hang-up time minus the box's duration"),
                raw: raw, cause: cause)]
        }
        calls[line] = nil
        call.reportedDialed = dialed
        switch call.phase {
        case .dialing:
            // Lifting the handset and putting it down without dialing is not a call.
            guard !call.dialedNumber.isEmpty else { return [] }
            let seconds = duration?.seconds ?? call.startedAt.seconds(until: now)
            let startedAt = min(call.startedAt, now.adding(seconds: -seconds))
            return [factory.ended(call, .init(
                disposition: .answered, startedAt: startedAt, endedAt: now, durationSec: seconds), raw: raw, cause: cause)]
        case .talking:
            let answeredAt = call.answeredAt ?? now
            let seconds = duration?.seconds ?? answeredAt.seconds(until: now)
            let talkStart = min(answeredAt, now.adding(seconds: -seconds))
            return [factory.ended(call, .init(
                disposition: .answered, startedAt: min(call.startedAt, talkStart), answeredAt: talkStart, endedAt: now,
                durationSec: seconds), raw: raw, cause: cause)]
        case .ringing:
            // A hang-up implies the handset was lifted, but that record was lost: a non-zero
            // box duration means the call was talked, zero means it was not.
            var events: [CallEvent] = []
            if !call.announced { events.append(factory.ringing(call, at: now, raw: raw, cause: cause)) }
            let seconds = duration?.seconds ?? 0
            let talkStart = now.adding(seconds: -seconds)
            events.append(factory.ended(call, .init(
                disposition: seconds > 0 ? .answered : .missed, startedAt: min(call.startedAt, talkStart),
                answeredAt: seconds > 0 ? talkStart : nil, endedAt: now, durationSec: seconds,
                detail: "hang-up while ringing: the off-hook record was not seen"), raw: raw, cause: cause))
            return events
        }
    }
}
