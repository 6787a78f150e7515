import TamasEvents

/// Turns SMDR call lines into calls.
///
/// An SMDR call is spread over several lines: an RC line while it rings, one line per
/// ring-group member that stopped ringing (`00:00'00`, NA), the answering extension's line at
/// hang-up, and a line per transfer leg. Lines with the same CO line and the same other party
/// whose legs overlap in time are one call; the call's id comes from its first line, so any
/// re-reading of the same lines, in any timing, yields the same callId.
struct SMDRCallTracker {
    private let factory: SMDREventFactory
    private let ignoredExtensions: Set<String>
    private let ignoreZeroDuration: Bool
    private let windowSeconds: Int
    private let toleranceSeconds: Int
    private let retentionSeconds: Int

    /// Calls live in slots and are changed in place: copying a call out of a dictionary and
    /// back cost a copy of its line and member arrays on every line.
    private var slots: [SMDRCall?] = []
    /// Held by this tracker and its copies: when it is shared, the calls in `slots` are too,
    /// and the tracker takes copies of them before changing any (see `ensureOwnCalls`).
    private var callsOwner = CallsOwner()
    private var slotByKey: [SMDRCallKey: Int] = [:]
    private var freeSlots: [Int] = []
    /// Slots of calls that may still be reported missed, oldest first; few at any moment, so a
    /// list is cheapest.
    private var pendingSlots: [Int] = []
    /// Where an extension's last incoming call is, for linking its FW (forward to CO) line.
    private var incomingByExtension: [String: SMDRCallKey] = [:]
    private var newestPrinted: Timestamp?
    private var insertionsSinceSweep = 0
    /// Sweeping again only after as many insertions as survived keeps sweeps amortized O(1).
    private var sizeAfterSweep = 0
    private static let sweepInterval = 4096
    private static let maximumCalls = 65_536
    private static let maximumPending = 256

    init(settings: SMDRSettings, factory: SMDREventFactory) {
        self.factory = factory
        ignoredExtensions = Set(settings.ignoredExtensions)
        ignoreZeroDuration = settings.ignoreZeroDuration
        windowSeconds = max(0, settings.groupWindowSeconds)
        toleranceSeconds = max(0, settings.groupToleranceSeconds)
        retentionSeconds = max(settings.linkRetentionSeconds, settings.groupWindowSeconds)
    }

    mutating func handle(_ record: SMDRRecord, raw: String, timing: SMDRLegTiming, now: Timestamp,
                         into events: inout [CallEvent]) {
        ensureOwnCalls()
        let line = SMDRLine(raw: raw, key: factory.lineKey(raw))
        let key = Self.key(for: record)
        if let trunk = Self.identifiedTrunk(record), let key {
            let trunkFreeSince = timing.begin.adding(seconds: -(59 + toleranceSeconds))
            flushPending(except: nil, into: &events) { call in
                call.key.line == trunk && call.key != key && trunkFreeSince >= call.latestEnd
            }
        }
        var touched: Int?
        switch record.kind {
        case .incoming: touched = key.flatMap { incoming(record, key: $0, line: line, timing: timing, now: now, into: &events) }
        case .outgoing: touched = key.flatMap { outgoing(record, key: $0, line: line, timing: timing, now: now, into: &events) }
        case .intercom: intercom(record, line: line, timing: timing, into: &events)
        }
        if newestPrinted.map({ timing.printed > $0 }) ?? true { newestPrinted = timing.printed }
        let window = windowSeconds
        flushPending(except: touched, into: &events) { call in
            timing.printed >= call.latestEnd.adding(seconds: 59 + window)
        }
        reportOldestPendingBeyondLimit(into: &events)
        sweepIfDue()
    }

    /// Lines with the same key and overlapping legs are one call.
    private static func key(for record: SMDRRecord) -> SMDRCallKey? {
        switch record.kind {
        case .incoming:
            SMDRCallKey(direction: .inbound, line: record.coLine ?? "", party: record.number.isEmpty ? (record.callerName ?? "") : record.number)
        case .outgoing:
            SMDRCallKey(direction: .outbound, line: record.coLine ?? "", party: record.number)
        case .intercom:
            nil
        }
    }

