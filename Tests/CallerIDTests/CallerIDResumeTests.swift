import Foundation
import XCTest
import TamasEvents
@testable import CallerIDProtocol

/// A decoder stopped mid-stream and rebuilt from its `openCalls()` in a fresh decoder must give
/// the events of one uninterrupted run: calls in progress keep their callIds, events keep their
/// eventIds, and what is given again is an exact duplicate.
final class CallerIDResumeTests: XCTestCase {
    /// Two interleaved inbound calls (one answered with digits during the talk, one missed), an
    /// outbound call, a banner glued to a record and a record that contradicts its line's state.
    private let segalSteps: [(Int, String)] = [
        (0, "L1C09191714505@"), (1, "L1R01@"), (2, "@www.POSwareSystems.comL2C9123951418@"), (3, "L1R02@"),
        (4, "L2R01@"), (5, "L1HF@"), (6, "L1D0@"), (6, "L1D9@"), (7, "L2R02@"), (8, "L1R03@"),
        (9, "L3HF@"), (10, "L3D0@"), (10, "L3D2@"), (11, "L3D1@"), (11, "L3D8@"), (12, "L3D8@"),
        (40, "L3HND:02188776655 T0028@"), (60, "L1HND:091219913344 T0055@"),
        (61, "L2R01@"), (62, "L2C09121234567@"), (63, "L2HF@"), (90, "L2HND: T0027@"),
    ]

    private let danjehSteps: [(Int, String)] = [
        (0, "L1@"), (1, "L1:09121234567@"), (2, "L2 hook-off@"), (3, "L1@"), (3, "L2 Dialed:0218@"),
        (4, "L2 Dialed=8776655@"), (5, "L1 hook-off@"), (6, "L3@"), (7, "L3 09351234567@"),
        (40, "L2 hook-on@"), (70, "L1 hook-on@"), (71, "L3@"), (72, "L3 hook-off@"), (80, "L3 hook-on@"),
    ]

    /// A call with caller ID, then one that rings without it (the modem is sent its init string
    /// again, answers OK) and a long silence between them.
    private let modemSteps: [(Int, String)] = [
        (0, "RING\r\n"), (2, "DATE = 1126\r\n"), (2, "TIME = 1405\r\n"), (2, "NMBR = 09121234567\r\n"),
        (2, "NAME = Jesse James\r\n"), (5, "RING\r\n"), (10, "RING\r\n"),
        (100, "RING\r\n"), (105, "RING\r\n"), (110, "RING\r\n"), (110, "OK\r\n"), (115, "RING\r\n"),
        (116, "DDN_NMBR = 02188776655\r\n"), (120, "RING\r\n"),
    ]

    func testSegalResumedAfterAnyRecordGivesTheUninterruptedRun() throws {
        try assertResumingGivesTheUninterruptedRun(segalSettings(), segalSteps, endAt: 200)
    }

    /// The hang-up of line 1's call is lost; the next call's caller ID arrives while the line
    /// still looks off-hook, and its ring proves the line on-hook.
    func testACallStartedByACallerIDBeforeALostHangUpWasProvenKeepsItsIdsAcrossRestarts() throws {
        let steps: [(Int, String)] = [
            (0, "L1C09121234567@"), (1, "L1R01@"), (5, "L1HF@"), (6, "L1D5@"),
            (300, "L1C09351112233@"), (301, "L1R01@"), (303, "L1R02@"), (305, "L1HF@"), (400, "L1HND: T0095@"),
        ]
        try assertResumingGivesTheUninterruptedRun(segalSettings(), steps, endAt: 500)
    }

    func testDanjehResumedAfterAnyRecordGivesTheUninterruptedRun() throws {
        try assertResumingGivesTheUninterruptedRun(segalSettings { $0.protocol = .danjeh }, danjehSteps, endAt: 200)
    }

    func testModemResumedAfterAnyRecordGivesTheUninterruptedRun() throws {
        try assertResumingGivesTheUninterruptedRun(segalSettings { $0.protocol = .modem }, modemSteps, endAt: 300)
    }

