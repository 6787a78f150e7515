import Foundation
import TamasEvents
import TestSupport
import XCTest

/// Agent → collector → a Zammad generic-CTI double, with real processes: each call arrives as
/// exactly the newCall/answer/hangup sequence Zammad's caller log needs.
final class CRMZammadTests: XCTestCase {
    static let token = "cti-token-9f2c"

    func event(_ id: String, _ type: EventType, _ call: String, at seconds: Int, direction: Direction,
               change: (inout CallEvent) -> Void = { _ in }) -> CallEvent {
        var event = CallEvent(eventId: "\(call)-\(id)", type: type, systemKey: "office1", source: "jsonl",
                              at: Calls.start.adding(seconds: seconds), callId: call, direction: direction)
        change(&event)
        return event
    }

    func testInboundAnsweredInboundMissedAndOutboundArriveAsZammadCTISequences() throws {
        let zammad = ZammadCTIDouble(token: Self.token)
        zammad.server.start()
        defer { zammad.server.stop() }
        let harness = try DeliveryHarness("zammad-cti")
        try harness.addEndpoint("zammad", kind: "zammad", url: zammad.url, secret: Self.token, extra: [
            "--zammad-user", "201=Emma Taylor", "--zammad-user", "202=Noah Wilson", "--zammad-user", "301=Christopher Miller",
            "--timeout", "2", "--max-backoff", "2",
        ])
        let inbound: (inout CallEvent) -> Void = { $0.from = "+989121234567"; $0.to = "+982188776655"; $0.line = "1" }
        let answeredIn = [
            event("r", .callRinging, "zin-answered", at: 0, direction: .inbound) { inbound(&$0); $0.extensions = ["201", "202"] },
            event("a", .callAnswered, "zin-answered", at: 6, direction: .inbound) { inbound(&$0); $0.answeredBy = "202" },
            event("e", .callEnded, "zin-answered", at: 66, direction: .inbound) {
                inbound(&$0); $0.disposition = .answered; $0.answeredBy = "202"; $0.durationSec = 60
                $0.startedAt = Calls.start; $0.answeredAt = Calls.start.adding(seconds: 6); $0.endedAt = Calls.start.adding(seconds: 66)
            },
        ]
        let missedIn = [
            event("r", .callRinging, "zin-missed", at: 100, direction: .inbound) { inbound(&$0); $0.extensions = ["201"] },
            event("e", .callEnded, "zin-missed", at: 120, direction: .inbound) {
                inbound(&$0); $0.disposition = .missed; $0.durationSec = 0
                $0.startedAt = Calls.start.adding(seconds: 100); $0.endedAt = Calls.start.adding(seconds: 120)
            },
        ]
        let outward: (inout CallEvent) -> Void = { $0.from = "301"; $0.to = "+989351112233"; $0.extension = "301"; $0.line = "2" }
        let outbound = [
            event("r", .callRinging, "zout", at: 200, direction: .outbound) { outward(&$0) },
            event("a", .callAnswered, "zout", at: 210, direction: .outbound) { outward(&$0) },
            event("e", .callEnded, "zout", at: 250, direction: .outbound) {
                outward(&$0); $0.disposition = .answered; $0.durationSec = 40
                $0.startedAt = Calls.start.adding(seconds: 200); $0.answeredAt = Calls.start.adding(seconds: 210)
                $0.endedAt = Calls.start.adding(seconds: 250)
            },
        ]
        harness.send(answeredIn + missedIn + outbound)
        XCTAssertTrue(try harness.waitUntilDrained("zammad", events: 8, timeout: 30), harness.diagnosis("zammad"))

        let inHead = "from=989121234567&to=982188776655&direction=in"
        XCTAssertEqual(zammad.summary(callId: "zin-answered"), [
            "event=newCall&\(inHead)&callId=zin-answered&user[]=Emma Taylor&user[]=Noah Wilson",
            "event=answer&\(inHead)&callId=zin-answered&user[]=Noah Wilson&answeringNumber=202",
            "event=hangup&\(inHead)&callId=zin-answered&user[]=Noah Wilson&answeringNumber=202&cause=normalClearing",
        ])
        XCTAssertEqual(zammad.summary(callId: "zin-missed"), [
            "event=newCall&\(inHead)&callId=zin-missed&user[]=Emma Taylor",
            "event=hangup&\(inHead)&callId=zin-missed&cause=cancel",
        ], "a missed call has no answer, and the caller hung up first")
        let outHead = "from=301&to=989351112233&direction=out&callId=zout&user[]=Christopher Miller"
        XCTAssertEqual(zammad.summary(callId: "zout"), [
            "event=newCall&\(outHead)",
            "event=answer&\(outHead)",
            "event=hangup&\(outHead)&cause=normalClearing",
        ])
        XCTAssertEqual(zammad.read { $0.refused }, [], "Zammad refused nothing")
        XCTAssertEqual(try harness.endpoint("zammad")["state"] as? String, "ok")

        // A replay sends nothing Zammad already has: a second newCall would log the call twice.
        let replay = try harness.tamasctl(["crm", "replay", "zammad", "--since", Calls.start.iso8601])
        XCTAssertTrue(replay.contains("\"queued\""), replay)
        XCTAssertTrue(try harness.waitUntilDrained("zammad", events: 8, timeout: 30), harness.diagnosis("zammad"))
        XCTAssertEqual(zammad.read { $0.accepted.count }, 8)
        XCTAssertFalse(harness.collector.log.contains(Self.token), "the CTI token is a secret")
    }
}
