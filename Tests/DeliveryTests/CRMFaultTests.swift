import Foundation
import TamasEvents
import TestSupport
import XCTest

/// Faults with real processes: a CRM that is down, flaky, hanging, changes its password, a
/// collector killed with a backlog, and a dead CRM beside a live one.
final class CRMFaultTests: XCTestCase {
    func testCRMDownThenBackDeliversEverythingOnceInOrderPerCall() throws {
        let crm = PayamGostarDouble(password: "pw")
        let harness = try DeliveryHarness("pg-down")
        try harness.addEndpoint("pg", kind: "payamgostar", url: crm.url, secret: "pw")
        let batch = Calls.batch(prefix: "down", count: 10)
        harness.send(batch.events)
        XCTAssertTrue(try eventually(timeout: 30, every: 0.5) { try harness.endpoint("pg")["state"] as? String == "retrying" },
                      harness.diagnosis("pg"))
        XCTAssertEqual(try harness.endpoint("pg")["backlog"] as? Int, 25)
        XCTAssertTrue(try harness.tamasctl(["crm"]).contains("retrying"))
        sleep(3)
        crm.server.start()
        defer { crm.server.stop() }
        XCTAssertTrue(try harness.waitUntilDrained("pg", events: 25, timeout: 60), harness.diagnosis("pg"))
        XCTAssertEqual(crm.wrongCalls(batch.callIds), [:])
        XCTAssertEqual(crm.doubled, [:])
        XCTAssertEqual(try harness.endpoint("pg")["state"] as? String, "ok")
        XCTAssertTrue(harness.collector.log.contains("CRM endpoint reachable again"))
    }

    func testRandom500sStillDeliverEverythingOnceInOrder() throws {
        let crm = PayamGostarDouble(password: "pw")
        crm.update { $0.failureRate = 0.3 }
        crm.server.start()
        defer { crm.server.stop() }
        let harness = try DeliveryHarness("pg-flaky")
        try harness.addEndpoint("pg", kind: "payamgostar", url: crm.url, secret: "pw", extra: ["--timeout", "2", "--max-backoff", "1"])
        let batch = Calls.batch(prefix: "flaky", count: 10)
        harness.send(batch.events)
        XCTAssertTrue(try harness.waitUntilDrained("pg", events: 25, timeout: 120), harness.diagnosis("pg"))
        let failures = crm.read { state in state.all.count - state.accepted.count }
        XCTAssertGreaterThan(failures, 5, "the double did fail requests")
        XCTAssertEqual(crm.wrongCalls(batch.callIds), [:])
        XCTAssertEqual(crm.doubled, [:])
    }

    func testHangingCRMTimesOutAndDeliversOnceItAnswers() throws {
        let crm = PayamGostarDouble(password: "pw")
        crm.update { $0.hangSeconds = 30 }
        crm.server.start()
        defer { crm.server.stop() }
        let harness = try DeliveryHarness("pg-hang")
        try harness.addEndpoint("pg", kind: "payamgostar", url: crm.url, secret: "pw", extra: ["--timeout", "1", "--max-backoff", "1"])
        let batch = Calls.batch(prefix: "hang", count: 4)
        harness.send(batch.events)
        XCTAssertTrue(try eventually(timeout: 30, every: 0.5) {
            (try harness.endpoint("pg")["lastError"] as? String)?.contains("no answer before the timeout") == true
        }, harness.diagnosis("pg"))
        XCTAssertEqual(try harness.endpoint("pg")["state"] as? String, "retrying")
        crm.update { $0.hangSeconds = 0 }
        XCTAssertTrue(try harness.waitUntilDrained("pg", events: 10, timeout: 60), harness.diagnosis("pg"))
        XCTAssertEqual(crm.wrongCalls(batch.callIds), [:])
        XCTAssertEqual(crm.doubled, [:])
    }

    func testPasswordChangeIsAuthFailedUntilSetPasswordThenTheBacklogDrains() throws {
        let crm = PayamGostarDouble(password: "old")
        crm.server.start()
        defer { crm.server.stop() }
        let harness = try DeliveryHarness("pg-auth")
        try harness.addEndpoint("pg", kind: "payamgostar", url: crm.url, secret: "old")
        harness.send(Calls.inboundAnswered("before"))
        XCTAssertTrue(try harness.waitUntilDrained("pg", events: 3, timeout: 30), harness.diagnosis("pg"))
        crm.update { state in
            state.password = "new secret"
            state.tokens = [:]
        }
        let batch = Calls.batch(prefix: "auth", count: 4)
        harness.send(batch.events)
        XCTAssertTrue(try eventually(timeout: 30, every: 0.5) { try harness.tamasctl(["crm"]).contains("auth failed") },
                      harness.diagnosis("pg"))
        sleep(2)
        let waiting = try harness.endpoint("pg")
        XCTAssertEqual(waiting["backlog"] as? Int, 10, "nothing is dropped while credentials are wrong")
        XCTAssertTrue((waiting["authFailure"] as? String)?.contains("refused the user name or password") == true, "\(waiting)")
        XCTAssertTrue(harness.collector.log.contains("AUTH FAILED"))
        try harness.tamasctl(["crm", "set-password", "pg", "--password-stdin"], input: "new secret\n")
        XCTAssertTrue(try harness.waitUntilDrained("pg", events: 13, timeout: 30), harness.diagnosis("pg"))
        XCTAssertEqual(try harness.endpoint("pg")["state"] as? String, "ok")
        XCTAssertEqual(crm.wrongCalls(batch.callIds), [:])
        XCTAssertEqual(crm.doubled, [:])
        XCTAssertFalse(harness.collector.log.contains("new secret"))
    }