    /// The saved calls name the record that started each call, so the end record after the
    /// restart ends that call rather than starting another.
    func testTheEndRecordAfterAResumeEndsTheCallThatWasTalking() throws {
        var before = CallerIDDecoder(settings: segalSettings())
        let started = feed(&before, [(0, "L1C09191714505@"), (1, "L1R01@"), (5, "L1HF@")])
        let saved = before.openCalls()
        XCTAssertEqual(saved.records.map(\.text), ["L1C09191714505", "L1R01", "L1HF"])
        var after = CallerIDDecoder(settings: segalSettings())
        let ended = after.resume(saved, now: testStart.adding(seconds: 30))
            + feed(&after, [(65, "L1HND: T0100@")])
        let calls = calls(in: started + ended)
        XCTAssertEqual(calls.count, 1, "\(calls)")
        XCTAssertEqual(calls.first?.disposition, .answered)
        XCTAssertEqual(calls.first?.from, "+989191714505")
        XCTAssertEqual(calls.first?.durationSec, 60)
        XCTAssertEqual(after.openCalls().records, [], "nothing is left open once the call ended")
    }

    /// A restart longer than the ring timeout: the call that was ringing ends on resume, as
    /// missed at its last ring, with the very event the uninterrupted decoder's tick gives.
    func testACallRingingWhenStoppedEndsAsMissedOnAResumeAfterItsTimeout() throws {
        let steps: [(Int, String)] = [(0, "L1C09121234567@"), (1, "L1R01@"), (6, "L1R02@")]
        var uninterrupted = CallerIDDecoder(settings: segalSettings())
        let ringing = feed(&uninterrupted, steps)
        let saved = uninterrupted.openCalls()
        let timedOut = uninterrupted.tick(now: testStart.adding(seconds: 3600))
        XCTAssertEqual(timedOut.map(\.type), [.callEnded])

        var resumed = CallerIDDecoder(settings: segalSettings())
        let events = resumed.resume(saved, now: testStart.adding(seconds: 3600))
        XCTAssertEqual(Set(events.map(\.eventId)), Set((ringing + timedOut).map(\.eventId)))
        XCTAssertEqual(events.last, timedOut.last)
        XCTAssertEqual(events.last?.disposition, .missed)
        XCTAssertEqual(events.last?.endedAt, testStart.adding(seconds: 6))
        XCTAssertEqual(resumed.openCalls().records, [])
        XCTAssertEqual(resumed.tick(now: testStart.adding(seconds: 7200)), [], "a call ends once")
    }

    func testTheSavedTextIsReadBackExactlyAndRefusedForAnotherProtocolOrWhenDamaged() {
        var decoder = CallerIDDecoder(settings: segalSettings())
        _ = feed(&decoder, [(0, "L1C09121234567@"), (1, "L2HF@"), (2, "L2D 0@"), (3, "L2D0@")])
        let saved = decoder.openCalls()
        XCTAssertEqual(saved.recordsCounted, 4)
        XCTAssertEqual(saved.records.map(\.ordinalBefore), [0, 1, 3], "the unparsed record belongs to no call")
        XCTAssertEqual(CallerIDOpenCalls(encoded: saved.encoded, protocol: .segal), saved)
        XCTAssertNil(CallerIDOpenCalls(encoded: saved.encoded, protocol: .danjeh))
        for damaged in ["", "callerid-open-calls/1 segal", "callerid-open-calls/1 segal 4\n0 x 0 L1R01",
                        "callerid-open-calls/1 segal 4\n9 0 0 L1R01", "callerid-open-calls/2 segal 4", "L1R01"] {
            XCTAssertNil(CallerIDOpenCalls(encoded: damaged, protocol: .segal), damaged)
        }
    }

