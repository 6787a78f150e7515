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
struct SMDRLine {
    var raw: String
    var key: String
}

/// Which lines can be one call: the same direction, CO line and other party.
struct SMDRCallKey: Hashable {
    var direction: Direction
    var line: String
    var party: String
}

/// A call being assembled from its lines, kept after it is reported so that a late answer
/// or a transfer leg still lands on the same callId.
struct SMDRCall {
    let callId: String
    let key: SMDRCallKey
    var lines: [String] = []
    var lastLineKey = ""
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

    init(callId: String, key: SMDRCallKey, record: SMDRRecord, partyNormalized: String?, timing: SMDRLegTiming,
         now: Timestamp) {
        self.callId = callId
        self.key = key
        partyRaw = record.number
        self.partyNormalized = partyNormalized
        callerName = record.callerName
        ddi = record.ddi
        begin = timing.begin
        latestEnd = timing.end
        lastArrival = now
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
        lines.append(line.raw)
        lastLineKey = line.key
        begin = min(begin, timing.begin)
        latestEnd = max(latestEnd, timing.end)
        lastArrival = now
    }

    mutating func addMember(_ extensionNumber: String?, ignored: Bool) {
        guard let extensionNumber, !extensionNumber.isEmpty else { return }
        if ignored {
            if !ignoredMembers.contains(extensionNumber) { ignoredMembers.append(extensionNumber) }
        } else if !members.contains(extensionNumber) {
            members.append(extensionNumber)
        }
    }

    /// Unanswered, its ringing over, nothing more announced: missed unless an answer follows.
    var isPendingMissed: Bool { !endReported && !answerLineSeen && !awaitingEndLine }

    func hasLine(_ raw: String) -> Bool { lines.contains(raw) }

    /// What deciding about a pending or expired call reads, without copying the call.
    struct Progress {
        var isPendingMissed: Bool
        var latestEnd: Timestamp
        var lastArrival: Timestamp
    }

    var progress: Progress { Progress(isPendingMissed: isPendingMissed, latestEnd: latestEnd, lastArrival: lastArrival) }
}
