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
}
