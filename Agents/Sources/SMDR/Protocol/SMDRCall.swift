import TamasEvents

/// When one line's leg began and ended, from the printed minute and the model's rule.
struct SMDRLegTiming {
    var begin: Timestamp
    var answeredAt: Timestamp
    var end: Timestamp
    /// The printed minute itself, which is what PBX-time windows are measured from.
    var printed: Timestamp

    init(printed: Timestamp, record: SMDRRecord, printedTime: SMDRPrintedTime) {
        let ring = record.ringSec ?? 0
        let duration = record.durationSec ?? 0
        self.printed = printed
        switch printedTime {
        case .end:
            end = printed
            answeredAt = printed.adding(seconds: -duration)
            begin = answeredAt.adding(seconds: -ring)
        case .start:
            begin = printed
            answeredAt = printed.adding(seconds: ring)
            end = answeredAt.adding(seconds: duration)
        }
    }
}

/// A line and its hash, computed once: the line's events' ids and, for a first line, the callId.
/// The hash stays a number; only a call's first line has its key written out, as the callId.
struct SMDRLine {
    var raw: String
    var key: StableID.Digest
}

/// Which lines can be one call: the same direction, CO line and other party.
struct SMDRCallKey: Equatable {
    var direction: Direction
    var line: String
    var party: String
    /// Computed once per line for `SMDRCallIndex`: a Dictionary would hash the key again, with
    /// a freshly seeded SipHash, on every look-up, insert and removal.
    let hash: UInt64

    init(direction: Direction, line: String, party: String) {
        self.direction = direction
        self.line = line
        self.party = party
        hash = Self.hash(direction: direction, line: line, party: party)
    }

    static func == (lhs: SMDRCallKey, rhs: SMDRCallKey) -> Bool {
        lhs.hash == rhs.hash && lhs.direction == rhs.direction && lhs.line == rhs.line && lhs.party == rhs.party
    }

    /// FNV-1a over the fields (64 bits: only this process uses it), then a final mix so that the
    /// low bits the index probes with depend on every byte.
    private static func hash(direction: Direction, line: String, party: String) -> UInt64 {
        let prime: UInt64 = 0x100_0000_01B3
        var value: UInt64 = 0xCBF2_9CE4_8422_2325
        switch direction {
        case .inbound: value = (value ^ 1) &* prime
        case .outbound: value = (value ^ 2) &* prime
        case .internal: value = (value ^ 3) &* prime
        }
        for byte in line.utf8 { value = (value ^ UInt64(byte)) &* prime }
        value = (value ^ 0xFF) &* prime
        for byte in party.utf8 { value = (value ^ UInt64(byte)) &* prime }
        value ^= value >> 33
        value &*= 0xFF51_AFD7_ED55_8CCD
        value ^= value >> 33
        return value
    }
}

/// A call being assembled from its lines, kept after it is reported so that a late answer
/// or a transfer leg still lands on the same callId.
///
/// A value, kept and changed in place in the tracker's slot array: as an object, every call
/// cost an allocation of some 400 bytes, and the sweep that drops the calls kept for late lines
/// freed each of them cold in cache.
struct SMDRCall {
    /// The first line's key; written out as text only by the event encoder.
    private(set) var callId: StableID.Digest
    private(set) var key: SMDRCallKey
    /// Most calls have one line: it is kept apart so that they need no array.
    private(set) var firstLine = ""
    private(set) var laterLines: [String] = []
    private(set) var lineCount = 0
    /// The lines joined by newlines, what the call's events carry as `raw`: kept up to date
    /// rather than joined for every event.
    private(set) var text = ""
    var lastLineKey: StableID.Digest
    var partyRaw: String
    var partyNormalized: String?
    var callerName: String?
    var ddi: String?
    var placedBy: String?
    var members: [String] = []
    var ignoredMembers: [String] = []
    var answeredBy: String?
    var answerLineSeen = false
    var transferredTo: String?
    var begin: Timestamp
    var latestEnd: Timestamp
    var answeredAt: Timestamp?
    var ringSec: Int?
    var durationSec = 0
    var ringingReported = false
    var endReported = false
    /// An RC/AN line was seen and no line with a duration yet: the outcome is still to come.
    var awaitingEndLine = false
    var lastArrival: Timestamp
    private(set) var isVacant = false

    /// What a slot holds once its call is dropped: nothing retained, never open or pending.
    static let vacant = SMDRCall()

    private init() {
        callId = StableID.Digest(high: 0, low: 0)
        key = SMDRCallKey(direction: .internal, line: "", party: "")
        lastLineKey = StableID.Digest(high: 0, low: 0)
        partyRaw = ""
        begin = Timestamp(epochMillis: 0)
        latestEnd = begin
        lastArrival = begin
        endReported = true
        isVacant = true
    }

