import Foundation
import XCTest
import TamasEvents
@testable import CallerIDProtocol

final class CallerIDCallTests: XCTestCase {
    func testTwoLinesInterleavedAnsweredMissedAndOutgoing() {
        var decoder = CallerIDDecoder(settings: segalSettings())
        let events = feed(&decoder, [
            (0, "L1C09121234567@"), (1, "L1R01@"),
            (2, "L2HF@"), (3, "L2D0@"), (3, "L2D2@"), (4, "L2D1@"), (4, "L2D8@"), (5, "L2D8@"), (5, "L2D7@"),
            (5, "L2D7@"), (6, "L2D6@"), (6, "L2D6@"), (6, "L2D5@"), (7, "L2D5@"),
            (5, "L1R02@"), (7, "L1HF@"),
            (8, "L3C9123951418@"), (9, "L3R01@"), (13, "L3R02@"),
            (67, "L1HND: T0100@"),
            (97, "L2HND:02188776655 T0130@"),
        ], endAt: 200)
        for event in events { XCTAssertNoThrow(try event.validate()) }
        let calls = calls(in: events)
        XCTAssertEqual(calls.count, 3)
        let inbound = calls.first { $0.line == "1" }
        XCTAssertEqual(inbound?.direction, .inbound)
        XCTAssertEqual(inbound?.from, "+989121234567")
        XCTAssertEqual(inbound?.disposition, .answered)
        XCTAssertEqual(inbound?.durationSec, 60)
        XCTAssertEqual(inbound?.answeredAt, testStart.adding(seconds: 7))
        XCTAssertEqual(inbound?.ringSec, 7)
        let outbound = calls.first { $0.line == "2" }
        XCTAssertEqual(outbound?.direction, .outbound)
        XCTAssertEqual(outbound?.to, "+982188776655")
        XCTAssertEqual(outbound?.durationSec, 90)
        XCTAssertEqual(outbound?.startedAt, testStart.adding(seconds: 2))
        let missed = calls.first { $0.line == "3" }
        XCTAssertEqual(missed?.from, "+989123951418", "a bare 9xx mobile gets its national 0 back")
        XCTAssertEqual(missed?.disposition, .missed)
        XCTAssertEqual(missed?.endedAt, testStart.adding(seconds: 13))
        XCTAssertEqual(missed?.durationSec, 0)
        XCTAssertEqual(Set(calls.map(\.callId)).count, 3)
    }

    func testRingTimeoutFiresOnlyAfterTheTimeout() {
        var decoder = CallerIDDecoder(settings: segalSettings { $0.ringTimeoutSeconds = 10 })
        _ = feed(&decoder, [(0, "L1C09121234567@"), (1, "L1R01@"), (6, "L1R02@")])
        XCTAssertEqual(decoder.tick(now: testStart.adding(seconds: 15)), [], "9 s after the last ring it may still ring")
        let ended = decoder.tick(now: testStart.adding(seconds: 16))
        XCTAssertEqual(ended.map(\.type), [.callEnded])
        XCTAssertEqual(ended.first?.disposition, .missed)
        XCTAssertEqual(ended.first?.ringSec, 6)
        XCTAssertEqual(decoder.tick(now: testStart.adding(seconds: 100)), [], "a call ends once")
    }

    func testOffHookLongAfterRingingIsANewOutgoingCall() {
        var decoder = CallerIDDecoder(settings: segalSettings())
        let events = feed(&decoder, [
            (0, "L1C09121234567@"), (1, "L1R01@"), (40, "L1HF@"), (41, "L1D4@"), (42, "L1D4@"), (43, "L1D1@"),
            (44, "L1D1@"), (45, "L1D8@"), (46, "L1D1@"), (50, "L1HND:441181 T0010@"),
        ])
        let calls = calls(in: events)
        XCTAssertEqual(calls.map(\.direction), [.inbound, .outbound])
        XCTAssertEqual(calls.map(\.disposition), [.missed, .answered])
        XCTAssertEqual(calls.last?.to, "+9821441181")
    }

    func testHandsetLiftedWithoutDialingIsNoCall() {
        var decoder = CallerIDDecoder(settings: segalSettings())
        XCTAssertEqual(feed(&decoder, [(0, "L1HF@"), (3, "L1HND: T0000@")], endAt: 100), [])
    }

    func testHangUpWithoutSeenStartStillGivesTheOutgoingCall() {
        var decoder = CallerIDDecoder(settings: segalSettings())
        let events = feed(&decoder, [(100, "L2HND:09121234567 T0130@")])
        XCTAssertEqual(events.map(\.type), [.callEnded])
        XCTAssertEqual(events.first?.startedAt, testStart.adding(seconds: 10))
        XCTAssertEqual(events.first?.durationSec, 90)
    }

