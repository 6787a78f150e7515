import TamasEvents

/// The caller-ID source's protocol logic: bytes from the box or modem in, call events out.
///
/// Besides events, a modem needs bytes written back (its caller-ID init string). The serial
/// adapter calls `portOpened(now:)` when the port opens and writes what it returns, calls
/// `finish(now:)` when the port closes, and after every `receive`/`tick` writes whatever
/// `takeBytesToWrite()` returns.
///
/// Calls in progress live only here. `openCalls()` says what rebuilds them and `resume(_:now:)`
/// rebuilds them in a fresh decoder, so an agent that saves the one with its events and feeds it
/// to the other after a restart does not split a call that was ringing or talking at the time.
public struct CallerIDDecoder: SourceStateMachine, Sendable {
    public let settings: CallerIDSettings
    private let parser: CallerIDRecordParser
    private let factory: CallEventFactory
    private var framer: RecordFramer
    private var tracker: LineCallTracker
    private var modemInit: ModemInitController
    private var ordinal = 0
    /// The records of each line's open call, by line, kept for `openCalls()`.
    private var openCallRecords: [String: CallRecords] = [:]

    private struct CallRecords: Sendable {
        var callId: String
        var records: [CallerIDOpenCalls.Record]
    }

    /// A line that never stops ringing, or a stuck off-hook line, would otherwise grow its call's
    /// records (and the state an agent saves after each record) without bound. A real call has a
    /// few dozen; past this the oldest but the first (which fixes the callId) are dropped.
    static let maxRecordsKeptPerCall = 256

    public init(settings: CallerIDSettings) {
        self.settings = settings
        parser = CallerIDRecordParser(settings: settings)
        factory = CallEventFactory(systemKey: settings.systemKey, numbers: CallerIDNumbers(plan: settings.numberPlan))
        framer = RecordFramer(protocol: settings.protocol)
        tracker = LineCallTracker(
            factory: factory, ringTimeoutSeconds: settings.ringTimeoutSeconds,
            callerIDWaitRings: settings.callerIDWaitRings, answerIsVisible: settings.protocol != .modem)
        modemInit = ModemInitController(initString: settings.modemInitString, isModem: settings.protocol == .modem)
    }

    /// The port (re)opened: a modem may have been reset or replugged, so it gets its init string.
    public mutating func portOpened(now: Timestamp) -> [UInt8] {
        modemInit.portOpened()
    }

    /// Bytes the device must be sent now (a modem's init string after a suspected reset).
    public mutating func takeBytesToWrite() -> [UInt8] {
        modemInit.takeBytesToWrite()
    }

    public mutating func receive(_ bytes: [UInt8], now: Timestamp) -> [CallEvent] {
        var events: [CallEvent] = []
        for record in framer.push(bytes) {
            events += handle(record, now: now)
        }
        dropRecordsOfEndedCalls()
        return events
    }

    public mutating func tick(now: Timestamp) -> [CallEvent] {
        defer { dropRecordsOfEndedCalls() }
        return tracker.expire(now: now)
    }

    /// The records of the calls still in progress, in arrival order, and the stream's position.
    /// A record cut in half by the end of a read is not in it: it is not a record yet.
    public func openCalls() -> CallerIDOpenCalls {
        var seen = Set<Int>()
        let records = openCallRecords.values.flatMap(\.records)
            .sorted { $0.ordinalBefore < $1.ordinalBefore }
            .filter { seen.insert($0.ordinalBefore).inserted }
        return CallerIDOpenCalls(protocol: settings.protocol, recordsCounted: ordinal, records: records)
    }

    /// Rebuilds, in a fresh decoder, the calls another decoder reported with `openCalls()`: their
    /// records are handled again at their own arrival times and positions, so the calls keep
    /// their callIds and the events this gives again keep their eventIds (duplicates the collector
    /// ignores). A call whose ringing stopped while nobody was reading ends here as missed, with
    /// the same ids and times as a decoder that never stopped would have given it.
    public mutating func resume(_ saved: CallerIDOpenCalls, now: Timestamp) -> [CallEvent] {
        var events: [CallEvent] = []
        for record in saved.records {
            ordinal = record.ordinalBefore
            events += handle(RecordFramer.Record(text: record.text, truncated: false), now: record.arrivedAt)
        }
        ordinal = max(ordinal, saved.recordsCounted)
        events += tracker.expire(now: now)
        dropRecordsOfEndedCalls()
        return events
    }