    init(firstLine: SMDRLine, key: SMDRCallKey, record: SMDRRecord, partyNormalized: String?, timing: SMDRLegTiming,
         now: Timestamp) {
        self = .vacant
        restart(firstLine: firstLine, key: key, record: record, partyNormalized: partyNormalized, timing: timing, now: now)
    }

    /// Makes the call in this slot a new one, every field set here (a new call is a vacant one
    /// restarted, so the two cannot drift apart). A reused slot is restarted in place: assigning
    /// a new call to it built the call aside first and then copied all 357 bytes of it in.
    mutating func restart(firstLine line: SMDRLine, key: SMDRCallKey, record: SMDRRecord, partyNormalized: String?,
                          timing: SMDRLegTiming, now: Timestamp) {
        callId = line.key
        self.key = key
        firstLine = ""
        laterLines = []
        lineCount = 0
        text = ""
        lastLineKey = line.key
        partyRaw = record.number
        self.partyNormalized = partyNormalized
        callerName = record.callerName
        ddi = record.ddi
        placedBy = nil
        members = []
        ignoredMembers = []
        answeredBy = nil
        answerLineSeen = false
        transferredTo = nil
        begin = timing.begin
        latestEnd = timing.end
        answeredAt = nil
        ringSec = nil
        durationSec = 0
        ringingReported = false
        endReported = false
        awaitingEndLine = false
        lastArrival = now
        isVacant = false
    }

    /// A line continues this call when its leg overlaps the call's span, give or take the
    /// unprinted seconds of the minute (59 s) and the configured tolerance.
    func accepts(_ timing: SMDRLegTiming, toleranceSeconds: Int) -> Bool {
        let slack = 59 + toleranceSeconds
        return timing.begin <= latestEnd.adding(seconds: slack) && timing.end.adding(seconds: slack) >= begin
    }

    /// A line from an extension that did not answer says when its ringing stopped; after an
    /// answer nothing rings any more, so it can only belong here if it stopped by the answer.
    func acceptsRingingLeg(_ timing: SMDRLegTiming, toleranceSeconds: Int) -> Bool {
        guard accepts(timing, toleranceSeconds: toleranceSeconds) else { return false }
        guard answerLineSeen, let answeredAt else { return true }
        return timing.end <= answeredAt.adding(seconds: 59 + toleranceSeconds)
    }

    mutating func add(_ line: SMDRLine, timing: SMDRLegTiming, now: Timestamp) {
        if lineCount == 0 {
            firstLine = line.raw
            text = line.raw
        } else {
            laterLines.append(line.raw)
            text.reserveCapacity(text.utf8.count + 1 + line.raw.utf8.count)
            text.append("\n")
            text.append(line.raw)
        }
        lineCount += 1
        lastLineKey = line.key
        begin = min(begin, timing.begin)
        latestEnd = max(latestEnd, timing.end)
        lastArrival = now
    }

    /// A line with a duration from an extension: the answer, or after it a transfer leg.
    mutating func answer(by extensionNumber: String, record: SMDRRecord, timing: SMDRLegTiming) {
        let duration = record.durationSec ?? 0
        if answerLineSeen {
            transferredTo = extensionNumber
            durationSec += duration
        } else {
            answerLineSeen = true
            answeredBy = extensionNumber
            answeredAt = min(answeredAt ?? timing.answeredAt, timing.answeredAt)
            durationSec = duration
            ringSec = record.ringSec ?? ringSec
        }
    }

    mutating func addMember(_ extensionNumber: String?, ignored: Bool) {
        guard let extensionNumber, !extensionNumber.isEmpty else { return }
        if ignored {
            if !ignoredMembers.contains(extensionNumber) { ignoredMembers.append(extensionNumber) }
        } else if !members.contains(extensionNumber) {
            members.append(extensionNumber)
        }
    }

    /// `condition(self)`, `mutating` so that `self` is the slot itself rather than a copy of the
    /// call (see the event builders in SMDREventFactory.swift).
    mutating func satisfies(_ condition: (SMDRCall) -> Bool) -> Bool { condition(self) }

    /// Unanswered, its ringing over, nothing more announced: missed unless an answer follows.
    var isPendingMissed: Bool { !endReported && !answerLineSeen && !awaitingEndLine }

    /// Still waiting for a line that decides its outcome: a group nobody answered yet, or an RC
    /// or AN line whose end line has not come.
    var isOpen: Bool { !endReported && (isPendingMissed || awaitingEndLine) }

    var lines: [String] { lineCount == 0 ? [] : [firstLine] + laterLines }

    /// Inlined so that `slots[slot].hasLine(...)` reads the call where it lies: called out of
    /// line, it was handed a 357-byte copy of the call from the array on every line.
    @inline(__always)
    func hasLine(_ raw: String) -> Bool { lineCount > 0 && (firstLine == raw || laterLines.contains(raw)) }
}