    /// A line only rings on-hook, so a ring on a line still thought off-hook ends the call whose
    /// hang-up record was lost, at the ring, instead of losing the next call to "unexpected ring".
    /// The caller ID that came just before the ring belongs to the new call.
    func testARingAfterALostHangUpEndsTheTalkingCallAndStartsTheNextWithItsCallerID() throws {
        var decoder = CallerIDDecoder(settings: segalSettings())
        let events = feed(&decoder, [
            (0, "L1C09121234567@"), (1, "L1R01@"), (5, "L1HF@"),
            (300, "L1C09351112233@"), (301, "L1R01@"), (305, "L1HF@"), (400, "L1HND: T0135@"),
        ], endAt: 500)
        for event in events { XCTAssertNoThrow(try event.validate()) }
        let calls = calls(in: events)
        XCTAssertEqual(calls.map(\.from), ["+989121234567", "+989351112233"])
        XCTAssertEqual(calls.map(\.disposition), [.answered, .answered])
        let lost = try XCTUnwrap(calls.first)
        XCTAssertEqual(lost.endedAt, testStart.adding(seconds: 301), "ended by the ring at the latest")
        XCTAssertEqual(lost.durationSec, 296)
        let lostEnd = try XCTUnwrap(events.first { $0.callId == lost.callId && $0.type == .callEnded })
        XCTAssertTrue(lostEnd.detail?.contains("hang-up record was not seen") ?? false, "\(lostEnd.detail ?? "")")
        let next = try XCTUnwrap(calls.last)
        XCTAssertEqual(next.startedAt, testStart.adding(seconds: 300), "the next call starts with its caller ID")
        XCTAssertEqual(next.answeredAt, testStart.adding(seconds: 305))
        XCTAssertEqual(next.durationSec, 95)
        XCTAssertNotEqual(lost.callId, next.callId)
        XCTAssertEqual(events.filter { $0.type == .lineUnparsed }.map(\.raw), ["L1C09351112233"],
                       "only the caller ID, read as call waiting when it came, stays unexplained")
    }

    func testARingAfterALostHangUpEndsADialedCallAndAHandsetLiftedWithoutDigitsIsNoCall() {
        var decoder = CallerIDDecoder(settings: segalSettings())
        let events = feed(&decoder, [
            (0, "L1HF@"), (2, "L1D0@"), (2, "L1D2@"), (3, "L1D1@"), (3, "L1D8@"), (4, "L1D8@"), (4, "L1D7@"),
            (5, "L1D7@"), (5, "L1D6@"), (6, "L1D6@"), (6, "L1D5@"), (7, "L1D5@"),
            (100, "L1R01@"), (104, "L1R02@"),
            (200, "L2HF@"), (260, "L2R01@"), (264, "L2R02@"),
        ], endAt: 400)
        let calls = calls(in: events)
        XCTAssertEqual(calls.map(\.direction), [.outbound, .inbound, .inbound])
        XCTAssertEqual(calls.map(\.line), ["1", "1", "2"])
        XCTAssertEqual(calls.first?.to, "+982188776655")
        XCTAssertEqual(calls.first?.endedAt, testStart.adding(seconds: 100))
        XCTAssertEqual(calls.dropFirst().map(\.disposition), [.missed, .missed])
        XCTAssertEqual(calls.dropFirst().map(\.startedAt), [testStart.adding(seconds: 100), testStart.adding(seconds: 260)])
        XCTAssertFalse(events.contains { $0.type == .lineUnparsed }, "\(events.map(\.reason))")
    }

    /// A caller ID while off-hook with no ring after it is call waiting: the talking call goes on.
    func testACallerIDWhileTalkingWithoutARingLeavesTheCallAlone() {
        var decoder = CallerIDDecoder(settings: segalSettings())
        let events = feed(&decoder, [
            (0, "L1C09121234567@"), (1, "L1R01@"), (5, "L1HF@"), (30, "L1C09351112233@"),
            (100, "L1R01@"), (104, "L1HF@"), (160, "L1HND: T0056@"),
        ], endAt: 300)
        let calls = calls(in: events)
        XCTAssertEqual(calls.map(\.from), ["+989121234567", nil], "a caller ID 70 s before the ring is not the new call's")
        XCTAssertEqual(calls.first?.endedAt, testStart.adding(seconds: 100))
    }

    func testSegalDurationReadings() {
        XCTAssertEqual(SegalDuration(field: "0257", format: .minutesSeconds).seconds, 177)
        XCTAssertEqual(SegalDuration(field: "0257", format: .seconds).seconds, 257)
        let contradicted = SegalDuration(field: "0175", format: .minutesSeconds)
        XCTAssertEqual(contradicted.seconds, 175)
        XCTAssertNotNil(contradicted.doubt)
        var decoder = CallerIDDecoder(settings: segalSettings())
        let events = feed(&decoder, [(0, "L1HF@"), (1, "L1D5@"), (200, "L1HND:5 T0175@")])
        XCTAssertEqual(events.map(\.type), [.callEnded, .agentStatus], "a contradicted reading is reported, not hidden")
    }

