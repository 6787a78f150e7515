import Foundation
import TamasEvents
import TestSupport
import XCTest

/// Agent → collector → PayamGostar with real processes and a PayamGostar double on loopback.
final class CRMPayamGostarTests: XCTestCase {
    func testAnsweredAndMissedInboundCallsArriveAsTheExactPayamGostarRequestSequence() throws {
        let crm = PayamGostarDouble(password: "pg pass&word")
        crm.server.start()
        defer { crm.server.stop() }
        let harness = try DeliveryHarness("pg-sequence")
        try harness.addEndpoint("pg", kind: "payamgostar", url: crm.url, user: "admin", secret: "pg pass&word")
        harness.send(Calls.inboundAnswered("answered-1"))
        XCTAssertTrue(try harness.waitUntilDrained("pg", events: 3, timeout: 30), harness.diagnosis("pg"))
        harness.send(Calls.missed("missed-1", offset: 100))
        XCTAssertTrue(try harness.waitUntilDrained("pg", events: 5, timeout: 30), harness.diagnosis("pg"))

        let answered = crm.acceptedSummary(source: "answered-1")
        let missed = crm.acceptedSummary(source: "missed-1")
        print("answered:\n" + answered.joined(separator: "\n") + "\nmissed:\n" + missed.joined(separator: "\n"))
        XCTAssertEqual(answered, PayamGostarDouble.expected("answered-1", answered: true))
        XCTAssertEqual(missed, PayamGostarDouble.expected("missed-1", answered: false))
        let signIns = crm.read { $0.all.filter { $0.path == "/api/v1/auth" } }
        XCTAssertEqual(signIns.count, 1, "the token is kept in the session and reused")
        XCTAssertEqual(String(decoding: signIns.first?.body ?? Data(), as: UTF8.self),
                       "username=admin&password=pg+pass%26word&grant_type=password")
        let endpoint = try harness.endpoint("pg")
        XCTAssertEqual(endpoint["state"] as? String, "ok")
        XCTAssertEqual(endpoint["parked"] as? Int, 0)
        XCTAssertNotNil(endpoint["lastSuccessAt"] as? String)
        let listing = try harness.tamasctl(["crm"])
        XCTAssertTrue(listing.contains("pg") && listing.contains("ok"), listing)
        for text in [listing, try harness.tamasctl(["crm", "--json"]), harness.collector.log] {
            XCTAssertFalse(text.contains("pass&word") || text.contains("token-1"), "a secret leaked")
        }
        let database = try Data(contentsOf: harness.collector.dataDir.appendingPathComponent("collector.sqlite"))
        XCTAssertNil(database.range(of: Data("pass&word".utf8)), "the password is stored encrypted")
        let metrics = try runTool("/usr/bin/curl", ["-s", harness.collector.url + "/metrics"])
        let crmLines = metrics.split(separator: "\n").filter { $0.hasPrefix("tamas_crm") }.joined(separator: "\n")
        XCTAssertTrue(crmLines.contains("tamas_crm_deliveries_total{endpoint=\"pg\",result=\"done\"} 5"), crmLines)
        XCTAssertTrue(crmLines.contains("tamas_crm_backlog_events{endpoint=\"pg\"} 0"), crmLines)
    }

    /// The endpoint's number plan decides what PayamGostar users see: a German caller is
    /// `030…` to a CRM whose system's plan says country 49, `0049 30…` under the default (Iran).
    func testTheEndpointsNumberPlanWritesTheNumbersPayamGostarReceives() throws {
        let crm = PayamGostarDouble(password: "pw")
        crm.server.start()
        defer { crm.server.stop() }
        let harness = try DeliveryHarness("pg-number-plan")
        let added = try harness.addEndpoint("pg", kind: "payamgostar", url: crm.url, secret: "pw",
                                            extra: ["--number-plan", "countryCode=49", "--number-plan", "maxExtensionLength=4"])
        XCTAssertTrue(added.contains(#""countryCode":"49""#), added)
        let berlin = "+493023125741"
        harness.send(Calls.inboundAnswered("de-1", from: berlin))
        XCTAssertTrue(try harness.waitUntilDrained("pg", events: 3, timeout: 30), harness.diagnosis("pg"))
        XCTAssertEqual(crm.acceptedSummary(source: "de-1").first,
                       "POST /api/v1/telephony/call SourceId=de-1 CallTypeIndex=1 InitChannelPeerName=1 InitChannelPeerTypeIndex=2 IsLive=true PhoneNumber=03023125741")

        // Back to the default plan by an edit, without a restart: the next call is written the Iranian way.
        try harness.editEndpoint("pg", ["--reset-option", "numberPlan"])
        harness.send(Calls.inboundAnswered("de-2", offset: 100, from: berlin))
        XCTAssertTrue(try harness.waitUntilDrained("pg", events: 6, timeout: 30), harness.diagnosis("pg"))
        XCTAssertEqual(crm.acceptedSummary(source: "de-2").last, "PUT /api/v1/telephony/call CallTypeIndex=2 IsLive=false PhoneNumber=00493023125741")
    }

    /// Tamas assembles a transfer into one call (`transferredTo`), so PayamGostar gets one call
    /// whose transferring extension hangs up as Transfered and whose target has its own channel;
    /// MergeCall joins two PayamGostar calls, and there is no second one to join (docs/crm.md).
    func testTransferredCallIsOneCallWithATransferedChannelAndNoMerge() throws {
        let crm = PayamGostarDouble(password: "pw")
        crm.server.start()
        defer { crm.server.stop() }
        let harness = try DeliveryHarness("pg-transfer")
        try harness.addEndpoint("pg", kind: "payamgostar", url: crm.url, user: "admin", secret: "pw")
        var events = Calls.inboundAnswered("xfer-1")
        events[2].transferredTo = "205"
        events[2].answeredBy = "201"
        harness.send(events)
        XCTAssertTrue(try harness.waitUntilDrained("pg", events: 3, timeout: 30), harness.diagnosis("pg"))

        let head = PayamGostarDouble.expected("xfer-1", answered: true).prefix(4)
        XCTAssertEqual(crm.acceptedSummary(source: "xfer-1"), head + [
            "POST /api/v1/telephony/channel ChannelPeerName=205 ChannelSourceId=xfer-1/ext/205 ChannelStatusIndex=4 IsLive=false",
            "PUT /api/v1/telephony/channel ChannelStatusIndex=4 ChannelResponseIndex=2 IsLive=false",
            "PUT /api/v1/telephony/channel ChannelStatusIndex=4 ChannelResponseIndex=4 IsLive=false",
            "PUT /api/v1/telephony/channel ChannelStatusIndex=4 ChannelResponseIndex=2 IsLive=false",
            "PUT /api/v1/telephony/call CallTypeIndex=2 IsLive=false PhoneNumber=09121234567",
        ], "channels in order trunk, 201, 205: trunk Answered, 201 Transfered, 205 Answered, then CallUpdate")
        XCTAssertEqual(crm.read { $0.merges.count }, 0, "one PayamGostar call: nothing to merge")
        XCTAssertEqual(crm.read { $0.creates["xfer-1"] }, 1)
    }
}
