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
    ]
}