    func testBannerBeforeOrGluedToARecord() {
        let parser = CallerIDRecordParser(protocol: .segal)
        XCTAssertEqual(parser.parse("www.POSwareSystems.com"), [.informational(what: "Segal banner (POSwareSystems)")])
        XCTAssertEqual(parser.parse("www.POSwareSystems.comL1C9123951418"), [
            .informational(what: "Segal banner (POSwareSystems)"), .callerID(line: "1", number: "9123951418"),
        ])
        var decoder = CallerIDDecoder(settings: segalSettings())
        let events = decoder.receive(Array("@www.POSwareSystems.com\r\nL1C9123951418@L1R01@L1HF@".utf8), now: testStart)
        XCTAssertEqual(events.map(\.type), [.callRinging, .callAnswered])
    }

    func testSegalRecordsEndAtTheAtSignWithoutALineEnd() {
        var decoder = CallerIDDecoder(settings: segalSettings())
        var events: [CallEvent] = []
        for byte in Array("L1C09121234567@L1R01@".utf8) { events += decoder.receive([byte], now: testStart) }
        XCTAssertEqual(events.map(\.type), [.callRinging], "announced as soon as the '@' arrives")
        XCTAssertEqual(decoder.finish(now: testStart).count, 0)
        XCTAssertEqual(decoder.receive(Array("L1R0".utf8), now: testStart), [])
        let cut = decoder.finish(now: testStart)
        XCTAssertEqual(cut.map(\.type), [.lineUnparsed])
        XCTAssertEqual(cut.first?.raw, "L1R0")
    }

    func testUnknownSegalRecordsAreReportedWithAReason() {
        var decoder = CallerIDDecoder(settings: segalSettings())
        let events = decoder.receive(Array("L1X12@L1R@X1C0912@L1HN@L1HND:12 T12@".utf8), now: testStart)
        XCTAssertEqual(events.map(\.type), Array(repeating: .lineUnparsed, count: 5))
        XCTAssertTrue(events.allSatisfy { ($0.reason ?? "").count > 10 })
    }

    func testDanjehRecords() {
        let parser = CallerIDRecordParser(protocol: .danjeh)
        XCTAssertEqual(parser.parse("L1:09121234567"), [.callerID(line: "1", number: "09121234567")])
        XCTAssertEqual(parser.parse("L2 hook-off"), [.offHook(line: "2")])
        XCTAssertEqual(parser.parse("L2 hook-on"), [.onHook(line: "2")])
        XCTAssertEqual(parser.parse("L2 Dialed:0912"), [.dialed(line: "2", digits: "0912")])
        XCTAssertEqual(parser.parse("L1"), [.ring(line: "1", count: nil)])
        guard case .unparsed = parser.parse("L109121234567")[0] else { return XCTFail("no separator: line and number cannot be told apart") }
        guard case .unparsed = parser.parse("L1 busy tone")[0] else { return XCTFail("undocumented shapes are not guessed") }

        var decoder = CallerIDDecoder(settings: segalSettings { $0.protocol = .danjeh })
        let events = feed(&decoder, [
            (0, "L1:09121234567@"), (4, "L1:09121234567@"), (6, "L1 hook-off@"), (66, "L1 hook-on@"),
            (70, "L2 hook-off@"), (72, "L2 Dialed:02188776655@"), (100, "L2 hook-on@"),
        ])
        let calls = calls(in: events)
        XCTAssertEqual(calls.map(\.direction), [.inbound, .outbound])
        XCTAssertEqual(calls.map(\.durationSec), [60, 30])
        XCTAssertEqual(calls.last?.to, "+982188776655")
        XCTAssertEqual(events.filter { $0.type == .callRinging }.count, 1, "a repeated caller-ID record is the same call")
    }

    func testReplayGivesIdenticalIdsAndRecordsGetDistinctIds() throws {
        let text = try fixtureSections("callerid/segal_ojsegal_serial_sample.txt").joined()
        func run() -> [CallEvent] {
            var decoder = CallerIDDecoder(settings: segalSettings())
            return decoder.receive(Array(text.utf8), now: testStart) + decoder.finish(now: testStart.adding(seconds: 60))
        }
        let first = run()
        XCTAssertEqual(first, run())
        XCTAssertEqual(Set(first.map(\.eventId)).count, first.count)
    }

    func testSettingsDecodeWithDefaults() throws {
        let settings = try JSONDecoder().decode(CallerIDSettings.self, from: Data(#"{"systemKey":"shop","protocol":"modem"}"#.utf8))
        XCTAssertEqual(settings.systemKey, "shop")
        XCTAssertEqual(settings.protocol, .modem)
        XCTAssertEqual(settings.ringTimeoutSeconds, 10)
        XCTAssertEqual(settings.modemInitString, "AT+VCID=1")
        XCTAssertEqual(settings.segalDurationFormat, .minutesSeconds)
        XCTAssertEqual(settings.usageType, "")
        XCTAssertFalse(settings.recording)
    }
}
