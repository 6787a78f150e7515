@testable import CRMDelivery
import Foundation
import GRDB
import Synchronization
import TamasEvents
import XCTest

/// Idle delivery lanes with the collector's store, ingest and delivery service in this process
/// and a webhook receiver on loopback. Idle workers here would sleep an hour without a ring, so
/// every delivery that happens was started by a ring, an edit or a due time, never by a poll.
final class CRMIdleLaneTests: XCTestCase {
    private let anHour = Duration.seconds(3600)

    /// A collector whose idle lanes would sleep an hour, with one webhook endpoint "hook".
    private func idleCollector(_ name: String, receiver: SecretCheckingReceiver, secret: String,
                               parallelCalls: Int? = nil) async throws -> InProcessCollector {
        let collector = try await InProcessCollector(name, idlePollInterval: anHour)
        try await collector.addWebhook("hook", url: receiver.url, secret: secret, parallelCalls: parallelCalls)
        return collector
    }

    /// Whether every event of `call` reached `receiver` within 30 s.
    private func arrived(_ call: [CallEvent], at receiver: SecretCheckingReceiver) async -> Bool {
        await becomesTrue(within: .seconds(30)) { call.allSatisfy { receiver.hasReceived($0.eventId) } }
    }

    func testEachCallQueuedWhileTheLanesAreIdleGoesOutWithoutWaitingForAPoll() async throws {
        let receiver = SecretCheckingReceiver(knownSecrets: ["s"], accepting: ["s"])
        let collector = try await idleCollector("idle-ring", receiver: receiver, secret: "s")
        collector.startDelivery()
        // One call at a time, each queued right after the previous one went out: the lane is
        // then somewhere between settling, looking at the store and starting to wait.
        for index in 0..<40 {
            let call = Calls.missed("idle-\(index)", offset: index * 60)
            try await collector.ingest(call)
            let delivered = await arrived(call, at: receiver)
            XCTAssertTrue(delivered, "call \(index) waits for a poll an hour away: the ring that queued it was lost")
            guard delivered else { break }
        }
        let stopped = await collector.stopDelivery()
        XCTAssertTrue(stopped)
    }

    func testADeliveryDueLaterGoesOutAtItsDueTimeWithoutARing() async throws {
        let receiver = SecretCheckingReceiver(knownSecrets: ["s"], accepting: ["s"])
        let collector = try await idleCollector("idle-due", receiver: receiver, secret: "s", parallelCalls: 1)
        let call = Calls.missed("later")
        try await collector.ingest(call)
        let dueAt = Date().addingTimeInterval(1.5)
        try await collector.store.database.write { db in
            try db.execute(sql: "UPDATE crm_outbox SET due_at_ms = ?", arguments: [Int64(dueAt.timeIntervalSince1970 * 1000)])
        }
        collector.startDelivery()
        let delivered = await arrived(call, at: receiver)
        XCTAssertTrue(delivered, "the lane slept past the due time of its next delivery")
        let sentAt = receiver.requests.map(\.at).min() ?? .distantPast
        XCTAssertGreaterThanOrEqual(sentAt.timeIntervalSince1970, dueAt.timeIntervalSince1970 - 0.01, "not before it is due")
        let stopped = await collector.stopDelivery()
        XCTAssertTrue(stopped)
    }

