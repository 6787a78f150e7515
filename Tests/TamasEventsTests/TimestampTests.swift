import Foundation
import XCTest
import TamasEvents

final class TimestampTests: XCTestCase {
    func testRoundTripWithOffset() throws {
        let text = "2026-11-26T14:05:09+03:30"
        let stamp = try XCTUnwrap(Timestamp(iso8601: text))
        XCTAssertEqual(stamp.iso8601, text)
        XCTAssertEqual(stamp.epochMillis, 1_795_689_309_000)
        XCTAssertEqual(Timestamp(iso8601: "2026-11-26T10:35:09Z")?.epochMillis, stamp.epochMillis)
        XCTAssertEqual(Timestamp(iso8601: "2026-11-26T14:05:09+0330")?.iso8601, text, "basic-format offset accepted")
    }

    func testFractionsAndNegativeOffsets() throws {
        let stamp = try XCTUnwrap(Timestamp(iso8601: "1999-12-31T23:59:59.5-05:00"))
        XCTAssertEqual(stamp.iso8601, "1999-12-31T23:59:59.500-05:00")
        XCTAssertEqual(Timestamp(epochMillis: -1).iso8601, "1969-12-31T23:59:59.999Z")
    }

    func testRejectsMalformed() {
        for bad in ["", "2026-11-26", "2026-11-26T14:05:09", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                    "2026-11-26T24:00:00Z", "2026-11-26T14:05:09+3:30", "2026-11-26T14:05:09Zjunk", "２０２６-11-26T14:05:09Z"] {
            XCTAssertNil(Timestamp(iso8601: bad), bad)
        }
    }

    func testWallClockInZone() throws {
        let tehran = try XCTUnwrap(TimeZone(identifier: "Asia/Tehran"))
        let stamp = try XCTUnwrap(Timestamp(year: 2026, month: 11, day: 26, hour: 14, minute: 5, second: 9, timeZone: tehran))
        XCTAssertEqual(stamp.iso8601, "2026-11-26T14:05:09+03:30")
        let berlin = try XCTUnwrap(TimeZone(identifier: "Europe/Berlin"))
        let summer = try XCTUnwrap(Timestamp(year: 2024, month: 7, day: 1, hour: 12, minute: 0, second: 0, timeZone: berlin))
        XCTAssertEqual(summer.iso8601, "2024-07-01T12:00:00+02:00")
        let gap = try XCTUnwrap(Timestamp(year: 2024, month: 3, day: 31, hour: 2, minute: 30, second: 0, timeZone: berlin))
        XCTAssertEqual(gap.offsetSeconds, 7200, "a time inside the spring-forward gap resolves to summer time")
        XCTAssertNil(Timestamp(year: 2025, month: 2, day: 29, hour: 0, minute: 0, second: 0, timeZone: berlin))
    }

    func testCivilCalendarAgreesWithFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        for days in stride(from: Int64(-130_000), through: 800_000, by: 997) {
            let date = Date(timeIntervalSince1970: Double(days) * 86_400)
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            let civil = CivilCalendar.civil(fromDays: days)
            XCTAssertEqual(civil.year, parts.year)
            XCTAssertEqual(civil.month, parts.month)
            XCTAssertEqual(civil.day, parts.day)
            XCTAssertEqual(CivilCalendar.daysFromCivil(year: civil.year, month: civil.month, day: civil.day), days)
        }
    }

    /// Device input can carry absurd numbers (a coverage-guided fuzzer found an AMI `Timestamp:`
    /// of 10^16 trapping here): the arithmetic saturates instead of ending the process.
    func testArithmeticOnAbsurdTimesSaturatesInsteadOfTrapping() {
        let late = Timestamp(epochMillis: .max - 10)
        let early = Timestamp(epochMillis: .min + 10)
        XCTAssertEqual(late.adding(seconds: 60).epochMillis, .max)
        XCTAssertEqual(early.adding(seconds: -60).epochMillis, .min)
        XCTAssertEqual(Timestamp(epochMillis: 0).adding(seconds: Int.max).epochMillis, .max)
        XCTAssertEqual(Timestamp(epochMillis: 0).adding(seconds: Int.min).epochMillis, .min)
        XCTAssertEqual(early.seconds(until: late), Int.max)
        XCTAssertEqual(late.seconds(until: early), 0)
        XCTAssertEqual(Timestamp(epochMillis: 1000).adding(seconds: 2).epochMillis, 3000, "ordinary sums are exact")
        XCTAssertEqual(Timestamp(epochMillis: .max, offsetSeconds: 12_600).iso8601, "9999-12-31T23:59:59.999+03:30")
        XCTAssertEqual(Timestamp(epochMillis: .min, offsetSeconds: -18_000).iso8601, "0001-01-01T00:00:00-05:00")
        XCTAssertTrue(Timestamp.plausibleEpochSeconds.contains(1_764_150_000))
        XCTAssertFalse(Timestamp.plausibleEpochSeconds.contains(9_223_372_036_854_776))
    }
}