    /// The CO line a record names, when it names one. A trunk carries one call at a time, so a
    /// later call on the trunk of a group nobody has answered yet proves that group is over: the
    /// conversation that would still be going on if a member had answered would hold the trunk.
    /// That ends a missed group as soon as its trunk is used again, long before
    /// `groupWindowSeconds`. Some models print `00` (or nothing) for every call: no evidence then.
    private static func identifiedTrunk(_ record: SMDRRecord) -> String? {
        guard let line = record.coLine, !line.isEmpty, line.contains(where: { $0 != "0" }) else { return nil }
        return line
    }

    /// Unanswered groups are few on a real PBX; a flood of them (garbage, a PBX clock stuck in
    /// the past) must not make every line scan an ever longer list.
    private mutating func reportOldestPendingBeyondLimit(into events: inout [CallEvent]) {
        while pendingSlots.count > Self.maximumPending {
            let slot = pendingSlots[0]
            if slots[slot]?.isPendingMissed == true {
                reportMissed(slot: slot, into: &events)
            } else {
                pendingSlots.removeFirst()
            }
        }
    }

    /// Reports unanswered groups whose lines stopped arriving `groupWindowSeconds` ago.
    mutating func tick(now: Timestamp, into events: inout [CallEvent]) {
        ensureOwnCalls()
        let window = windowSeconds
        flushPending(except: nil, into: &events) { call in
            call.lastArrival.seconds(until: now) >= window
        }
    }

    /// The lines of every call whose outcome is still to come, oldest call first: what a
    /// restarted agent must read again so that the line that settles such a call lands on the
    /// same call instead of starting a new one.
    func openCallLines() -> [String] {
        slots.compactMap { $0 }.filter(\.isOpen).sorted { $0.begin < $1.begin }.flatMap(\.lines)
    }

    mutating func finish(into events: inout [CallEvent]) {
        ensureOwnCalls()
        flushPending(except: nil, into: &events) { _ in true }
    }

    private final class CallsOwner {}

    /// Calls are objects; a copied tracker (a copied decoder) must behave as a value, so the
    /// first change after a copy gives this tracker calls of its own.
    private mutating func ensureOwnCalls() {
        guard !isKnownUniquelyReferenced(&callsOwner) else { return }
        callsOwner = CallsOwner()
        slots = slots.map { $0?.copy() }
    }

    // MARK: - Incoming

    private mutating func incoming(_ record: SMDRRecord, key: SMDRCallKey, line: SMDRLine, timing: SMDRLegTiming, now: Timestamp,
                                   into events: inout [CallEvent]) -> Int? {
        let extensionNumber = record.extension
        let ignored = extensionNumber.map(ignoredExtensions.contains) ?? false
        let answers = !ignored && extensionNumber != nil && (record.durationSec ?? 0) > 0 && record.conditionCode != "NA"
        let existingSlot = slotByKey[key]
        guard let call = openCall(for: key, in: existingSlot, record: record, line: line, timing: timing, answers: answers,
                                  now: now, into: &events) else {
            return nil
        }
        call.add(line, timing: timing, now: now)
        if record.isRingingNotice {
            call.addMember(extensionNumber, ignored: ignored)
            call.awaitingEndLine = !call.answerLineSeen
            call.ringingReported = true
            events.append(factory.ringing(call, cause: .line(key: line.key)))
        } else if record.isAnswerNotice {
            call.awaitingEndLine = !call.answerLineSeen
            if !ignored, let extensionNumber {
                call.addMember(extensionNumber, ignored: false)
                call.answeredBy = extensionNumber
                call.answeredAt = timing.answeredAt
                call.ringSec = record.ringSec
                events.append(factory.answered(call, cause: .line(key: line.key)))
            }
        } else {
            call.awaitingEndLine = false
            if !answers, let ring = record.ringSec, !call.answerLineSeen { call.ringSec = max(call.ringSec ?? 0, ring) }
            call.addMember(extensionNumber, ignored: ignored)
            if answers, let extensionNumber {
                answer(call, by: extensionNumber, record: record, timing: timing)
                incomingByExtension[extensionNumber] = key
                if !call.ringingReported {
                    call.ringingReported = true
                    events.append(factory.ringing(call, cause: .line(key: line.key)))
                }
                call.endReported = true
                events.append(factory.ended(call, disposition: .answered, cause: .line(key: line.key)))
            }
        }
        return store(call, in: existingSlot)
    }

