import Foundation
import Synchronization
import TestSupport
import WebhookConnector
import XCTest

/// Agent → collector → a webhook receiver that checks every request the way docs/webhook.md
/// tells receivers to: HMAC over `<timestamp>.<raw body>`, a 300 s window, Idempotency-Key.
final class CRMWebhookTests: XCTestCase {
    final class Accepted: Sendable {
        let requests = Mutex<[ReceivedRequest]>([])
    }

    func testSignedEventsArriveInOrderWithTheirIdempotencyKeys() throws {
        let secret = "webhook shared secret"
        let accepted = Accepted()
        let receiver = FakeCRMServer { request in
            guard request.path == "/tamas/events", let timestampText = request.header("X-Tamas-Timestamp"),
                  let timestamp = Int64(timestampText), abs(Date().timeIntervalSince1970 - Double(timestamp)) <= 300,
                  let signature = request.header("X-Tamas-Signature"),
                  signature == WebhookSignature.sign(body: request.body, timestamp: timestamp, secret: secret) else {
                return FakeAnswer(status: 401, body: "{\"error\":\"bad signature\"}")
            }
            let event = request.json["event"] as? [String: Any]
            guard let key = request.header("Idempotency-Key"), key == event?["eventId"] as? String else {
                return FakeAnswer(status: 400, body: "{\"error\":\"Idempotency-Key is not the eventId\"}")
            }
            accepted.requests.withLock { $0.append(request) }
            return FakeAnswer(status: 204, body: "")
        }
        receiver.start()
        defer { receiver.stop() }
        let harness = try DeliveryHarness("webhook")
        try harness.addEndpoint("hook", kind: "webhook", url: receiver.url, secret: secret, extra: ["--path", "/tamas/events"])
        harness.send(Calls.inboundAnswered("hook-1") + Calls.missed("hook-2", offset: 60))
        XCTAssertTrue(try harness.waitUntilDrained("hook", events: 5, timeout: 30), harness.diagnosis("hook"))
        let endpoint = try harness.endpoint("hook")
        XCTAssertEqual(endpoint["state"] as? String, "ok", "every request passed the receiver's checks: \(endpoint)")
        XCTAssertEqual(endpoint["parked"] as? Int, 0)
        let keys = accepted.requests.withLock { $0.compactMap { $0.header("Idempotency-Key") } }
        XCTAssertEqual(keys.filter { $0.hasPrefix("hook-1") }, ["hook-1-r", "hook-1-a", "hook-1-e"], "in order per call, once each")
        XCTAssertEqual(keys.filter { $0.hasPrefix("hook-2") }, ["hook-2-r", "hook-2-e"])
        let last = accepted.requests.withLock { $0.last { $0.header("Idempotency-Key") == "hook-1-e" } }
        let call = last?.json["call"] as? [String: Any]
        XCTAssertEqual(call?["phase"] as? String, "ended", "the call after the event travels with it")
        XCTAssertEqual(call?["answeredBy"] as? String, "201")

        try harness.tamasctl(["crm", "pause", "hook"])
        harness.send(Calls.missed("hook-3", offset: 120))
        XCTAssertTrue(try eventually(timeout: 20, every: 0.5) { try harness.endpoint("hook")["backlog"] as? Int == 2 }, harness.diagnosis("hook"))
        XCTAssertEqual(try harness.endpoint("hook")["state"] as? String, "paused")
        sleep(2)
        XCTAssertFalse(accepted.requests.withLock { $0.contains { $0.header("Idempotency-Key") == "hook-3-r" } }, "nothing is sent while paused")
        try harness.tamasctl(["crm", "resume", "hook"])
        XCTAssertTrue(try harness.waitUntilDrained("hook", events: 7, timeout: 20), harness.diagnosis("hook"))

        let replay = try harness.tamasctl(["crm", "replay", "hook", "--since", Calls.start.iso8601])
        XCTAssertTrue(replay.contains("\"queued\""), replay)
        // Calls are delivered several at once, so wait for the last event of every call, not just one.
        XCTAssertTrue(eventually(timeout: 20, every: 0.5) {
            accepted.requests.withLock { requests in
                ["hook-1-e", "hook-2-e", "hook-3-e"].allSatisfy { key in requests.filter { $0.header("Idempotency-Key") == key }.count == 2 }
            }
        }, "replay sends every event again, with the same Idempotency-Key")
        let replayedKeys = accepted.requests.withLock { $0.compactMap { $0.header("Idempotency-Key") } }.filter { $0.hasPrefix("hook-1") }
        XCTAssertEqual(replayedKeys, ["hook-1-r", "hook-1-a", "hook-1-e", "hook-1-r", "hook-1-a", "hook-1-e"])
    }

    /// A webhook endpoint delivers several calls at once (the receiver sees requests overlap), yet
    /// each call's events arrive once each and in order, whatever the receiver's answer times.
    func testParallelCallsOverlapButEachCallStaysInOrder() throws {
        final class Receiver: Sendable {
            let keys = Mutex<[String]>([])
            /// When each request arrived and when its (delayed) answer leaves.
            let busy = Mutex<[(from: Date, until: Date)]>([])
        }
        let receiver = Receiver()
        let server = FakeCRMServer { request in
            let delay = Double.random(in: 0.01...0.06)
            receiver.busy.withLock { $0.append((Date(), Date().addingTimeInterval(delay))) }
            receiver.keys.withLock { $0.append(request.header("Idempotency-Key") ?? "") }
            return FakeAnswer(status: 204, body: "", delaySeconds: delay)
        }
        server.start()
        defer { server.stop() }
        let harness = try DeliveryHarness("webhook-lanes")
        try harness.addEndpoint("hook", kind: "webhook", url: server.url, secret: "s", extra: ["--parallel-calls", "4"])
        let batch = Calls.batch(prefix: "lane", count: 40)
        harness.send(batch.events)
        XCTAssertTrue(try harness.waitUntilDrained("hook", events: batch.events.count, timeout: 60), harness.diagnosis("hook"))
        let sent = Set(batch.events.map(\.eventId))
        let keys = receiver.keys.withLock { $0 }.filter(sent.contains)
        XCTAssertEqual(keys.count, batch.events.count, "each event once (the agent's own status events aside)")
        XCTAssertEqual(Set(keys), sent)
        for callId in batch.callIds {
            let expected = batch.events.filter { $0.callId == callId }.map(\.eventId)
            XCTAssertEqual(keys.filter { key in expected.contains(key) }, expected, "\(callId) in order")
        }
        let busy = receiver.busy.withLock { $0 }
        let overlapping = busy.enumerated().contains { index, request in
            busy[(index + 1)...].contains { $0.from < request.until }
        }
        XCTAssertTrue(overlapping, "a request arrived before the previous answer left: calls were delivered at once")
    }
}
