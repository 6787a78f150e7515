import TamasEvents

/// The caller-ID source's protocol logic: bytes from the box or modem in, call events out.
///
/// Besides events, a modem needs bytes written back (its caller-ID init string). The serial
/// adapter calls `portOpened(now:)` when the port opens and writes what it returns, calls
/// `finish(now:)` when the port closes, and after every `receive`/`tick` writes whatever
/// `takeBytesToWrite()` returns.
public struct CallerIDDecoder: SourceStateMachine, Sendable {
    public let settings: CallerIDSettings
    private let parser: CallerIDRecordParser
    private let factory: CallEventFactory
    private var framer: RecordFramer
    private var tracker: LineCallTracker
    private var modemInit: ModemInitController
    private var ordinal = 0

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
        return events
    }

    public mutating func tick(now: Timestamp) -> [CallEvent] {
        tracker.expire(now: now)
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
        return events + tracker.expire(now: now)
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
        for record in parser.parse(framed.text) {
            ordinal += 1
            events += tracker.handle(record, raw: framed.text, now: now, ordinal: ordinal)
            events += modemFollowUp(record, now: now)
        }
        return events
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
