import XCTest
import TamasEvents
@testable import TelsaProtocol

final class RecordingMatcherTests: XCTestCase {
    let t0 = Timestamp(iso8601: "2026-11-26T10:00:00+03:30")!

    func call(_ id: String, line: String, from start: Int, to end: Int, system: String = "office1") -> CallRecord {
        var record = CallRecord(systemKey: system, callId: id, source: "smdr")
        record.line = line
        record.startedAt = t0.adding(seconds: start)
        record.endedAt = t0.adding(seconds: end)
        return record
    }

    func recording(line: String = "1", from start: Int, seconds: Int) -> RecordingMatcher.Recording {
        RecordingMatcher.Recording(systemKey: "office1", line: line, startedAt: t0.adding(seconds: start), durationSec: seconds)
    }

    func testPicksTheBestOverlapOnTheSameLine() {
        let calls = [
            call("a", line: "1", from: 0, to: 100), call("b", line: "1", from: 90, to: 300),
            call("other-line", line: "2", from: 95, to: 300), call("other-system", line: "1", from: 95, to: 300, system: "x"),
        ]
        XCTAssertEqual(RecordingMatcher.match(recording(from: 95, seconds: 200), candidates: calls, toleranceSeconds: 5)?.callId, "b")
        XCTAssertEqual(RecordingMatcher.match(recording(from: 2, seconds: 95), candidates: calls, toleranceSeconds: 5)?.callId, "a")
    }

    func testAdjacentCallsGoToTheOneTheRecordingLiesIn() {
        let calls = [call("first", line: "1", from: 0, to: 60), call("second", line: "1", from: 60, to: 120)]
        XCTAssertEqual(RecordingMatcher.match(recording(from: 61, seconds: 59), candidates: calls, toleranceSeconds: 10)?.callId, "second")
        XCTAssertEqual(RecordingMatcher.match(recording(from: 0, seconds: 59), candidates: calls, toleranceSeconds: 10)?.callId, "first")
    }

    func testOutsideTheToleranceStaysUnmatched() {
        let calls = [call("a", line: "1", from: 0, to: 60)]
        XCTAssertNil(RecordingMatcher.match(recording(from: 71, seconds: 30), candidates: calls, toleranceSeconds: 10))
        XCTAssertEqual(RecordingMatcher.match(recording(from: 69, seconds: 30), candidates: calls, toleranceSeconds: 10)?.callId, "a",
                       "a recorder clock a few seconds off still matches")
        XCTAssertNil(RecordingMatcher.match(recording(line: "2", from: 0, seconds: 60), candidates: calls, toleranceSeconds: 10))
    }

    func testSMDRZeroPaddedLineMatches() {
        let calls = [call("a", line: "01", from: 0, to: 60)]
        XCTAssertEqual(RecordingMatcher.match(recording(line: "1", from: 0, seconds: 60), candidates: calls, toleranceSeconds: 0)?.callId, "a")
    }
}