    private func answer(_ call: SMDRCall, by extensionNumber: String, record: SMDRRecord, timing: SMDRLegTiming) {
        let duration = record.durationSec ?? 0
        if call.answerLineSeen {
            call.transferredTo = extensionNumber
            call.durationSec += duration
        } else {
            call.answerLineSeen = true
            call.answeredBy = extensionNumber
            call.answeredAt = min(call.answeredAt ?? timing.answeredAt, timing.answeredAt)
            call.durationSec = duration
            call.ringSec = record.ringSec ?? call.ringSec
        }
    }

    /// The call in the key's slot when this line continues it, or a new one. `nil` for an
    /// exact repeat of a line the call already has (a PBX resend): its events were already
    /// produced.
    private mutating func openCall(for key: SMDRCallKey, in existingSlot: Int?, record: SMDRRecord, line: SMDRLine,
                                   timing: SMDRLegTiming, answers: Bool, now: Timestamp,
                                   into events: inout [CallEvent]) -> SMDRCall? {
        if let slot = existingSlot, let resent = slots[slot]?.hasLine(line.raw) {
            if resent { return nil }
            let joins = answers ? slots[slot]?.accepts(timing, toleranceSeconds: toleranceSeconds)
                : slots[slot]?.acceptsRingingLeg(timing, toleranceSeconds: toleranceSeconds)
            if joins == true, let call = slots[slot] { return call }
            if slots[slot]?.isPendingMissed == true { reportMissed(slot: slot, into: &events) }
        }
        return newCall(key: key, record: record, line: line, timing: timing, now: now)
    }

    private func newCall(key: SMDRCallKey, record: SMDRRecord, line: SMDRLine, timing: SMDRLegTiming,
                         now: Timestamp) -> SMDRCall {
        SMDRCall(firstLine: line, key: key, record: record,
                 partyNormalized: factory.normalizedParty(record.number, direction: key.direction), timing: timing, now: now)
    }

    /// Puts the call in its key's slot and returns the slot. The caller has looked the key up
    /// already and passes what it found, nil for a new key, which gets a slot here.
    @discardableResult
    private mutating func store(_ call: SMDRCall, in existingSlot: Int?) -> Int {
        let isPending = call.isPendingMissed && call.key.direction == .inbound
        let slot: Int
        if let existingSlot {
            slot = existingSlot
        } else {
            insertionsSinceSweep += 1
            slot = freeSlots.popLast() ?? slots.count
            slotByKey[call.key] = slot
            if slot == slots.count { slots.append(nil) }
        }
        slots[slot] = call
        if let index = pendingSlots.firstIndex(of: slot) {
            if !isPending { pendingSlots.remove(at: index) }
        } else if isPending {
            pendingSlots.append(slot)
        }
        return slot
    }

    private mutating func reportMissed(slot: Int, into events: inout [CallEvent]) {
        guard let reported = slots[slot] else { return }
        let cause = SMDREventFactory.Cause.missed(lastLineKey: reported.lastLineKey)
        if !reported.ringingReported {
            reported.ringingReported = true
            events.append(factory.ringing(reported, cause: cause))
        }
        reported.endReported = true
        events.append(factory.ended(reported, disposition: .missed, cause: cause))
        pendingSlots.removeAll { $0 == slot }
    }

    private mutating func flushPending(except touched: Int?, into events: inout [CallEvent],
                                       when isDue: (SMDRCall) -> Bool) {
        guard !pendingSlots.isEmpty else { return }
        for slot in pendingSlots where slot != touched {
            guard let call = slots[slot], call.isPendingMissed else { continue }
            if isDue(call) { reportMissed(slot: slot, into: &events) }
        }
    }

    // MARK: - Outgoing and intercom

