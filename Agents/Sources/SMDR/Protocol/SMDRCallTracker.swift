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

    /// Calls live in slots and are changed there, in place (`slots[slot].add(...)`): copying a
    /// call out and back would copy its strings and arrays on every line. A copied tracker
    /// shares the array until either side changes it.
    private var slots: [SMDRCall] = []
    private var index = SMDRCallIndex()
    private var freeSlots: [Int] = []
    /// Slots of calls that may still be reported missed, oldest first; few at any moment, so a
    /// list is cheapest.
    private var pendingSlots: [Int] = []
    /// Where an extension's last incoming call is, for linking its FW (forward to CO) line.
    private var incomingByExtension: [String: SMDRCallKey] = [:]
    private var newestPrinted: Timestamp?
    private var insertionsSinceSweep = 0
    /// When `tick` last looked for calls whose end line is overdue: once a minute is enough.
    private var lastOverdueScan: Timestamp?
    /// Sweeping again only after as many insertions as survived keeps sweeps amortized O(1).
    private var sizeAfterSweep = 0
    /// Small enough that the calls dropped between two sweeps are still in the cache when the
    /// sweep frees them (every 4,096 calls made the whole decoder about 10 % slower). Calls
    /// within `retentionSeconds` are kept whatever the interval.
    private static let sweepInterval = 512
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
        sweepIfDue(into: &events)
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
        guard let line = record.coLine, line.utf8.contains(where: { $0 != UInt8(ascii: "0") }) else { return nil }
        return line
    }

    /// Unanswered groups are few on a real PBX; a flood of them (garbage, a PBX clock stuck in
    /// the past) must not make every line scan an ever longer list.
    private mutating func reportOldestPendingBeyondLimit(into events: inout [CallEvent]) {
        while pendingSlots.count > Self.maximumPending {
            let slot = pendingSlots[0]
            if slots[slot].isPendingMissed {
                reportMissed(slot: slot, into: &events)
            } else {
                pendingSlots.removeFirst()
            }
        }
    }

    /// Reports unanswered groups whose lines stopped arriving `groupWindowSeconds` ago, and
    /// closes calls whose end line is overdue by the agent's clock (see `closeWithoutEndLine`).
    mutating func tick(now: Timestamp, into events: inout [CallEvent]) {
        let window = windowSeconds
        flushPending(except: nil, into: &events) { call in
            call.lastArrival.seconds(until: now) >= window
        }
        guard lastOverdueScan.map({ $0.seconds(until: now) >= 60 }) ?? true else { return }
        lastOverdueScan = now
        let retention = retentionSeconds
        let overdue = slots.withUnsafeBufferPointer { calls in
            calls.indices.filter { calls[$0].awaitingEndLine && !calls[$0].endReported
                && calls[$0].lastArrival.seconds(until: now) >= retention }
        }
        for slot in overdue { closeWithoutEndLine(slot: slot, into: &events) }
    }

    /// An RC or AN line whose end line never came (lost on the wire, or printed while nobody
    /// was reading) would leave the call ringing or talking for ever in every CRM's live view.
    /// After `linkRetentionSeconds` without it, the call is closed the way the Asterisk agent
    /// closes a call whose Hangup never came: `answered` if an answer was printed, else
    /// `missed`, ending at its last line, and `detail` says so.
    private mutating func closeWithoutEndLine(slot: Int, into events: inout [CallEvent]) {
        guard slots[slot].awaitingEndLine, !slots[slot].endReported else { return }
        let cause = SMDREventFactory.Cause.noEndLine(lastLineKey: slots[slot].lastLineKey)
        if !slots[slot].ringingReported {
            slots[slot].ringingReported = true
            events.append(slots[slot].ringingEvent(factory, cause: cause))
        }
        slots[slot].awaitingEndLine = false
        slots[slot].endReported = true
        let answered = slots[slot].answeredBy != nil
        var event = slots[slot].endedEvent(factory, disposition: answered ? .answered : .missed, cause: cause)
        let after = retentionSeconds % 3600 == 0 ? "\(retentionSeconds / 3600) h" : "\(retentionSeconds / 60) min"
        let note = "no end line seen: closed \(after) after its last line without one; endedAt is its last line"
            + (answered ? ", the length of the conversation is unknown" : "")
        event.detail = [event.detail, note].compactMap { $0 }.joined(separator: "; ")
        events.append(event)
    }

    /// The lines of every call whose outcome is still to come, oldest call first: what a
    /// restarted agent must read again so that the line that settles such a call lands on the
    /// same call instead of starting a new one.
    func openCallLines() -> [String] {
        slots.filter(\.isOpen).sorted { $0.begin < $1.begin }.flatMap(\.lines)
    }

    mutating func finish(into events: inout [CallEvent]) {
        flushPending(except: nil, into: &events) { _ in true }
    }

    // MARK: - Incoming

    private mutating func incoming(_ record: SMDRRecord, key: SMDRCallKey, line: SMDRLine, timing: SMDRLegTiming, now: Timestamp,
                                   into events: inout [CallEvent]) -> Int? {
        let extensionNumber = record.extension
        let ignored = extensionNumber.map(ignoredExtensions.contains) ?? false
        let answers = !ignored && extensionNumber != nil && (record.durationSec ?? 0) > 0 && record.conditionCode != "NA"
        let existingSlot = index.slot(of: key, in: slots)
        guard let slot = openCall(for: key, in: existingSlot, record: record, line: line, timing: timing, answers: answers,
                                  now: now, into: &events) else {
            return nil
        }
        slots[slot].add(line, timing: timing, now: now)
        if record.isRingingNotice {
            slots[slot].addMember(extensionNumber, ignored: ignored)
            slots[slot].awaitingEndLine = !slots[slot].answerLineSeen
            slots[slot].ringingReported = true
            events.append(slots[slot].ringingEvent(factory, cause: .line(key: line.key)))
        } else if record.isAnswerNotice {
            slots[slot].awaitingEndLine = !slots[slot].answerLineSeen
            if !ignored, let extensionNumber {
                slots[slot].addMember(extensionNumber, ignored: false)
                slots[slot].answeredBy = extensionNumber
                slots[slot].answeredAt = timing.answeredAt
                slots[slot].ringSec = record.ringSec
                events.append(slots[slot].answeredEvent(factory, cause: .line(key: line.key)))
            }
        } else {
            slots[slot].awaitingEndLine = false
            if !answers, let ring = record.ringSec, !slots[slot].answerLineSeen {
                slots[slot].ringSec = max(slots[slot].ringSec ?? 0, ring)
            }
            slots[slot].addMember(extensionNumber, ignored: ignored)
            if answers, let extensionNumber {
                slots[slot].answer(by: extensionNumber, record: record, timing: timing)
                incomingByExtension[extensionNumber] = key
                if !slots[slot].ringingReported {
                    slots[slot].ringingReported = true
                    events.append(slots[slot].ringingEvent(factory, cause: .line(key: line.key)))
                }
                slots[slot].endReported = true
                events.append(slots[slot].endedEvent(factory, disposition: .answered, cause: .line(key: line.key)))
            }
        }
        updatePending(slot)
        return slot
    }

    /// The slot of the call this line continues, or of a new call put in the key's slot (or a
    /// free one for a new key). `nil` for an exact repeat of a line the call already has (a
    /// PBX resend): its events were already produced.
    private mutating func openCall(for key: SMDRCallKey, in existingSlot: Int?, record: SMDRRecord, line: SMDRLine,
                                   timing: SMDRLegTiming, answers: Bool, now: Timestamp,
                                   into events: inout [CallEvent]) -> Int? {
        if let slot = existingSlot {
            if slots[slot].hasLine(line.raw) { return nil }
            let joins = answers ? slots[slot].accepts(timing, toleranceSeconds: toleranceSeconds)
                : slots[slot].acceptsRingingLeg(timing, toleranceSeconds: toleranceSeconds)
            if joins { return slot }
            if slots[slot].isPendingMissed { reportMissed(slot: slot, into: &events) }
        }
        return newCall(key: key, record: record, line: line, timing: timing, now: now, in: existingSlot)
    }

    private func makeCall(key: SMDRCallKey, record: SMDRRecord, line: SMDRLine, timing: SMDRLegTiming,
                          now: Timestamp) -> SMDRCall {
        SMDRCall(firstLine: line, key: key, record: record,
                 partyNormalized: factory.normalizedParty(record.number, direction: key.direction), timing: timing, now: now)
    }

    /// Puts a new call in its key's slot, replacing the call there, and returns the slot. The
    /// caller has looked the key up already and passes what it found, nil for a new key, which
    /// gets a free slot here.
    private mutating func newCall(key: SMDRCallKey, record: SMDRRecord, line: SMDRLine, timing: SMDRLegTiming,
                                  now: Timestamp, in existingSlot: Int?) -> Int {
        let slot: Int
        if let reused = existingSlot ?? freeSlots.popLast() {
            slot = reused
            slots[slot].restart(firstLine: line, key: key, record: record,
                                partyNormalized: factory.normalizedParty(record.number, direction: key.direction),
                                timing: timing, now: now)
        } else {
            slot = slots.count
            slots.append(makeCall(key: key, record: record, line: line, timing: timing, now: now))
        }
        if existingSlot == nil {
            insertionsSinceSweep += 1
            index.insert(slot: slot, in: slots)
        }
        return slot
    }

    /// Keeps `pendingSlots` in step with the call in `slot` after a line changed it.
    private mutating func updatePending(_ slot: Int) {
        let isPending = slots[slot].isPendingMissed && slots[slot].key.direction == .inbound
        if let position = pendingSlots.firstIndex(of: slot) {
            if !isPending { pendingSlots.remove(at: position) }
        } else if isPending {
            pendingSlots.append(slot)
        }
    }

    private mutating func reportMissed(slot: Int, into events: inout [CallEvent]) {
        guard !slots[slot].isVacant else { return }
        let cause = SMDREventFactory.Cause.missed(lastLineKey: slots[slot].lastLineKey)
        if !slots[slot].ringingReported {
            slots[slot].ringingReported = true
            events.append(slots[slot].ringingEvent(factory, cause: cause))
        }
        slots[slot].endReported = true
        events.append(slots[slot].endedEvent(factory, disposition: .missed, cause: cause))
        pendingSlots.removeAll { $0 == slot }
    }

    private mutating func flushPending(except touched: Int?, into events: inout [CallEvent],
                                       when isDue: (SMDRCall) -> Bool) {
        guard !pendingSlots.isEmpty else { return }
        for slot in pendingSlots where slot != touched {
            guard slots[slot].isPendingMissed else { continue }
            if slots[slot].satisfies(isDue) { reportMissed(slot: slot, into: &events) }
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
        let existingSlot = index.slot(of: key, in: slots)
        if record.dialTransferred, let slot = existingSlot, slots[slot].accepts(timing, toleranceSeconds: toleranceSeconds) {
            if slots[slot].hasLine(line.raw) { return nil }
            slots[slot].add(line, timing: timing, now: now)
            slots[slot].transferredTo = record.extension
            slots[slot].durationSec += duration
            let disposition: Disposition = slots[slot].durationSec > 0 ? .answered : .noAnswer
            events.append(slots[slot].endedEvent(factory, disposition: disposition, cause: .line(key: line.key)))
            updatePending(slot)
            return slot
        }
        if let existingSlot, slots[existingSlot].hasLine(line.raw) { return nil }
        let slot = newCall(key: key, record: record, line: line, timing: timing, now: now, in: existingSlot)
        slots[slot].add(line, timing: timing, now: now)
        slots[slot].placedBy = record.extension
        slots[slot].durationSec = duration
        slots[slot].ringSec = record.ringSec
        slots[slot].answeredAt = duration > 0 ? timing.answeredAt : nil
        slots[slot].endReported = true
        let disposition: Disposition = duration > 0 ? .answered : .noAnswer
        events.append(slots[slot].endedEvent(factory, disposition: disposition, cause: .line(key: line.key)))
        updatePending(slot)
        return slot
    }

    /// FW: a CO-to-CO forward prints the incoming leg and then this outgoing leg with the same
    /// extension; it is the incoming call's continuation, not a call of its own.
    private mutating func linkForward(_ record: SMDRRecord, line: SMDRLine, timing: SMDRLegTiming, now: Timestamp,
                                      into events: inout [CallEvent]) -> Bool {
        guard let extensionNumber = record.extension, let key = incomingByExtension[extensionNumber],
              let slot = index.slot(of: key, in: slots), slots[slot].accepts(timing, toleranceSeconds: toleranceSeconds)
        else { return false }
        if slots[slot].hasLine(line.raw) { return true }
        slots[slot].add(line, timing: timing, now: now)
        slots[slot].transferredTo = factory.numberPlan.normalize(record.number, direction: .outbound) ?? record.number
        let disposition: Disposition = slots[slot].answerLineSeen ? .answered : .missed
        events.append(slots[slot].endedEvent(factory, disposition: disposition, cause: .line(key: line.key)))
        updatePending(slot)
        return true
    }

    private func intercom(_ record: SMDRRecord, line: SMDRLine, timing: SMDRLegTiming, into events: inout [CallEvent]) {
        let duration = record.durationSec ?? 0
        if ignoreZeroDuration, record.durationSec == 0 { return }
        let key = SMDRCallKey(direction: .internal, line: "", party: record.number)
        var call = makeCall(key: key, record: record, line: line, timing: timing, now: timing.printed)
        call.add(line, timing: timing, now: timing.printed)
        call.placedBy = record.extension
        call.addMember(record.extension, ignored: false)
        call.addMember(record.number, ignored: false)
        call.durationSec = duration
        call.answeredAt = duration > 0 ? timing.answeredAt : nil
        var event = call.endedEvent(factory, disposition: record.durationSec == 0 ? .noAnswer : .answered,
                                    cause: .line(key: line.key))
        if record.durationSec == nil {
            event.detail = "intercom line without a duration: reported as answered, length unknown"
            event.answeredAt = nil
        }
        events.append(event)
    }

    // MARK: - Memory bound

    /// Ended calls are kept `linkRetentionSeconds` of PBX time for late legs, then dropped.
    private mutating func sweepIfDue(into events: inout [CallEvent]) {
        guard insertionsSinceSweep >= max(Self.sweepInterval, sizeAfterSweep), let newestPrinted else { return }
        insertionsSinceSweep = 0
        let horizon = newestPrinted.adding(seconds: -retentionSeconds)
        let overfull = index.count > Self.maximumCalls
        // Read through the buffer: `slots[slot].latestEnd` would copy each whole call first.
        let due = slots.withUnsafeBufferPointer { calls in
            calls.indices.filter { slot in
                !calls[slot].isVacant && !calls[slot].isPendingMissed && (overfull || calls[slot].latestEnd < horizon)
            }
        }
        for slot in due {
            closeWithoutEndLine(slot: slot, into: &events)
            slots[slot] = .vacant
        }
        freeSlots.append(contentsOf: due)
        if !due.isEmpty { index.rebuild(from: slots) }
        let orphaned = incomingByExtension.compactMap { index.slot(of: $0.value, in: slots) == nil ? $0.key : nil }
        for extensionNumber in orphaned { incomingByExtension.removeValue(forKey: extensionNumber) }
        sizeAfterSweep = index.count
    }
}