    /// A lane backing off from a CRM that asked for an hour's pause keeps away while new calls
    /// arrive, and delivers at once when the endpoint is resumed.
    func testResumingAnEndpointEndsALanesBackoffAtOnce() async throws {
        let crm = SwitchableCRM(refusal: FakeAnswer(status: 503, body: "{}", retryAfter: "3600"))
        defer { crm.server.stop() }
        let collector = try await InProcessCollector("backoff-edit", idlePollInterval: anHour)
        try await collector.addWebhook("hook", url: crm.server.url, secret: "s", parallelCalls: 1, maxBackoffSeconds: 3600)
        collector.startDelivery()
        let first = Calls.missed("first")
        try await collector.ingest(first)
        let refused = await becomesTrue(within: .seconds(30)) { crm.refusals > 0 }
        XCTAssertTrue(refused)

        crm.accept()
        let second = Calls.missed("second", offset: 60)
        try await collector.ingest(second)
        try await Task.sleep(for: .seconds(2))
        XCTAssertEqual(crm.accepted, [], "a new call ended the backoff the CRM asked for")

        try await collector.admin.setPaused(name: "hook", true)
        try await collector.admin.setPaused(name: "hook", false)
        let all = Set((first + second).map(\.eventId))
        let delivered = await becomesTrue(within: .seconds(30)) { Set(crm.accepted).isSuperset(of: all) }
        XCTAssertTrue(delivered, "the lane slept on through the resume")
        let stopped = await collector.stopDelivery()
        XCTAssertTrue(stopped)
    }

    /// What an operator queues again (a parked delivery retried, a replay) goes out at once,
    /// not at the next poll an hour away.
    func testRetryingAParkedDeliveryAndAReplayWakeTheIdleLanes() async throws {
        let crm = SwitchableCRM(refusal: FakeAnswer(status: 400, body: "{\"error\":\"unknown field\"}"))
        defer { crm.server.stop() }
        let collector = try await InProcessCollector("requeue", idlePollInterval: anHour)
        try await collector.addWebhook("hook", url: crm.server.url, secret: "s")
        collector.startDelivery()
        let call = Calls.missed("requeued")
        try await collector.ingest(call)
        let allParked = try await becomesTrue(within: .seconds(30)) { try await collector.admin.parked(name: "hook").count == call.count }
        XCTAssertTrue(allParked)

        crm.accept()
        for parked in try await collector.admin.parked(name: "hook") {
            let retried = try await collector.admin.retryParked(name: "hook", id: parked.id)
            XCTAssertTrue(retried)
        }
        let eventIds = call.map(\.eventId)
        let retriedArrived = await becomesTrue(within: .seconds(30)) { Set(crm.accepted) == Set(eventIds) }
        XCTAssertTrue(retriedArrived, "the retried deliveries wait for a poll")

        let replayed = try await collector.admin.replay(name: "hook", since: Timestamp(epochMillis: 0))
        XCTAssertEqual(replayed, call.count)
        let replayArrived = await becomesTrue(within: .seconds(30)) { crm.accepted.count == 2 * call.count }
        XCTAssertTrue(replayArrived, "the replayed deliveries wait for a poll")
        let stopped = await collector.stopDelivery()
        XCTAssertTrue(stopped)
    }

    func testANewSecretSignsTheNextDeliveryOfAnIdleLane() async throws {
        let receiver = SecretCheckingReceiver(knownSecrets: ["first", "second"], accepting: ["first", "second"])
        let collector = try await idleCollector("idle-edit", receiver: receiver, secret: "first")
        collector.startDelivery()
        let before = Calls.missed("before")
        try await collector.ingest(before)
        let deliveredBefore = await arrived(before, at: receiver)
        XCTAssertTrue(deliveredBefore)
        XCTAssertEqual(receiver.signers(of: "before-r"), ["first"])

        try await collector.admin.setSecret(name: "hook", secret: "second")
        let after = Calls.missed("after", offset: 60)
        try await collector.ingest(after)
        let deliveredAfter = await arrived(after, at: receiver)
        XCTAssertTrue(deliveredAfter)
        XCTAssertEqual(receiver.signers(of: "after-r"), ["second"], "the lane delivered with the configuration it had before the edit")
        XCTAssertEqual(receiver.signers(of: "after-e"), ["second"])
        let stopped = await collector.stopDelivery()
        XCTAssertTrue(stopped)
    }

