@testable import CRMDelivery
import Foundation
import GRDB
import TamasEvents
import XCTest

/// Editing and removing endpoints while their lanes run, with the collector's store, ingest and
/// delivery service in this process and CRMs on loopback. Idle lanes here would sleep an hour
/// without a ring, so whatever an edit changes reached the lanes through the endpoint's doorbell.
final class CRMEndpointEditTests: XCTestCase {
    private let anHour = Duration.seconds(3600)

    private func options(_ json: String) throws -> EndpointOptionsPatch {
        try JSONDecoder().decode(EndpointOptionsPatch.self, from: Data(json.utf8))
    }

    func testTheNextDeliveryOfAnIdleLaneGoesToTheEditedAddress() async throws {
        let old = SecretCheckingReceiver(knownSecrets: ["s"], accepting: ["s"])
        let new = SecretCheckingReceiver(knownSecrets: ["s"], accepting: ["s"])
        defer { old.server.stop(); new.server.stop() }
        let collector = try await InProcessCollector("edit-url", idlePollInterval: anHour)
        try await collector.addWebhook("hook", url: old.url, secret: "s")
        collector.startDelivery()
        let before = Calls.missed("before")
        try await collector.ingest(before)
        let deliveredBefore = await becomesTrue(within: .seconds(30)) { before.allSatisfy { old.hasReceived($0.eventId) } }
        XCTAssertTrue(deliveredBefore)

        let view = try await collector.admin.edit(name: "hook", EndpointEdit(url: new.url + "/"))
        XCTAssertEqual(view.url, new.url, "stored as add stores it, without the trailing slash")
        let after = Calls.missed("after", offset: 60)
        try await collector.ingest(after)
        let deliveredAfter = await becomesTrue(within: .seconds(30)) { after.allSatisfy { new.hasReceived($0.eventId) } }
        XCTAssertTrue(deliveredAfter, "the lane kept the address it read before the edit")
        XCTAssertFalse(after.contains { old.hasReceived($0.eventId) }, "the old address got a delivery after the edit")
        let stopped = await collector.stopDelivery()
        XCTAssertTrue(stopped)
    }

    /// An admin who points a failing endpoint at the CRM's new address sees the backlog go at
    /// once, not after the hour the old address asked for.
    func testANewAddressEndsABackoffFromTheOldOne() async throws {
        let old = SwitchableCRM(refusal: FakeAnswer(status: 503, body: "{}", retryAfter: "3600"))
        let new = SecretCheckingReceiver(knownSecrets: ["s"], accepting: ["s"])
        defer { old.server.stop(); new.server.stop() }
        let collector = try await InProcessCollector("edit-backoff", idlePollInterval: anHour)
        try await collector.addWebhook("hook", url: old.server.url, secret: "s", parallelCalls: 1, maxBackoffSeconds: 3600)
        collector.startDelivery()
        let call = Calls.missed("moved")
        try await collector.ingest(call)
        let backingOff = try await becomesTrue(within: .seconds(30)) { try await collector.admin.view(named: "hook").state == "retrying" }
        XCTAssertTrue(backingOff)

        _ = try await collector.admin.edit(name: "hook", EndpointEdit(url: new.url))
        let delivered = await becomesTrue(within: .seconds(30)) { call.allSatisfy { new.hasReceived($0.eventId) } }
        XCTAssertTrue(delivered, "the backlog waited out the old address's backoff")
        let stopped = await collector.stopDelivery()
        XCTAssertTrue(stopped)
    }

    /// The edit lands while the old address is still thinking about its answer (a 503 asking
    /// for an hour): the retry time that answer sets must not outlast the edit.
    func testANewAddressGivenDuringAFailingAttemptIsTriedAtOnce() async throws {
        let gate = Gate()
        let old = SwitchableCRM(refusal: FakeAnswer(status: 503, body: "{}", retryAfter: "3600", answerAfter: { await gate.passed() }))
        let new = SecretCheckingReceiver(knownSecrets: ["s"], accepting: ["s"])
        defer { old.server.stop(); new.server.stop() }
        let collector = try await InProcessCollector("edit-in-flight", idlePollInterval: anHour)
        try await collector.addWebhook("hook", url: old.server.url, secret: "s", parallelCalls: 1, maxBackoffSeconds: 3600)
        collector.startDelivery()
        let call = Calls.missed("moved")
        try await collector.ingest(call)
        let inFlight = await becomesTrue(within: .seconds(30)) { old.refusals > 0 }
        XCTAssertTrue(inFlight)

        _ = try await collector.admin.edit(name: "hook", EndpointEdit(url: new.url))
        gate.open()
        let delivered = await becomesTrue(within: .seconds(30)) { call.allSatisfy { new.hasReceived($0.eventId) } }
        XCTAssertTrue(delivered, "the old address's Retry-After outlasted the edit")
        let stopped = await collector.stopDelivery()
        XCTAssertTrue(stopped)
    }