    private mutating func outgoing(_ record: SMDRRecord, key: SMDRCallKey, line: SMDRLine, timing: SMDRLegTiming, now: Timestamp,
                                   into events: inout [CallEvent]) -> Int? {
        let duration = record.durationSec ?? 0
        if ignoreZeroDuration, record.durationSec == 0 { return nil }
        if record.conditionCode == "FW", linkForward(record, line: line, timing: timing, now: now, into: &events) {
            return nil
        }
        let existingSlot = slotByKey[key]
        if record.dialTransferred, let existingSlot,
           slots[existingSlot]?.accepts(timing, toleranceSeconds: toleranceSeconds) == true {
            if slots[existingSlot]?.hasLine(line.raw) == true { return nil }
            guard let call = slots[existingSlot] else { return nil }
            call.add(line, timing: timing, now: now)
            call.transferredTo = record.extension
            call.durationSec += duration
            events.append(factory.ended(call, disposition: call.durationSec > 0 ? .answered : .noAnswer, cause: .line(key: line.key)))
            return store(call, in: existingSlot)
        }
        if let existingSlot, slots[existingSlot]?.hasLine(line.raw) == true { return nil }
        let call = newCall(key: key, record: record, line: line, timing: timing, now: now)
        call.add(line, timing: timing, now: now)
        call.placedBy = record.extension
        call.durationSec = duration
        call.ringSec = record.ringSec
        call.answeredAt = duration > 0 ? timing.answeredAt : nil
        call.endReported = true
        events.append(factory.ended(call, disposition: duration > 0 ? .answered : .noAnswer, cause: .line(key: line.key)))
        return store(call, in: existingSlot)
    }

    /// FW: a CO-to-CO forward prints the incoming leg and then this outgoing leg with the same
    /// extension; it is the incoming call's continuation, not a call of its own.
    private mutating func linkForward(_ record: SMDRRecord, line: SMDRLine, timing: SMDRLegTiming, now: Timestamp,
                                      into events: inout [CallEvent]) -> Bool {
        guard let extensionNumber = record.extension, let key = incomingByExtension[extensionNumber],
              let slot = slotByKey[key], slots[slot]?.accepts(timing, toleranceSeconds: toleranceSeconds) == true
        else { return false }
        if slots[slot]?.hasLine(line.raw) == true { return true }
        guard let call = slots[slot] else { return false }
        call.add(line, timing: timing, now: now)
        call.transferredTo = factory.numberPlan.normalize(record.number, direction: .outbound) ?? record.number
        events.append(factory.ended(call, disposition: call.answerLineSeen ? .answered : .missed, cause: .line(key: line.key)))
        store(call, in: slot)
        return true
    }

    private func intercom(_ record: SMDRRecord, line: SMDRLine, timing: SMDRLegTiming, into events: inout [CallEvent]) {
        let duration = record.durationSec ?? 0
        if ignoreZeroDuration, record.durationSec == 0 { return }
        let key = SMDRCallKey(direction: .internal, line: "", party: record.number)
        let call = newCall(key: key, record: record, line: line, timing: timing, now: timing.printed)
        call.add(line, timing: timing, now: timing.printed)
        call.placedBy = record.extension
        call.addMember(record.extension, ignored: false)
        call.addMember(record.number, ignored: false)
        call.durationSec = duration
        call.answeredAt = duration > 0 ? timing.answeredAt : nil
        var event = factory.ended(call, disposition: record.durationSec == 0 ? .noAnswer : .answered, cause: .line(key: line.key))
        if record.durationSec == nil {
            event.detail = "intercom line without a duration: reported as answered, length unknown"
            event.answeredAt = nil
        }
        events.append(event)
    }

    // MARK: - Memory bound

    /// Ended calls are kept `linkRetentionSeconds` of PBX time for late legs, then dropped.
    private mutating func sweepIfDue() {
        guard insertionsSinceSweep >= max(Self.sweepInterval, sizeAfterSweep), let newestPrinted else { return }
        insertionsSinceSweep = 0
        let horizon = newestPrinted.adding(seconds: -retentionSeconds)
        let overfull = slotByKey.count > Self.maximumCalls
        for slot in slots.indices {
            guard let call = slots[slot], !call.isPendingMissed, overfull || call.latestEnd < horizon else { continue }
            slots[slot] = nil
            slotByKey.removeValue(forKey: call.key)
            freeSlots.append(slot)
        }
        let orphaned = incomingByExtension.compactMap { slotByKey[$0.value] == nil ? $0.key : nil }
        for extensionNumber in orphaned { incomingByExtension.removeValue(forKey: extensionNumber) }
        sizeAfterSweep = slotByKey.count
    }
}
