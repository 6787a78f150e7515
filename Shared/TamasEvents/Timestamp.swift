import Foundation

/// An instant plus the UTC offset the source printed it in.
///
/// EVENTS.md asks for ISO 8601 with the source's offset (`2026-11-26T14:05:09+03:30`), so the
/// offset is part of the value rather than recomputed from the reader's zone. Parsing and
/// formatting are hand-written: they run once per event on the hot path, and `DateFormatter`
/// is both slow and locale-sensitive.
public struct Timestamp: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var epochMillis: Int64
    /// Offset from UTC in seconds at which the time is shown.
    public var offsetSeconds: Int32

    public init(epochMillis: Int64, offsetSeconds: Int32 = 0) {
        self.epochMillis = epochMillis
        self.offsetSeconds = offsetSeconds
    }

    public init(date: Date, offsetSeconds: Int32 = 0) {
        self.init(epochMillis: Int64((date.timeIntervalSince1970 * 1000).rounded()), offsetSeconds: offsetSeconds)
    }

    public init(date: Date, timeZone: TimeZone) {
        self.init(date: date, offsetSeconds: Int32(timeZone.secondsFromGMT(for: date)))
    }

    public var date: Date { Date(timeIntervalSince1970: Double(epochMillis) / 1000) }
    public var epochSeconds: Int64 { epochMillis.floorDiv(1000) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.epochMillis < rhs.epochMillis }

    /// Device input can name any number of seconds (an AMI `Timestamp:` of 10^16): a time read
    /// from it is taken only in 0001-01-01...9999-12-31, and outside that it is not a time.
    public static let plausibleEpochSeconds: ClosedRange<Int64> = -62_135_596_800...253_402_300_799

    /// Saturates instead of trapping: a time or duration read from a device may be absurd, and
    /// arithmetic on it must not end the agent.
    public func adding(seconds: Int) -> Timestamp {
        let (millis, productOverflow) = Int64(seconds).multipliedReportingOverflow(by: 1000)
        let (sum, sumOverflow) = epochMillis.addingReportingOverflow(millis)
        guard productOverflow || sumOverflow else { return Timestamp(epochMillis: sum, offsetSeconds: offsetSeconds) }
        return Timestamp(epochMillis: seconds < 0 ? .min : .max, offsetSeconds: offsetSeconds)
    }

    /// Whole seconds from `self` to `later`, never negative (and `Int.max` past what Int64
    /// milliseconds can hold).
    public func seconds(until later: Timestamp) -> Int {
        let (difference, overflow) = later.epochMillis.subtractingReportingOverflow(epochMillis)
        guard !overflow else { return later > self ? Int.max : 0 }
        return max(0, Int(difference.floorDiv(1000)))
    }

    /// A wall-clock reading in a time zone (a PBX printing local time), resolved to an instant.
    ///
    /// In a DST gap the reading does not exist and is taken as the later offset; in the repeated
    /// hour the earlier (daylight) instant is chosen. Both are what a PBX clock most likely meant.
    public init?(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, timeZone: TimeZone) {
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour),
              (0...59).contains(minute), (0...60).contains(second),
              day <= CivilCalendar.daysInMonth(year: year, month: month) else { return nil }
        let wallSeconds = CivilCalendar.daysFromCivil(year: year, month: month, day: day) * 86_400
            + Int64(hour * 3600 + minute * 60 + min(second, 59))
        var offset = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(wallSeconds))))
        let corrected = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(wallSeconds - offset))))
        if corrected != offset { offset = max(corrected, offset) }
        self.init(epochMillis: (wallSeconds - offset) * 1000, offsetSeconds: Int32(offset))
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM|±HHMM)`.
    public init?(iso8601 text: String) {
        var utf8 = Array(text.utf8)
        guard utf8.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = utf8[index]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard utf8[4] == 45, utf8[7] == 45, utf8[10] == 84 || utf8[10] == 116 || utf8[10] == 32,
              utf8[13] == 58, utf8[16] == 58,
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var cursor = 19
        var millis = 0
        if cursor < utf8.count, utf8[cursor] == 46 {
            cursor += 1
            var digits = 0
            while cursor < utf8.count, utf8[cursor] >= 48, utf8[cursor] <= 57 {
                if digits < 3 { millis = millis * 10 + Int(utf8[cursor] - 48) }
                digits += 1
                cursor += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 3) { millis *= 10 }
        }
        var offset = 0
        if cursor == utf8.count {
            return nil
        } else if utf8[cursor] == 90 || utf8[cursor] == 122 {
            cursor += 1
        } else if utf8[cursor] == 43 || utf8[cursor] == 45 {
            let sign = utf8[cursor] == 45 ? -1 : 1
            if utf8.count == cursor + 5 { utf8.insert(58, at: cursor + 3) }
            guard utf8.count == cursor + 6, utf8[cursor + 3] == 58,
                  let hours = number(cursor + 1..<cursor + 3), let minutes = number(cursor + 4..<cursor + 6),
                  hours <= 23, minutes <= 59 else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
            cursor += 6
        } else {
            return nil
        }
        guard cursor == utf8.count, (1...12).contains(month), (1...31).contains(day),
              day <= CivilCalendar.daysInMonth(year: year, month: month),
              hour <= 23, minute <= 59, second <= 60 else { return nil }
        let wall = CivilCalendar.daysFromCivil(year: year, month: month, day: day) * 86_400
            + Int64(hour * 3600 + minute * 60 + min(second, 59))
        self.init(epochMillis: (wall - Int64(offset)) * 1000 + Int64(millis), offsetSeconds: Int32(offset))
    }

    public var iso8601: String {
        // Outside years 1-9999 (only ever a saturated absurd input) the nearest end is written.
        let (shifted, overflow) = epochMillis.addingReportingOverflow(Int64(offsetSeconds) * 1000)
        let local = min(max(overflow ? epochMillis : shifted, Self.plausibleEpochSeconds.lowerBound * 1000),
                        Self.plausibleEpochSeconds.upperBound * 1000 + 999)
        let millis = Int(local.floorMod(1000))
        let seconds = local.floorDiv(1000)
        let days = seconds.floorDiv(86_400)
        let secondOfDay = Int(seconds.floorMod(86_400))
        let (year, month, day) = CivilCalendar.civil(fromDays: days)
        // Bytes, not String appends: this runs for every timestamp of every stored call record.
        var out: [UInt8] = []
        out.reserveCapacity(29)
        func pad(_ value: Int, _ width: Int) {
            guard (0..<1_000_000_000).contains(value) else {
                out.append(contentsOf: String(value).utf8)
                return
            }
            var digits = 1
            var limit = 10
            while value >= limit {
                digits += 1
                limit *= 10
            }
            for _ in digits..<max(width, digits) { out.append(UInt8(ascii: "0")) }
            var divisor = limit / 10
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        func append(_ character: Unicode.Scalar) { out.append(UInt8(ascii: character)) }
        pad(year, 4); append("-"); pad(month, 2); append("-"); pad(day, 2); append("T")
        pad(secondOfDay / 3600, 2); append(":"); pad(secondOfDay / 60 % 60, 2); append(":"); pad(secondOfDay % 60, 2)
        if millis != 0 { append("."); pad(millis, 3) }
        if offsetSeconds == 0 {
            append("Z")
        } else {
            let magnitude = Int(abs(offsetSeconds))
            append(offsetSeconds < 0 ? "-" : "+")
            pad(magnitude / 3600, 2); append(":"); pad(magnitude / 60 % 60, 2)
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { iso8601 }
}

extension Timestamp: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Timestamp(iso8601: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 time with offset: \(text)")
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso8601)
    }
}

/// Proleptic Gregorian day arithmetic (H. Hinnant's civil-from-days algorithms).
public enum CivilCalendar {
    public static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = y.floorDiv(400)
        let yearOfEra = y - era * 400
        let shiftedMonth = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    public static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = shifted.floorDiv(146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        let year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}

extension Int64 {
    @inlinable func floorDiv(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    @inlinable func floorMod(_ divisor: Int64) -> Int64 { self - floorDiv(divisor) * divisor }
}
