import XCTest
import TamasEvents

final class CallAssemblerTests: XCTestCase {
    let start = Timestamp(iso8601: "2026-11-26T14:05:09+03:30")!

    func events() -> [CallEvent] {
        [
            CallEvent(eventId: "r", type: .callRinging, systemKey: "K", source: "ami", at: start, callId: "c",
                      direction: .inbound, from: "+982188776655", to: "200", extensions: ["201", "202"]),
            CallEvent(eventId: "a", type: .callAnswered, systemKey: "K", source: "ami", at: start.adding(seconds: 8),
                      callId: "c", direction: .inbound, from: "+982188776655", extension: "202", answeredBy: "202"),
            CallEvent(eventId: "e", type: .callEnded, systemKey: "K", source: "ami", at: start.adding(seconds: 68),
                      callId: "c", direction: .inbound, from: "+982188776655", extension: "202",
                      disposition: .answered, startedAt: start, answeredAt: start.adding(seconds: 8),
                      endedAt: start.adding(seconds: 68), ringSec: 8, durationSec: 60),
        ]
    }

    func fold(_ list: [CallEvent]) -> CallRecord? {
        list.reduce(nil) { CallAssembler.apply($1, to: $0) }
    }

    func testEveryArrivalOrderGivesTheSameCall() throws {
        let list = events()
        let orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
        let reference = try XCTUnwrap(fold(list))
        XCTAssertEqual(reference.phase, .ended)
        XCTAssertEqual(reference.answeredBy, "202")
        XCTAssertEqual(reference.disposition, .answered)
        XCTAssertEqual(reference.durationSec, 60)
        XCTAssertEqual(reference.startedAt, start)
        XCTAssertEqual(Set(reference.extensions), ["201", "202"])
        for order in orders {
            var call = try XCTUnwrap(fold(order.map { list[$0] }))
            call.extensions.sort()
            var expected = reference
            expected.extensions.sort()
            XCTAssertEqual(call, expected, "order \(order)")
        }
    }

    func testLateRingingDoesNotReopen() throws {
        let list = events()
        let ended = try XCTUnwrap(fold([list[2]]))
        let late = try XCTUnwrap(CallAssembler.apply(list[0], to: ended))
        XCTAssertEqual(late.phase, .ended)
        XCTAssertEqual(late.disposition, .answered)
        XCTAssertEqual(late.to, "200", "the late event still fills what was missing")
    }

    func testNonCallEventsLeaveTheRecordAlone() {
        let status = CallEvent(eventId: "s", type: .agentStatus, systemKey: "K", source: "ami", at: start, state: "connected")
        XCTAssertNil(CallAssembler.apply(status, to: nil))
    }
}