    /// A line that never stops ringing cannot grow what the agent saves after every record.
    func testTheRecordsKeptForOneCallAreBounded() {
        var decoder = CallerIDDecoder(settings: segalSettings())
        let steps = [(0, "L1C09121234567@")] + (1...1000).map { ($0, "L1R01@") }
        _ = feed(&decoder, steps)
        let saved = decoder.openCalls()
        XCTAssertEqual(saved.records.count, CallerIDDecoder.maxRecordsKeptPerCall)
        XCTAssertEqual(saved.records.first?.text, "L1C09121234567", "the record that fixes the callId is kept")
        XCTAssertEqual(saved.records.last?.arrivedAt, testStart.adding(seconds: 1000), "and so is the latest ring")
    }

    /// Cuts the stream after every record in turn and also restarts after every record, each
    /// restart handing the saved text to a fresh decoder at the arrival time of the next record.
    private func assertResumingGivesTheUninterruptedRun(
        _ settings: CallerIDSettings, _ steps: [(Int, String)], endAt: Int, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        var uninterrupted = CallerIDDecoder(settings: settings)
        let expected = feed(&uninterrupted, steps, endAt: endAt)
        XCTAssertEqual(Set(expected.map(\.eventId)).count, expected.count, "ids are unique in one run", file: file, line: line)
        XCTAssertTrue(expected.contains { $0.type == .callEnded }, file: file, line: line)
        func restartAt(_ index: Int) -> Timestamp { testStart.adding(seconds: index < steps.count ? steps[index].0 : endAt) }

        var sawOpenCall = false
        for cut in 0...steps.count {
            var first = CallerIDDecoder(settings: settings)
            var events = feed(&first, Array(steps[..<cut]))
            let saved = try XCTUnwrap(CallerIDOpenCalls(encoded: first.openCalls().encoded, protocol: settings.protocol))
            sawOpenCall = sawOpenCall || !saved.records.isEmpty
            var second = CallerIDDecoder(settings: settings)
            events += second.resume(saved, now: restartAt(cut))
            events += feed(&second, Array(steps[cut...]), endAt: endAt)
            assertSameEvents(events, expected, "cut after \(cut) records", file: file, line: line)
        }
        XCTAssertTrue(sawOpenCall, "some cut falls inside a call", file: file, line: line)

        var restarted = CallerIDDecoder(settings: settings)
        var events: [CallEvent] = []
        for (index, step) in steps.enumerated() {
            events += feed(&restarted, [step])
            let saved = try XCTUnwrap(CallerIDOpenCalls(encoded: restarted.openCalls().encoded, protocol: settings.protocol))
            restarted = CallerIDDecoder(settings: settings)
            events += restarted.resume(saved, now: restartAt(index + 1))
        }
        events += restarted.finish(now: testStart.adding(seconds: endAt))
        assertSameEvents(events, expected, "restarted after every record", file: file, line: line)
    }

    /// Equal to `expected` once events given again are dropped, each of them identical to the
    /// first event with its id (the collector keeps the first and counts the rest as duplicates).
    private func assertSameEvents(
        _ events: [CallEvent], _ expected: [CallEvent], _ what: String, file: StaticString, line: UInt
    ) {
        var firstById: [String: CallEvent] = [:]
        var unique: [CallEvent] = []
        for event in events {
            if let first = firstById[event.eventId] {
                XCTAssertEqual(event, first, "\(what): an event given again is identical", file: file, line: line)
            } else {
                firstById[event.eventId] = event
                unique.append(event)
            }
        }
        XCTAssertEqual(unique, expected, what, file: file, line: line)
    }

    /// Found by a fuzzing campaign: a saved state with an absurd time made `resume` overflow on
    /// every start. Such a state is refused like any other damaged one.
    func testASavedStateWithAnAbsurdTimeIsRefused() {
        for line in ["0 -9223372036854775808 0 L1R01", "0 9223372036854775807 0 L1R01", "0 1764150000000 999999 L1R01"] {
            XCTAssertNil(CallerIDOpenCalls(encoded: "callerid-open-calls/1 segal 1\n" + line, protocol: .segal), line)
        }
        XCTAssertNotNil(CallerIDOpenCalls(encoded: "callerid-open-calls/1 segal 1\n0 1764150000000 12600 L1R01", protocol: .segal))
    }
}