    /// A busy lane never waits, so no ring reaches it: the edit must still reach its next delivery.
    func testAnEditDuringADeliveryTakesEffectForTheNextOne() async throws {
        let receiver = SecretCheckingReceiver(knownSecrets: ["first", "second"], accepting: ["first", "second"])
        let collector = try await idleCollector("busy-edit", receiver: receiver, secret: "first", parallelCalls: 1)
        let gate = Gate()
        receiver.hold("busy-r", until: gate)
        collector.startDelivery()
        let call = Calls.missed("busy")
        try await collector.ingest(call)
        let inFlight = await becomesTrue(within: .seconds(30)) { receiver.hasReceived("busy-r") }
        XCTAssertTrue(inFlight)
        try await collector.admin.setSecret(name: "hook", secret: "second")
        gate.open()
        let delivered = await becomesTrue(within: .seconds(30)) { receiver.hasReceived("busy-e") }
        XCTAssertTrue(delivered)
        XCTAssertEqual(receiver.signers(of: "busy-r"), ["first"])
        XCTAssertEqual(receiver.signers(of: "busy-e"), ["second"], "the delivery after the edit used the configuration from before it")
        let stopped = await collector.stopDelivery()
        XCTAssertTrue(stopped)
    }

    func testALaneWaitingOutAnAuthFailureWakesWhenTheSecretIsReplaced() async throws {
        let receiver = SecretCheckingReceiver(knownSecrets: ["stale", "fresh"], accepting: ["fresh"])
        let collector = try await idleCollector("idle-auth", receiver: receiver, secret: "stale", parallelCalls: 1)
        collector.startDelivery()
        let call = Calls.missed("auth")
        try await collector.ingest(call)
        let authFailed = try await becomesTrue(within: .seconds(30)) { try await collector.admin.view(named: "hook").state == "auth failed" }
        XCTAssertTrue(authFailed)
        XCTAssertEqual(receiver.signers(of: "auth-r"), ["stale"], "one refused attempt, then the lane waits for new credentials")

        try await collector.admin.setSecret(name: "hook", secret: "fresh")
        let delivered = await becomesTrue(within: .seconds(30)) { receiver.signers(of: "auth-e") == ["fresh"] }
        XCTAssertTrue(delivered, "the new secret did not wake the lane")
        XCTAssertEqual(receiver.signers(of: "auth-r"), ["stale", "fresh"])
        let drained = try await becomesTrue(within: .seconds(30)) { try await collector.admin.view(named: "hook").backlog == 0 }
        XCTAssertTrue(drained)
        let state = try await collector.admin.view(named: "hook").state
        XCTAssertEqual(state, "ok")
        let stopped = await collector.stopDelivery()
        XCTAssertTrue(stopped)
    }

    func testPauseHoldsAnIdleLaneAndResumeWakesIt() async throws {
        let receiver = SecretCheckingReceiver(knownSecrets: ["s"], accepting: ["s"])
        let collector = try await idleCollector("idle-pause", receiver: receiver, secret: "s")
        collector.startDelivery()
        let first = Calls.missed("first")
        try await collector.ingest(first)
        let deliveredFirst = await arrived(first, at: receiver)
        XCTAssertTrue(deliveredFirst)

        try await collector.admin.setPaused(name: "hook", true)
        let held = Calls.missed("held", offset: 60)
        try await collector.ingest(held)
        try await Task.sleep(for: .milliseconds(500))
        XCTAssertFalse(held.contains { receiver.hasReceived($0.eventId) }, "a paused endpoint got a delivery")
        try await collector.admin.setPaused(name: "hook", false)
        let deliveredHeld = await arrived(held, at: receiver)
        XCTAssertTrue(deliveredHeld, "resume did not wake the paused lanes")
        let stopped = await collector.stopDelivery()
        XCTAssertTrue(stopped)
    }

    func testStoppingTheServiceEndsIdleLanesPromptly() async throws {
        let receiver = SecretCheckingReceiver(knownSecrets: ["s"], accepting: ["s"])
        let collector = try await idleCollector("idle-stop", receiver: receiver, secret: "s", parallelCalls: 4)
        collector.startDelivery()
        let call = Calls.missed("stop")
        try await collector.ingest(call)
        let delivered = await arrived(call, at: receiver)
        XCTAssertTrue(delivered)
        let stopped = await collector.stopDelivery(within: .seconds(30))
        XCTAssertTrue(stopped, "an idle lane slept on through its cancellation")
    }
}