    public mutating func finish(now: Timestamp) -> [CallEvent] {
        var events: [CallEvent] = []
        if let rest = framer.flush() {
            if settings.protocol == .modem {
                events += handle(rest, now: now)
            } else {
                ordinal += 1
                events.append(factory.unparsed(
                    raw: rest.text, reason: "input ended inside a record (no closing '@')", at: now, ordinal: ordinal))
            }
        }
        events += tracker.expire(now: now)
        dropRecordsOfEndedCalls()
        return events
    }

    private mutating func handle(_ framed: RecordFramer.Record, now: Timestamp) -> [CallEvent] {
        var events = tracker.expire(now: now)
        if framed.truncated {
            ordinal += 1
            events.append(factory.unparsed(
                raw: framed.text, reason: "record longer than \(RecordFramer.maxRecordBytes) bytes without an end",
                at: now, ordinal: ordinal))
            return events
        }
        let ordinalBefore = ordinal
        let records = parser.parse(framed.text)
        for record in records {
            ordinal += 1
            events += tracker.handle(record, raw: framed.text, now: now, ordinal: ordinal)
            events += modemFollowUp(record, now: now)
        }
        keepForResume(CallerIDOpenCalls.Record(ordinalBefore: ordinalBefore, arrivedAt: now, text: framed.text),
                      lines: records.compactMap(\.line))
        return events
    }

    /// Keeps `record` with the call open on its line after it, if any: every record that reached
    /// an open call is kept, even one that changed nothing, since handling it again is harmless
    /// while leaving out one that did change the call (a later ring time) is not.
    private mutating func keepForResume(_ record: CallerIDOpenCalls.Record, lines: [String]) {
        for line in Set(lines) {
            guard let call = tracker.calls[line] else { continue }
            var kept = openCallRecords[line].flatMap { $0.callId == call.callId ? $0 : nil }
                ?? CallRecords(callId: call.callId, records: earlierRecords(of: call, keptFor: line, before: record))
            kept.records.append(record)
            if kept.records.count > Self.maxRecordsKeptPerCall { kept.records.remove(at: 1) }
            openCallRecords[line] = kept
        }
    }

    /// A call can start at a record kept for the call before it on the line (a caller ID that
    /// came while that call's hang-up record was missing): the new call's records start with the
    /// one holding its first position.
    private func earlierRecords(of call: ActiveCall, keptFor line: String,
                                before record: CallerIDOpenCalls.Record) -> [CallerIDOpenCalls.Record] {
        guard call.firstOrdinal <= record.ordinalBefore, let earlier = openCallRecords[line]?.records,
              let first = earlier.lastIndex(where: { $0.ordinalBefore < call.firstOrdinal }) else { return [] }
        return Array(earlier[first...])
    }

    private mutating func dropRecordsOfEndedCalls() {
        openCallRecords = openCallRecords.filter { line, kept in tracker.calls[line]?.callId == kept.callId }
    }

    private mutating func modemFollowUp(_ record: CallerIDRecord, now: Timestamp) -> [CallEvent] {
        let cause = String(ordinal)
        switch record {
        case .modemResult(let ok):
            guard let status = modemInit.resultCode(ok: ok) else { return [] }
            return [factory.status(state: status.state, detail: status.detail, at: now, cause: cause)]
        case .ring(let line, _):
            guard tracker.takeCallerIDMissing(line: line),
                  let status = modemInit.callerIDMissing(afterRings: settings.callerIDWaitRings) else { return [] }
            return [factory.status(state: status.state, detail: status.detail, at: now, cause: cause)]
        default:
            return []
        }
    }
}
