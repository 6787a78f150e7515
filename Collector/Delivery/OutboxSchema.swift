import CollectorCore
import GRDB

/// The CRM tables in the collector's store. Deliveries are rows of `crm_outbox` written in the
/// ingest transaction, so an event the agent was told is stored is also queued for every CRM.
public enum OutboxSchema {
    public static let extensions: [StoreExtension] = [
        StoreExtension(name: "crm-v1") { db in
            try db.execute(sql: """
                CREATE TABLE crm_endpoints (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
                    base_url TEXT NOT NULL, user_name TEXT, sealed_secret BLOB NOT NULL, options TEXT NOT NULL,
                    paused INTEGER NOT NULL DEFAULT 0, auth_failure TEXT, sealed_session BLOB,
                    failing_since_ms INTEGER, last_success_at_ms INTEGER, last_error TEXT, last_error_at_ms INTEGER,
                    created_at_ms INTEGER NOT NULL);
                CREATE TABLE crm_endpoint_systems (
                    system_key TEXT NOT NULL, endpoint_id INTEGER NOT NULL REFERENCES crm_endpoints(id) ON DELETE CASCADE,
                    PRIMARY KEY (system_key, endpoint_id));
                CREATE TABLE crm_outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, endpoint_id INTEGER NOT NULL REFERENCES crm_endpoints(id) ON DELETE CASCADE,
                    system_key TEXT NOT NULL, call_id TEXT, event_id TEXT NOT NULL, event BLOB NOT NULL, call BLOB,
                    state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, due_at_ms INTEGER NOT NULL DEFAULT 0,
                    created_at_ms INTEGER NOT NULL, last_error TEXT,
                    parked_status INTEGER, parked_reason TEXT, parked_excerpt TEXT, parked_at_ms INTEGER);
                CREATE INDEX crm_outbox_queue ON crm_outbox (endpoint_id, state, id);
                CREATE INDEX crm_outbox_call ON crm_outbox (endpoint_id, system_key, call_id, state, id);
                CREATE TABLE crm_call_state (
                    endpoint_id INTEGER NOT NULL REFERENCES crm_endpoints(id) ON DELETE CASCADE,
                    system_key TEXT NOT NULL, call_id TEXT NOT NULL, state BLOB NOT NULL,
                    PRIMARY KEY (endpoint_id, system_key, call_id));
                """)
        },
        // When a call's state was last written, for `CRMCallStateRetention`; rows already there
        // count from the upgrade, so none is pruned before the window has passed for it.
        StoreExtension(name: "crm-v2-call-state-written-at") { db in
            try db.execute(sql: """
                ALTER TABLE crm_call_state ADD COLUMN written_at_ms INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX crm_call_state_written ON crm_call_state (written_at_ms);
                """)
            try db.execute(sql: "UPDATE crm_call_state SET written_at_ms = ?", arguments: [Clock.nowMillis()])
        },
    ]
}

/// Forgets the per-call state (`crm_call_state`: PayamGostar's call id, what Zammad was sent)
/// once no later event of the call can need it. The state is what lets a later event update the
/// CRM's record of the call instead of creating a second one, so a row goes only when its call
/// has ended (or the store itself no longer keeps the call), nothing of the call waits in the
/// outbox (queued or parked), and it was last written more than `days` ago.
public struct CRMCallStateRetention: RetentionExtension {
    public static let defaultDays = 30

    let database: DatabasePool
    let days: Int
    let batch: Int

    public var table: String { "crm_call_state" }

    /// `days` is more than 0: a collector that keeps the state for ever does not add this extension.
    public init(collectorStore: CollectorStore, days: Int, batch: Int = 5000) {
        database = collectorStore.database
        self.days = days
        self.batch = batch
    }

    /// In short transactions, as the rest of retention, so ingest never waits long.
    public func prune(now: Int64) async throws -> Int {
        let cutoff = now - Int64(days) * 86_400_000
        var pruned = 0
        while true {
            let deleted = try await database.write { db -> Int in
                try db.execute(sql: """
                    DELETE FROM crm_call_state WHERE rowid IN (
                        SELECT s.rowid FROM crm_call_state s WHERE s.written_at_ms < ?
                        AND NOT EXISTS (SELECT 1 FROM crm_outbox o
                            WHERE o.endpoint_id = s.endpoint_id AND o.system_key = s.system_key AND o.call_id = s.call_id)
                        AND NOT EXISTS (SELECT 1 FROM calls c
                            WHERE c.system_key = s.system_key AND c.call_id = s.call_id AND c.phase != 'ended')
                        LIMIT ?)
                    """, arguments: [cutoff, batch])
                return db.changesCount
            }
            pruned += deleted
            if deleted < batch { return pruned }
        }
    }
}