    /// One lane holds a call the CRM is slow to answer; after `parallelCalls` goes from 1 to 3
    /// another call goes out beside it, and nothing is delivered twice.
    func testEditingParallelCallsSplitsTheRunningLanesTheNewWay() async throws {
        let receiver = SecretCheckingReceiver(knownSecrets: ["s"], accepting: ["s"])
        defer { receiver.server.stop() }
        let collector = try await InProcessCollector("edit-lanes", idlePollInterval: anHour)
        try await collector.addWebhook("hook", url: receiver.url, secret: "s", parallelCalls: 1)
        collector.startDelivery()
        let first = Calls.missed("first")
        try await collector.ingest(first)
        let deliveredFirst = await becomesTrue(within: .seconds(30)) { first.allSatisfy { receiver.hasReceived($0.eventId) } }
        XCTAssertTrue(deliveredFirst)

        _ = try await collector.admin.edit(name: "hook", EndpointEdit(options: try options(#"{"parallelCalls": 3}"#)))
        // The lone lane ends when it next looks at its endpoint, before delivering anything more,
        // so a call delivered after the edit was delivered by the new lanes.
        let probe = Calls.missed("probe", offset: 30)
        try await collector.ingest(probe)
        let deliveredProbe = await becomesTrue(within: .seconds(30)) { probe.allSatisfy { receiver.hasReceived($0.eventId) } }
        XCTAssertTrue(deliveredProbe)
        let gate = Gate()
        receiver.hold("slow-r", until: gate)
        let slow = Calls.missed("slow", offset: 60)
        let quick = Calls.missed("quick", offset: 61)
        try await collector.ingest(slow)
        let slowInFlight = await becomesTrue(within: .seconds(30)) { receiver.hasReceived("slow-r") }
        XCTAssertTrue(slowInFlight)
        try await collector.ingest(quick)
        let quickBeside = await becomesTrue(within: .seconds(30)) { receiver.hasReceived("quick-r") }
        gate.open()
        XCTAssertTrue(quickBeside, "a second call waited behind the held one: the lanes were not split again")
        let all = (first + probe + slow + quick).map(\.eventId)
        let delivered = await becomesTrue(within: .seconds(30)) { all.allSatisfy { receiver.hasReceived($0) } }
        XCTAssertTrue(delivered)
        XCTAssertEqual(receiver.requests.map(\.eventId).sorted(), all.sorted(), "each event exactly once")
        let stopped = await collector.stopDelivery()
        XCTAssertTrue(stopped)
    }

    func testRemovingRefusesWhileDeliveriesWaitAndWithForceDropsThemAndStopsTheLanes() async throws {
        let crm = SwitchableCRM(refusal: FakeAnswer(status: 503, body: "{}", retryAfter: "3600"))
        defer { crm.server.stop() }
        let collector = try await InProcessCollector("remove", idlePollInterval: anHour)
        try await collector.addWebhook("hook", url: crm.server.url, secret: "s", parallelCalls: 2, maxBackoffSeconds: 3600)
        collector.startDelivery()
        let call = Calls.inboundAnswered("kept")
        try await collector.ingest(call)
        let refused = await becomesTrue(within: .seconds(30)) { crm.refusals > 0 }
        XCTAssertTrue(refused)
        let id = try await collector.store.database.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM crm_endpoints WHERE name = 'hook'") }
        let hasFigures = await becomesTrue(within: .seconds(30)) { self.metrics(of: collector).contains("endpoint=\"hook\"") }
        XCTAssertTrue(hasFigures)

        do {
            _ = try await collector.admin.remove(name: "hook", force: false)
            XCTFail("removed with 3 deliveries waiting")
        } catch let failure as CRMStore.Failure {
            XCTAssertTrue(failure.description.contains("3 queued and 0 parked"), failure.description)
        }
        let stillThere = try await collector.admin.view(named: "hook")
        XCTAssertEqual(stillThere.backlog, 3, "a refused removal drops nothing")

        let removal = try await collector.admin.remove(name: "hook", force: true)
        XCTAssertEqual(removal, EndpointRemoval(removed: "hook", droppedQueued: 3, droppedParked: 0))
        let left = try await collector.store.database.read { db in
            try ["crm_outbox", "crm_call_state", "crm_endpoint_systems"].map { table in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table) WHERE endpoint_id = ?", arguments: [id]) ?? -1
            }
        }
        XCTAssertEqual(left, [0, 0, 0], "outbox, call state, systems")
        // The figures go only once every lane of the endpoint has ended.
        let lanesEnded = await becomesTrue(within: .seconds(30)) { !self.metrics(of: collector).contains("endpoint=\"hook\"") }
        XCTAssertTrue(lanesEnded, "the removed endpoint's lanes run on:\n\(metrics(of: collector))")

        let refusalsBefore = crm.refusals
        crm.accept()
        try await collector.ingest(Calls.missed("after-removal", offset: 60))
        try await Task.sleep(for: .milliseconds(500))
        XCTAssertEqual(crm.refusals, refusalsBefore)
        XCTAssertEqual(crm.accepted, [], "a removed endpoint got a delivery")
        do {
            _ = try await collector.admin.view(named: "hook")
            XCTFail("still listed")
        } catch CRMStore.Failure.notFound {}
        let stopped = await collector.stopDelivery()
        XCTAssertTrue(stopped)
    }

    func testEditsFollowTheRulesOfAddAndNameTheField() async throws {
        let collector = try await InProcessCollector("edit-rules", idlePollInterval: anHour)
        try await collector.addWebhook("hook", url: "http://127.0.0.1:9", secret: "s")
        func refusal(_ edit: EndpointEdit, name: String = "hook") async -> String {
            do {
                _ = try await collector.admin.edit(name: name, edit)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        let badURL = await refusal(EndpointEdit(url: "ftp://crm.example.com"))
        XCTAssertTrue(badURL.hasPrefix("url: "), badURL)
        let withCredentials = await refusal(EndpointEdit(url: "https://user:pw@crm.example.com"))
        XCTAssertTrue(withCredentials.hasPrefix("url: ") && !withCredentials.contains("pw@"), withCredentials)
        let noSystems = await refusal(EndpointEdit(systemKeys: []))
        XCTAssertEqual(noSystems, "systemKeys: an endpoint serves at least one system key")
        let badSystem = await refusal(EndpointEdit(systemKeys: ["office1", "bad key"]))
        XCTAssertEqual(badSystem, "systemKeys: 'bad key': \(SystemKey.rule)")
        let user = await refusal(EndpointEdit(user: "bob"))
        XCTAssertEqual(user, "user: only a PayamGostar endpoint signs in with a user name")
        let path = await refusal(EndpointEdit(options: try options(#"{"path": "events"}"#)))
        XCTAssertEqual(path, "options.path: the webhook path must start with '/', not 'events'")
        let missing = await refusal(EndpointEdit(url: "https://crm.example.com"), name: "nobody")
        XCTAssertEqual(missing, "no CRM endpoint named 'nobody'")
        let unchanged = try await collector.admin.view(named: "hook")
        XCTAssertEqual([unchanged.url], ["http://127.0.0.1:9"], "a refused edit changes nothing")
        XCTAssertEqual(unchanged.systemKeys, ["office1"])
    }

    /// Every field an edit names is stored; the systems are replaced; a new address forgets the
    /// session and clears "auth failed", which belonged to the old sign-in.
    func testAnEditStoresWhatItNamesAndKeepsTheRest() async throws {
        let collector = try await InProcessCollector("edit-store", idlePollInterval: anHour)
        _ = try await collector.admin.add(EndpointDefinition(
            name: "pg", kind: .payamgostar, url: "https://old.example.com", user: "bob", secret: "pw", systemKeys: ["office1"],
            options: EndpointOptions(numberFormat: .e164, registerPeers: true, timeoutSeconds: 5)))
        try await collector.store.database.write { db in
            try db.execute(sql: "UPDATE crm_endpoints SET sealed_session = x'00', auth_failure = 'refused' WHERE name = 'pg'")
        }
        let plan = #"{"countryCode": "49", "maxExtensionLength": 3}"#
        let view = try await collector.admin.edit(name: "pg", EndpointEdit(
            url: "https://new.example.com/crm/", systemKeys: ["office2", "office1", "office2"],
            options: try options(#"{"numberPlan": \#(plan), "registerPeers": null, "timeoutSeconds": 30}"#)))
        XCTAssertEqual(view.url, "https://new.example.com/crm")
        XCTAssertEqual(view.user, "bob", "left out, kept")
        XCTAssertEqual(view.systemKeys, ["office1", "office2"])
        XCTAssertEqual(view.options, EndpointOptions(numberFormat: .e164, numberPlan: NumberPlan(countryCode: "49", maxExtensionLength: 3),
                                                     timeoutSeconds: 30))
        XCTAssertEqual(view.state, "ok", "auth failed is cleared by a new address")
        let session = try await collector.store.database.read { db in
            try Row.fetchOne(db, sql: "SELECT sealed_session FROM crm_endpoints WHERE name = 'pg'")?["sealed_session"] as Data?
        }
        XCTAssertNil(session, "the old address's token was kept")

        let userEdit = try await collector.admin.edit(name: "pg", EndpointEdit(user: ""))
        XCTAssertEqual(userEdit.user, "admin", "empty is admin, as in add")
        let id = try await collector.store.database.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM crm_endpoints WHERE name = 'pg'") }
        let configuration = try await collector.admin.configuration(id: try XCTUnwrap(id))
        XCTAssertEqual(configuration?.baseURL, "https://new.example.com/crm")
        XCTAssertEqual(configuration?.secret, "pw", "an edit leaves the secret alone")
    }

    /// An admin who takes a system away from a CRM expects it to get nothing more of that
    /// system: what was queued for it goes with the edit, and the answer says how much.
    func testTakingASystemAwayDropsItsQueuedDeliveriesAndSaysHowMany() async throws {
        let crm = SecretCheckingReceiver(knownSecrets: ["s"], accepting: ["s"])
        defer { crm.server.stop() }
        let collector = try await InProcessCollector("edit-systems", idlePollInterval: anHour)
        _ = try await collector.admin.add(EndpointDefinition(name: "hook", kind: .webhook, url: crm.url, user: nil, secret: "s",
                                                             systemKeys: ["office1", "office2"], options: nil))
        try await collector.admin.setPaused(name: "hook", true)
        let kept = Calls.missed("kept")
        let takenAway = Calls.missed("taken-away", system: "office2", offset: 60)
        try await collector.ingest(kept + takenAway)
        try await collector.store.database.write { db in
            try db.execute(sql: "UPDATE crm_outbox SET state = 'parked' WHERE event_id = ?", arguments: [takenAway[0].eventId])
        }

        let unchanged = try await collector.admin.edit(name: "hook", EndpointEdit(options: try options(#"{"timeoutSeconds": 5}"#)))
        XCTAssertEqual(unchanged.droppedQueued, 0, "an edit that leaves the systems alone drops nothing")
        let edited = try await collector.admin.edit(name: "hook", EndpointEdit(systemKeys: ["office1"]))
        XCTAssertEqual(edited.droppedQueued, 1, "the queued delivery of office2")
        XCTAssertEqual(edited.backlog, 2, "office1's deliveries stay queued")
        XCTAssertEqual(edited.parked, 1, "a parked delivery stays for the operator to settle")
        let listed = try await collector.admin.view(named: "hook")
        XCTAssertNil(listed.droppedQueued, "only an edit's answer tells what it dropped")
        let parked = try await collector.admin.parked(name: "hook")
        let parkedId = try XCTUnwrap(parked.first?.id)
        do {
            _ = try await collector.admin.retryParked(name: "hook", id: parkedId)
            XCTFail("a parked delivery of a system taken away was queued again")
        } catch {
            XCTAssertEqual("\(error)", "parked delivery \(parkedId) is of system 'office2', which CRM endpoint 'hook' no longer serves: "
                           + "add the system back (tamasctl crm edit hook --system ...) to send it")
        }

        collector.startDelivery()
        try await collector.admin.setPaused(name: "hook", false)
        let delivered = await becomesTrue(within: .seconds(30)) { kept.allSatisfy { crm.hasReceived($0.eventId) } }
        XCTAssertTrue(delivered)
        try await Task.sleep(for: .milliseconds(300))
        XCTAssertFalse(crm.hasReceived(takenAway[1].eventId), "a delivery of a system taken away was sent")
        let stopped = await collector.stopDelivery()
        XCTAssertTrue(stopped)
    }

    private func metrics(of collector: InProcessCollector) -> String {
        var buffer: [UInt8] = []
        collector.service.registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
