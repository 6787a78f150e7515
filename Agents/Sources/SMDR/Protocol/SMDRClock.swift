import Foundation
import TamasEvents

/// Turns a printed date and time into an instant in the PBX's zone.
///
/// Resolving a wall-clock reading through `TimeZone` costs microseconds; lines arrive in time
/// order, so the offset of the last wall-clock hour is kept and reused for every line in it.
struct SMDRClock {
    let timeZone: TimeZone
    let dateFormat: SMDRDateOrder
    let model: SMDRModel
    private var cachedHourKey: Int64 = .min
    private var cachedHourStart: Timestamp?

    init(timeZone: TimeZone, dateFormat: SMDRDateOrder, model: SMDRModel) {
        self.timeZone = timeZone
        self.dateFormat = dateFormat
        self.model = model
    }

    /// The instant the line's time column names (minute resolution: seconds are :00).
    mutating func printedInstant(of record: SMDRRecord) -> Timestamp? {
        let (year, month, day) = Self.civilDate(record.dateFields, order: dateOrder(for: record))
        guard (1...12).contains(month), (1...CivilCalendar.daysInMonth(year: year, month: month)).contains(day),
              record.hour <= 23 else { return nil }
        let hourKey = CivilCalendar.daysFromCivil(year: year, month: month, day: day) * 24 + Int64(record.hour)
        if hourKey != cachedHourKey {
            cachedHourStart = Timestamp(year: year, month: month, day: day, hour: record.hour, minute: 0, second: 0,
                                        timeZone: timeZone)
            cachedHourKey = hourKey
        }
        return cachedHourStart?.adding(seconds: record.minute * 60)
    }

    func printedTime(for record: SMDRRecord) -> SMDRPrintedTime {
        model.printedTime ?? (record.layout == .style824 ? .start : .end)
    }

    /// `auto`: a field that cannot be a month decides; otherwise the model's order, and for
    /// `auto` model the layout's (824 style prints month first, the others day first).
    func dateOrder(for record: SMDRRecord) -> SMDRDateOrder {
        if dateFormat != .auto { return dateFormat }
        let fields = record.dateFields
        if fields.fourDigitFirst || fields.first > 31 { return .yearMonthDay }
        if fields.first > 12 { return .dayMonthYear }
        if fields.second > 12 { return .monthDayYear }
        return model.defaultDateOrder ?? (record.layout == .style824 ? .monthDayYear : .dayMonthYear)
    }

    static func civilDate(_ fields: SMDRDateFields, order: SMDRDateOrder) -> (year: Int, month: Int, day: Int) {
        switch order {
        case .dayMonthYear, .auto: (fullYear(fields.third), fields.second, fields.first)
        case .monthDayYear: (fullYear(fields.third), fields.first, fields.second)
        case .yearMonthDay: (fullYear(fields.first), fields.second, fields.third)
        }
    }

    /// Two-digit years: 70-99 are 19xx (the KX-TA616 manual prints `12/31/98`), the rest 20xx.
    static func fullYear(_ value: Int) -> Int {
        if value >= 100 { return value }
        return value >= 70 ? 1900 + value : 2000 + value
    }
}

/// When a parsed line's leg began, was answered and ended, as the decoder reads it: for
/// `smdr test`, which shows one line at a time.
public struct SMDRLegTimes: Hashable, Sendable {
    public var printedTime: SMDRPrintedTime
    public var dateFormat: SMDRDateOrder
    public var startedAt: Timestamp
    public var answeredAt: Timestamp
    public var endedAt: Timestamp

    /// Nil when the date is not valid in the order `settings` gives it.
    public init?(record: SMDRRecord, settings: SMDRSettings) {
        let zone = TimeZone(identifier: settings.timeZone) ?? TimeZone(secondsFromGMT: 0) ?? .current
        var clock = SMDRClock(timeZone: zone, dateFormat: settings.dateFormat, model: settings.model)
        guard let printed = clock.printedInstant(of: record) else { return nil }
        printedTime = clock.printedTime(for: record)
        dateFormat = clock.dateOrder(for: record)
        let timing = SMDRLegTiming(printed: printed, record: record, printedTime: printedTime)
        startedAt = timing.begin
        answeredAt = timing.answeredAt
        endedAt = timing.end
    }
}
