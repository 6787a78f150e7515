import Foundation
import TamasEvents

/// The SMDR source: bytes from the PBX port in, call events out.
public struct SMDRDecoder: SourceStateMachine {
    public let settings: SMDRSettings
    private var framer = LineFramer()
    private var clock: SMDRClock
    private var tracker: SMDRCallTracker
    private let factory: SMDREventFactory
    /// Said once, on the first input: the configured zone is unknown and UTC is used.
    private var pendingConfigurationWarning: String?

    public init(settings: SMDRSettings) {
        self.settings = settings
        let zone = TimeZone(identifier: settings.timeZone)
        if zone == nil {
            pendingConfigurationWarning = "unknown timeZone '\(settings.timeZone)': PBX times are read as UTC"
        }
        clock = SMDRClock(timeZone: zone ?? TimeZone(secondsFromGMT: 0) ?? .current, dateFormat: settings.dateFormat,
                          model: settings.model)
        factory = SMDREventFactory(systemKey: settings.systemKey, numberPlan: settings.numberPlan)
        tracker = SMDRCallTracker(settings: settings, factory: factory)
    }

    public mutating func receive(_ bytes: [UInt8], now: Timestamp) -> [CallEvent] {
        var events: [CallEvent] = []
        let lines = framer.push(bytes)
        events.reserveCapacity(lines.count + 1)
        warnAboutConfiguration(now: now, into: &events)
        for line in lines {
            handle(line: line.text, truncated: line.truncated, now: now, into: &events)
        }
        return events
    }

    public mutating func tick(now: Timestamp) -> [CallEvent] {
        var events: [CallEvent] = []
        warnAboutConfiguration(now: now, into: &events)
        tracker.tick(now: now, into: &events)
        return events
    }

    public mutating func finish(now: Timestamp) -> [CallEvent] {
        var events: [CallEvent] = []
        warnAboutConfiguration(now: now, into: &events)
        for line in framer.flush() {
            handle(line: line.text, truncated: line.truncated, now: now, into: &events)
        }
        tracker.finish(into: &events)
        return events
    }

    /// The lines of calls whose outcome is still to come (see `SMDRCallTracker.openCallLines`).
    /// Fed again to a new decoder before new input, they rebuild those calls with the same ids.
    public func openCallLines() -> [String] {
        tracker.openCallLines()
    }

    /// One already framed line (file replays and benchmarks that split lines themselves).
    public mutating func receive(line: String, truncated: Bool = false, now: Timestamp) -> [CallEvent] {
        var events: [CallEvent] = []
        warnAboutConfiguration(now: now, into: &events)
        handle(line: line, truncated: truncated, now: now, into: &events)
        return events
    }

    private mutating func handle(line: String, truncated: Bool, now: Timestamp, into events: inout [CallEvent]) {
        if truncated {
            let reason = "line longer than \(framer.maxLineBytes) bytes without a line end"
            events.append(factory.unparsed(line, reason: reason, at: now))
            return
        }
        let record: SMDRRecord
        do throws(LineFailure) {
            record = try SMDRLineParser.record(of: line)
        } catch {
            if let reason = error.reason { events.append(factory.unparsed(line, reason: reason, at: now)) }
            return
        }
        guard let printed = clock.printedInstant(of: record) else {
            let order = clock.dateOrder(for: record).rawValue
            events.append(factory.unparsed(line, reason: "date is not a valid \(order) date", at: now))
            return
        }
        let timing = SMDRLegTiming(printed: printed, record: record, printedTime: clock.printedTime(for: record))
        tracker.handle(record, raw: line, timing: timing, now: now, into: &events)
    }

    private mutating func warnAboutConfiguration(now: Timestamp, into events: inout [CallEvent]) {
        guard let warning = pendingConfigurationWarning else { return }
        pendingConfigurationWarning = nil
        events.append(factory.status("misconfigured", detail: warning, at: now))
    }
}
