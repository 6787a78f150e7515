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
struct SMDRCallKey: Hashable {
    var direction: Direction
    var line: String
    var party: String
}

/// A call being assembled from its lines, kept after it is reported so that a late answer
/// or a transfer leg still lands on the same callId.
///
/// An object changed in place: as a struct of some 400 bytes it was moved out of its slot and
/// back for every line, which was a tenth of the decoder's time. `SMDRCallTracker` keeps its
/// value semantics by giving a copied tracker its own calls (`copy()`) before it changes one.
final class SMDRCall {
    let callId: String
    let key: SMDRCallKey
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

    init(firstLine: SMDRLine, key: SMDRCallKey, record: SMDRRecord, partyNormalized: String?, timing: SMDRLegTiming,
         now: Timestamp) {
        callId = firstLine.key.id
        lastLineKey = firstLine.key
        self.key = key
        partyRaw = record.number
        self.partyNormalized = partyNormalized
        callerName = record.callerName
        ddi = record.ddi
        begin = timing.begin
        latestEnd = timing.end
        lastArrival = now
    }

    /// Every stored property, so that the copy is the same call.
    private init(copying call: SMDRCall) {
        callId = call.callId
        key = call.key
        firstLine = call.firstLine
        laterLines = call.laterLines
        lineCount = call.lineCount
        text = call.text
        lastLineKey = call.lastLineKey
        partyRaw = call.partyRaw
        partyNormalized = call.partyNormalized
        callerName = call.callerName
        ddi = call.ddi
        placedBy = call.placedBy
        members = call.members
        ignoredMembers = call.ignoredMembers
        answeredBy = call.answeredBy
        answerLineSeen = call.answerLineSeen
        transferredTo = call.transferredTo
        begin = call.begin
        latestEnd = call.latestEnd
        answeredAt = call.answeredAt
        ringSec = call.ringSec
        durationSec = call.durationSec
        ringingReported = call.ringingReported
        endReported = call.endReported
        awaitingEndLine = call.awaitingEndLine
        lastArrival = call.lastArrival
    }

    func copy() -> SMDRCall { SMDRCall(copying: self) }

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

    func add(_ line: SMDRLine, timing: SMDRLegTiming, now: Timestamp) {
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

    func addMember(_ extensionNumber: String?, ignored: Bool) {
        guard let extensionNumber, !extensionNumber.isEmpty else { return }
        if ignored {
            if !ignoredMembers.contains(extensionNumber) { ignoredMembers.append(extensionNumber) }
        } else if !members.contains(extensionNumber) {
            members.append(extensionNumber)
        }
    }

    /// Unanswered, its ringing over, nothing more announced: missed unless an answer follows.
    var isPendingMissed: Bool { !endReported && !answerLineSeen && !awaitingEndLine }

    /// Still waiting for a line that decides its outcome: a group nobody answered yet, or an RC
    /// or AN line whose end line has not come.
    var isOpen: Bool { !endReported && (isPendingMissed || awaitingEndLine) }

    var lines: [String] { lineCount == 0 ? [] : [firstLine] + laterLines }

    func hasLine(_ raw: String) -> Bool { lineCount > 0 && (firstLine == raw || laterLines.contains(raw)) }
}
