import Foundation
import TamasEvents
import TestSupport
import XCTest

/// Editing and removing endpoints the way an operator does, with `tamasctl crm` and the admin
/// API of a real collector, a real agent and PayamGostar doubles on loopback.
final class CRMEndpointAdminTests: XCTestCase {
    /// The CRM moved to a new server where Tamas signs in as another user: one edit, and the
    /// next call goes there, signed in as that user, while the collector keeps running.
    func testAnEditedAddressAndUserTakeTheNextCallToTheNewCRM() throws {
        let old = PayamGostarDouble(password: "pw")
        let new = PayamGostarDouble(password: "pw")
        new.update { $0.userName = "tamas" }
        old.server.start()
        new.server.start()
        defer { old.server.stop(); new.server.stop() }
        let harness = try DeliveryHarness("crm-edit")
        try harness.addEndpoint("pg", kind: "payamgostar", url: old.url, secret: "pw")
        harness.send(Calls.missed("before"))
        XCTAssertTrue(try harness.waitUntilDrained("pg", events: 2, timeout: 30), harness.diagnosis("pg"))

        let edited = try harness.editEndpoint("pg", ["--url", new.url, "--user", "tamas", "--system", "office1", "--system", "office2",
                                                     "--timeout", "3"])
        let view = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(edited.utf8)) as? [String: Any])
        XCTAssertEqual(view["url"] as? String, new.url)
        XCTAssertEqual(view["user"] as? String, "tamas")
        XCTAssertEqual(view["systemKeys"] as? [String], ["office1", "office2"])
        XCTAssertEqual((view["options"] as? [String: Any])?["timeoutSeconds"] as? Int, 3)
        XCTAssertEqual((view["options"] as? [String: Any])?["maxBackoffSeconds"] as? Int, 2, "an option not named keeps its value")

        harness.send(Calls.missed("after", offset: 60))
        XCTAssertTrue(try harness.waitUntilDrained("pg", events: 4, timeout: 30), harness.diagnosis("pg"))
        XCTAssertEqual(new.acceptedSummary(source: "after"), PayamGostarDouble.expected("after", answered: false))
        XCTAssertEqual(new.read { $0.issued }, 1, "signed in at the new CRM as the new user")
        XCTAssertEqual(old.acceptedSummary(source: "after"), [], "the old CRM got the call delivered after the edit")
        XCTAssertTrue(harness.collector.log.contains("CRM endpoint edited"), harness.collector.log.suffix(2000).description)
        XCTAssertFalse(harness.collector.log.contains("\"pw\""), "a secret leaked into the log")
    }

    func testTheAdminAPIRefusesABadEditNamingTheField() throws {
        let harness = try DeliveryHarness("crm-edit-api")
        try harness.addEndpoint("hook", kind: "webhook", url: "http://127.0.0.1:9", secret: "webhook secret")
        let cases: [(body: String, status: Int, message: String)] = [
            (#"{"url": "ftp://crm.example.com"}"#, 400, "url: the CRM address must be http://host[:port][/prefix]"),
            (#"{"systemKeys": []}"#, 400, "systemKeys: an endpoint serves at least one system key"),
            (#"{"options": {"numberPlan": {"countryCode": "+98"}}}"#, 400, "options.numberPlan.countryCode: must be digits only, not '+98'"),
            (#"{"options": {"timeout": 5}}"#, 400, "options.timeout: unknown option; known: "),
            (#"{"user": "bob"}"#, 400, "user: only a PayamGostar endpoint signs in with a user name"),
            (#"{"secret": "new webhook secret"}"#, 400, "secret: the secret is changed with PUT /api/v1/crm/{name}/password"),
            ("{}", 400, "nothing to change"),
        ]
        for (body, status, message) in cases {
            let answer = try harness.api("PATCH", "/api/v1/crm/hook", body: body)
            XCTAssertEqual(answer.status, status, body)
            XCTAssertTrue(DeliveryHarness.message(answer.body).hasPrefix(message), "\(body): \(answer.body)")
            XCTAssertFalse(answer.body.contains("secret\":") || answer.body.contains("new webhook secret"), answer.body)
        }
        let addWithUser = try harness.api("POST", "/api/v1/crm", body: #"""
            {"name": "zammad", "kind": "zammad", "url": "https://zammad.example.com", "user": "bob", "secret": "token",
             "systemKeys": ["office1"]}
            """#)
        XCTAssertEqual(addWithUser.status, 400, "add took a user its kind has no use for")
        XCTAssertEqual(DeliveryHarness.message(addWithUser.body), "user: only a PayamGostar endpoint signs in with a user name")
        XCTAssertEqual(try harness.endpoints().compactMap { $0["name"] as? String }, ["hook"])
        XCTAssertEqual(try harness.api("PATCH", "/api/v1/crm/nobody", body: #"{"url": "https://crm.example.com"}"#).status, 404)
        XCTAssertEqual(try harness.api("DELETE", "/api/v1/crm/nobody").status, 404)
        XCTAssertEqual(try harness.api("DELETE", "/api/v1/crm/hook?force=yes").status, 400)
        XCTAssertEqual(try harness.endpoint("hook")["url"] as? String, "http://127.0.0.1:9", "refused edits changed nothing")

        let failed = try runToolAllowingFailure("tamasctl", ["crm", "edit", "hook", "--number-plan", "countryCode", "--data-dir",
                                                             harness.collector.dataDir.path, "--collector", harness.collector.url])
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertTrue(failed.error.contains("--number-plan 'countryCode' is not KEY=VALUE"), failed.error)
    }

    /// A cautious admin is told what removing would lose, and loses it only when saying so.
    func testRemovingRefusesWhileDeliveriesWaitUnlessForcedAndSaysWhatItDropped() throws {
        let crm = PayamGostarDouble(password: "pw")
        crm.server.start()
        defer { crm.server.stop() }
        let harness = try DeliveryHarness("crm-remove")
        try harness.addEndpoint("pg", kind: "payamgostar", url: crm.url, secret: "pw")
        try harness.addEndpoint("idle", kind: "webhook", url: "http://127.0.0.1:9", secret: "s", systems: ["elsewhere"])
        harness.send(Calls.missed("delivered"))
        XCTAssertTrue(try harness.waitUntilDrained("pg", events: 2, timeout: 30), harness.diagnosis("pg"))
        let metricsBefore = try harness.collector.metrics()
        XCTAssertNotNil(metricsBefore["tamas_crm_backlog_events{endpoint=\"pg\"}"], "\(metricsBefore.keys.sorted())")

        try harness.tamasctl(["crm", "pause", "pg"])
        harness.send(Calls.inboundAnswered("waiting", offset: 60))
        XCTAssertTrue(try eventually(timeout: 20, every: 0.5) { try harness.endpoint("pg")["backlog"] as? Int == 3 }, harness.diagnosis("pg"))
        let refused = try runToolAllowingFailure("tamasctl", ["crm", "remove", "pg", "--data-dir", harness.collector.dataDir.path,
                                                              "--url", harness.collector.url])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.error.contains("409") && refused.error.contains("3 queued and 0 parked") && refused.error.contains("--force"),
                      refused.error)
        XCTAssertEqual(try harness.endpoint("pg")["backlog"] as? Int, 3, "a refused removal drops nothing")

        let forced = try harness.tamasctl(["crm", "remove", "pg", "--force"])
        let removal = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(forced.utf8)) as? [String: Any])
        XCTAssertEqual(removal["removed"] as? String, "pg")
        XCTAssertEqual(removal["droppedQueued"] as? Int, 3)
        XCTAssertEqual(removal["droppedParked"] as? Int, 0)
        XCTAssertEqual(try harness.endpoints().compactMap { $0["name"] as? String }, ["idle"])
        let idle = try harness.api("DELETE", "/api/v1/crm/idle")
        XCTAssertEqual(idle.status, 200, "nothing waits for it, so no force is needed")
        XCTAssertTrue(idle.body.contains(#""droppedQueued":0"#), idle.body)

        let gone = try eventually(timeout: 20, every: 0.5) {
            try harness.collector.metrics().keys.allSatisfy { !$0.contains("endpoint=\"pg\"") }
        }
        XCTAssertTrue(gone, "the removed endpoint's lanes still run (its figures stay in /metrics)")
        XCTAssertTrue(harness.collector.log.contains("CRM endpoint removed"), harness.collector.log.suffix(2000).description)
        harness.send(Calls.missed("after-removal", offset: 120))
        XCTAssertTrue(try eventually(timeout: 20, every: 0.5) { try harness.callEvents() == 7 })
        sleep(1)
        XCTAssertEqual(crm.acceptedSummary(source: "waiting") + crm.acceptedSummary(source: "after-removal"), [])
    }

    /// A system taken away while PayamGostar is still answering the sign-in that its call's
    /// delivery began with: that request is the last of the delivery (no CallCreate follows),
    /// nothing else queued of the call is sent, and the edit's answer counts what it dropped.
    func testTakingASystemAwayDuringADeliveryEndsItAfterTheRequestOnTheWire() throws {
        let crm = PayamGostarDouble(password: "pw")
        // Long enough for the test to look at the store and run `tamasctl crm edit` meanwhile,
        // even on a loaded machine.
        crm.update { $0.answerDelaySeconds = 8 }
        crm.server.start()
        defer { crm.server.stop() }
        let harness = try DeliveryHarness("crm-edit-systems-in-flight")
        try harness.addEndpoint("pg", kind: "payamgostar", url: crm.url, secret: "pw", extra: ["--timeout", "15"])
        harness.send(Calls.inboundAnswered("on-the-wire"))
        XCTAssertTrue(eventually(timeout: 30, every: 0.1) { crm.read { $0.all.contains { $0.path == "/api/v1/auth" } } },
                      harness.diagnosis("pg"))
        XCTAssertTrue(try eventually(timeout: 20, every: 0.1) { try harness.callEvents() == 3 }, harness.diagnosis("pg"))

        let edited = try harness.editEndpoint("pg", ["--system", "office2"])
        let view = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(edited.utf8)) as? [String: Any])
        XCTAssertEqual(view["droppedQueued"] as? Int, 3, "the ringing on the wire, the answer and the end: \(edited)")
        XCTAssertEqual(view["backlog"] as? Int, 0)
        XCTAssertTrue(eventually(timeout: 20, every: 0.5) { crm.read { $0.issued } == 1 })
        // The token is counted when the sign-in arrives and answered 8 s later; a CallCreate
        // would follow the answer at once.
        sleep(11)
        XCTAssertFalse(harness.collector.log.contains("CRM delivery worker error"), harness.collector.log.suffix(3000).description)
        XCTAssertEqual(crm.read { $0.all.filter { $0.path.hasPrefix("/api/v1/telephony") }.map(\.path) }, [],
                       "the dropped delivery went on after the sign-in")
        XCTAssertTrue(harness.collector.log.contains("droppedQueued=3"), harness.collector.log.suffix(2000).description)
    }

    /// Removed while PayamGostar is still answering CallCreate: the delivery on the wire ends
    /// quietly, keeps nothing for the endpoint that is gone, and nothing more is sent.
    func testRemovingDuringADeliveryEndsItQuietly() throws {
        let crm = PayamGostarDouble(password: "pw")
        crm.update { $0.answerDelaySeconds = 1.5 }
        crm.server.start()
        defer { crm.server.stop() }
        let harness = try DeliveryHarness("crm-remove-in-flight")
        try harness.addEndpoint("pg", kind: "payamgostar", url: crm.url, secret: "pw")
        harness.send(Calls.missed("on-the-wire"))
        XCTAssertTrue(eventually(timeout: 30, every: 0.1) { crm.read { $0.all.contains { $0.path == "/api/v1/telephony/call" } } },
                      harness.diagnosis("pg"))
        try harness.tamasctl(["crm", "remove", "pg", "--force"])
        XCTAssertTrue(eventually(timeout: 20, every: 0.5) { crm.read { $0.creates["on-the-wire"] } == 1 })
        sleep(3)
        XCTAssertFalse(harness.collector.log.contains("CRM delivery worker error"), harness.collector.log.suffix(3000).description)
        XCTAssertEqual(crm.read { $0.all.filter { $0.path.hasPrefix("/api/v1/telephony/channel") }.count }, 0,
                       "the removed endpoint's delivery went on after CallCreate")
    }
}