    func testKill9WithABacklogAndMidDeliveryLosesNothingAndDoublesNothing() throws {
        let crm = PayamGostarDouble(password: "pw")
        let harness = try DeliveryHarness("pg-kill")
        try harness.addEndpoint("pg", kind: "payamgostar", url: crm.url, secret: "pw", extra: ["--timeout", "5", "--max-backoff", "1"])
        let batch = Calls.batch(prefix: "kill", count: 20)
        harness.send(batch.events)
        XCTAssertTrue(try eventually(timeout: 30, every: 0.5) { try harness.endpoint("pg")["backlog"] as? Int == 50 }, harness.diagnosis("pg"))
        try harness.collector.restart()
        XCTAssertEqual(try harness.endpoint("pg")["backlog"] as? Int, 50, "the outbox survived kill -9")
        crm.update { $0.answerDelaySeconds = 0.05 }
        crm.server.start()
        defer { crm.server.stop() }
        XCTAssertTrue(eventually(timeout: 30, every: 0.2) { crm.read { $0.accepted.count } >= 40 })
        try harness.collector.restart()
        crm.update { $0.answerDelaySeconds = 0 }
        XCTAssertTrue(try harness.waitUntilDrained("pg", events: 50, timeout: 60), harness.diagnosis("pg"))
        XCTAssertEqual(crm.wrongCalls(batch.callIds, allowingRepeatedUpdates: true), [:])
        XCTAssertEqual(crm.doubled, [:], "no call was created twice")
    }

    /// A second CRM that never answers must not slow the live one: each endpoint has its own worker.
    func testADeadCRMDoesNotDelayALiveOne() throws {
        let live = PayamGostarDouble(password: "pw")
        live.server.start()
        defer { live.server.stop() }
        let dead = FakeCRMServer { _ in FakeAnswer(status: 200, body: "{}", delaySeconds: 60) }
        dead.start()
        defer { dead.stop() }
        let harness = try DeliveryHarness("pg-two")
        try harness.addEndpoint("dead", kind: "webhook", url: dead.url, secret: "s", extra: ["--timeout", "10", "--max-backoff", "5"])
        try harness.addEndpoint("pg", kind: "payamgostar", url: live.url, secret: "pw")
        var latencies: [Double] = []
        for index in 0..<10 {
            let id = "two-\(index)"
            let sent = Date()
            harness.send([Calls.inboundAnswered(id, offset: index * 60)[0]])
            _ = eventually(timeout: 20, every: 0.02) {
                live.read { $0.accepted.contains { $0.json["SourceId"] as? String == id } }
            }
            let arrived = live.read { $0.accepted.first { $0.json["SourceId"] as? String == id }?.at } ?? Date.distantFuture
            latencies.append(arrived.timeIntervalSince(sent))
        }
        let sorted = latencies.sorted()
        print("live CRM delivery latency beside a dead one (agent file write → CallCreate at the CRM): median \(sorted[5]) s, max \(sorted[9]) s, all \(latencies)")
        XCTAssertLessThan(sorted[9], 3, "the live CRM's latency must not depend on the dead one")
        XCTAssertGreaterThan(try harness.endpoint("dead")["backlog"] as? Int ?? 0, 0)
    }
}

/// A delivery the CRM refuses is parked with its answer, does not hold up other calls, and goes
/// out after `retry-parked` once the CRM accepts it.
final class CRMParkingTests: XCTestCase {
    func testRefusedDeliveriesAreParkedVisibleAndRetryable() throws {
        let crm = PayamGostarDouble(password: "pw")
        crm.update { $0.refusedSourceIds = ["park-0"] }
        crm.server.start()
        defer { crm.server.stop() }
        let harness = try DeliveryHarness("pg-park")
        try harness.addEndpoint("pg", kind: "payamgostar", url: crm.url, secret: "pw")
        let batch = Calls.batch(prefix: "park", count: 2)
        harness.send(batch.events)
        XCTAssertTrue(try harness.waitUntilDrained("pg", events: 5, timeout: 30), harness.diagnosis("pg"))
        XCTAssertEqual(crm.acceptedSummary(source: "park-1"), PayamGostarDouble.expected("park-1", answered: false), "other calls flow")
        let endpoint = try harness.endpoint("pg")
        XCTAssertEqual(endpoint["parked"] as? Int, 3, "each event of the refused call tried CallCreate and was parked")
        XCTAssertEqual(endpoint["state"] as? String, "ok")
        let parkedJSON = try harness.tamasctl(["crm", "parked", "pg", "--json"])
        let parked = (try JSONSerialization.jsonObject(with: Data(parkedJSON.utf8)) as? [[String: Any]]) ?? []
        XCTAssertEqual(parked.compactMap { $0["eventId"] as? String }, ["park-0-r", "park-0-a", "park-0-e"])
        XCTAssertEqual(parked.first?["status"] as? Int, 400)
        XCTAssertTrue((parked.first?["excerpt"] as? String)?.contains("not a registered telephone system") == true, parkedJSON)
        XCTAssertTrue(try harness.tamasctl(["crm", "parked", "pg"]).contains("not a registered telephone system"))

        crm.update { $0.refusedSourceIds = [] }
        for id in parked.compactMap({ $0["id"] as? Int }) {
            try harness.tamasctl(["crm", "retry-parked", "pg", String(id)])
        }
        XCTAssertTrue(try eventually(timeout: 30, every: 0.5) {
            let now = try harness.endpoint("pg")
            return now["parked"] as? Int == 0 && now["backlog"] as? Int == 0
        }, harness.diagnosis("pg"))
        XCTAssertEqual(crm.wrongCalls(batch.callIds), [:])
    }
}
