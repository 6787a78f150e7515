@testable import CRMDelivery
import CollectorCore
import Foundation
import GRDB
import TamasEvents
import TestSupport
import XCTest

/// The per-call state the CRM endpoints keep (`crm_call_state`) goes with retention only once no
/// later event of its call can need it, so no call is ever created twice in a CRM.
final class CRMCallStateRetentionTests: XCTestCase {
    private let day: Int64 = 86_400_000

    func testOnlyTheStateOfEndedCallsWithNothingWaitingAndWrittenLongAgoIsPruned() async throws {
        let collector = try await InProcessCollector("call-state-retention", idlePollInterval: .seconds(3600))
        try await collector.ingest(Calls.missed("done") + Calls.missed("queued", offset: 60) + Calls.missed("parked", offset: 120)
            + [Calls.missed("ringing", offset: 180)[0]] + Calls.missed("recent", offset: 240))
        // Added after the calls, so only the outbox rows written below wait for it.
        try await collector.addWebhook("hook", url: "http://127.0.0.1:9", secret: "s")
        let now = Clock.nowMillis()
        let old = now - 31 * day
        let recent = now - day
        try await collector.store.database.write { db in
            let endpoint = try XCTUnwrap(try Int64.fetchOne(db, sql: "SELECT id FROM crm_endpoints WHERE name = 'hook'"))
            for (callId, writtenAt) in [("done", old), ("queued", old), ("parked", old), ("ringing", old), ("recent", recent),
                                        ("forgotten", old)] {
                try db.execute(sql: """
                    INSERT INTO crm_call_state (endpoint_id, system_key, call_id, state, written_at_ms) VALUES (?, 'office1', ?, x'7b7d', ?)
                    """, arguments: [endpoint, callId, writtenAt])
            }
            for (callId, state) in [("queued", "pending"), ("parked", "parked")] {
                try db.execute(sql: """
                    INSERT INTO crm_outbox (endpoint_id, system_key, call_id, event_id, event, state, created_at_ms)
                    VALUES (?, 'office1', ?, ?, x'7b7d', ?, ?)
                    """, arguments: [endpoint, callId, "\(callId)-e", state, old])
            }
        }

        let retention = CRMCallStateRetention(collectorStore: collector.store, days: CRMCallStateRetention.defaultDays, batch: 1)
        XCTAssertEqual(CRMCallStateRetention.defaultDays, 30)
        let pruned = try await retention.prune(now: now)
        XCTAssertEqual(pruned, 2, "the ended call with nothing waiting, and the call the store no longer keeps")
        let kept = try await collector.store.database.read { db in
            try String.fetchAll(db, sql: "SELECT call_id FROM crm_call_state ORDER BY call_id")
        }
        XCTAssertEqual(kept, ["parked", "queued", "recent", "ringing"])
        let again = try await retention.prune(now: now)
        XCTAssertEqual(again, 0)
    }

    /// A delivery's checkpoint stamps the state it writes, so the window counts from the last write.
    func testWritingACallsStateStampsIt() async throws {
        let collector = try await InProcessCollector("call-state-stamp", idlePollInterval: .seconds(3600))
        try await collector.addWebhook("hook", url: "http://127.0.0.1:9", secret: "s")
        try await collector.admin.setPaused(name: "hook", true)
        let call = Calls.missed("stamped")
        try await collector.ingest(call)
        let (endpoint, deliveryId) = try await collector.store.database.read { db in
            (try Int64.fetchOne(db, sql: "SELECT id FROM crm_endpoints") ?? 0, try Int64.fetchOne(db, sql: "SELECT MIN(id) FROM crm_outbox") ?? 0)
        }
        let before = Clock.nowMillis()
        let delivery = ClaimedDelivery(id: deliveryId, systemKey: "office1", callId: "stamped", attempts: 0,
                                       job: DeliveryJob(event: call[0], call: nil, callState: nil, session: nil))
        try await collector.admin.saveCheckpoint(DeliveryCheckpoint(callState: Data("{}".utf8), session: Data("{}".utf8)),
                                                 endpointId: endpoint, delivery: delivery)
        let writtenAt = try await collector.store.database.read { db in
            try Int64.fetchOne(db, sql: "SELECT written_at_ms FROM crm_call_state WHERE call_id = 'stamped'")
        }
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(writtenAt), before)
    }

    /// A store made before the column existed keeps its rows, stamped with the upgrade's time, so
    /// none of them is pruned before the window has passed from then.
    func testTheUpgradeStampsExistingStateWithItsOwnTime() async throws {
        let path = try temporaryFolder("call-state-upgrade").appendingPathComponent("collector.sqlite").path
        do {
            let store = try CollectorStore(path: path, extensions: Array(OutboxSchema.extensions.prefix(1)))
            try await store.database.write { db in
                try db.execute(sql: """
                    INSERT INTO crm_endpoints (name, kind, base_url, sealed_secret, options, created_at_ms)
                    VALUES ('pg', 'payamgostar', 'https://crm.example.com', x'00', '{}', 0);
                    INSERT INTO crm_call_state (endpoint_id, system_key, call_id, state) VALUES (1, 'office1', 'before-upgrade', x'7b7d');
                    """)
            }
        }
        let upgradedAt = Clock.nowMillis()
        let store = try CollectorStore(path: path, extensions: OutboxSchema.extensions)
        let writtenAt = try await store.database.read { db in
            try Int64.fetchOne(db, sql: "SELECT written_at_ms FROM crm_call_state WHERE call_id = 'before-upgrade'")
        }
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(writtenAt), upgradedAt)
        let retention = CRMCallStateRetention(collectorStore: store, days: 30)
        let early = try await retention.prune(now: upgradedAt + 29 * day)
        XCTAssertEqual(early, 0, "pruned before its window passed from the upgrade")
        let due = try await retention.prune(now: upgradedAt + 31 * day)
        XCTAssertEqual(due, 1)
    }
}
