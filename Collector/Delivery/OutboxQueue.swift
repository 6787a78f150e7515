import Foundation
import GRDB
import TamasEvents

/// One of an endpoint's workers: it delivers the outbox rows whose id modulo `count` is `index`.
struct Lane: Sendable, Equatable {
    var index: Int
    var count: Int
}

/// An outbox row as read, before its JSON is decoded.
struct OutboxEntry: Sendable {
    var id: Int64
    var systemKey: String
    var callId: String?
    var attempts: Int
    var event: Data
    var call: Data?
}

/// A delivery a worker is about to attempt.
struct ClaimedDelivery: Sendable {
    var id: Int64
    var systemKey: String
    var callId: String?
    var attempts: Int
    var job: DeliveryJob
}

/// The endpoint of a delivery under way was removed.
struct EndpointRemoved: Error {}

/// The delivery under way was dropped: an edit took its system away from the endpoint.
struct DeliveryDropped: Error {}

/// The worker's side of the store: what is due next, and recording how each attempt ended.
extension CRMStore {
    func endpointIds() async throws -> [Int64] {
        try await database.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM crm_endpoints ORDER BY id") }
    }

    func endpointExists(named name: String) async throws -> Bool {
        try await database.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM crm_endpoints WHERE name = ?", arguments: [name]) ?? false }
    }

    /// What a worker's `EndpointConfiguration` is read from: a committed change to any of these
    /// makes the endpoint's workers read it again (`EndpointEditObserver`), nothing else does.
    static let configurationColumns = ["name", "kind", "base_url", "user_name", "sealed_secret", "options", "paused", "auth_failure"]

    // Reads here return Sendable values, never a `Row`: with a non-Sendable result GRDB's
    // blocking `read` is chosen, which parks a Swift concurrency thread until a reader is free,
    // and an endpoint's workers together can then park all of them.
    func configuration(id: Int64) async throws -> EndpointConfiguration? {
        let box = self.box
        let columns = Self.configurationColumns.joined(separator: ", ")
        return try await database.read { db -> EndpointConfiguration? in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(columns) FROM crm_endpoints WHERE id = ?", arguments: [id]),
                  let kind = EndpointKind(rawValue: row["kind"]) else { return nil }
            return EndpointConfiguration(
                id: id, name: row["name"], kind: kind, baseURL: row["base_url"], user: row["user_name"],
                secret: try box.openText(row["sealed_secret"]), sealedSecret: row["sealed_secret"],
                options: Self.options(row["options"]), paused: row["paused"], authFailure: row["auth_failure"])
        }
    }

    /// Due deliveries whose call has no earlier delivery still waiting: a later event of a call
    /// waits for the earlier ones, other calls go ahead. Parked deliveries do not hold anything up.
    static let headsSQL = """
        FROM crm_outbox o WHERE o.endpoint_id = ? AND o.state = 'pending'
        AND (o.call_id IS NULL OR NOT EXISTS (
            SELECT 1 FROM crm_outbox p WHERE p.endpoint_id = o.endpoint_id AND p.system_key = o.system_key
            AND p.call_id = o.call_id AND p.state = 'pending' AND p.id < o.id))
        """

    /// The next due delivery of `lane`: outbox rows are split among an endpoint's workers by id,
    /// so no two workers ever hold the same row, and `headsSQL` keeps each call's events in order
    /// whichever worker holds them.
    func nextDelivery(endpointId: Int64, now: Int64, lane: Lane) async throws -> ClaimedDelivery? {
        let found = try await database.read { db -> (OutboxEntry, Data?, Data?, RecordingLink?)? in
            guard let row = try Row.fetchOne(db, sql: "SELECT o.* \(Self.headsSQL) AND o.id % ? = ? AND o.due_at_ms <= ? ORDER BY o.id LIMIT 1",
                                             arguments: [endpointId, lane.count, lane.index, now]) else { return nil }
            var callState: Data?
            var storedRecording: RecordingLink?
            if let callId: String = row["call_id"] {
                callState = try Data.fetchOne(db, sql: "SELECT state FROM crm_call_state WHERE endpoint_id = ? AND system_key = ? AND call_id = ?",
                                              arguments: [endpointId, row["system_key"], callId])
                // Only the recording, so a delivery does not decode the whole stored call.
                storedRecording = try Row.fetchOne(db, sql: """
                    SELECT json_extract(CAST(body AS TEXT), '$.recording.ref') AS ref, json_extract(CAST(body AS TEXT), '$.recording.agent') AS agent
                    FROM calls WHERE system_key = ? AND call_id = ?
                    """, arguments: [row["system_key"], callId]).flatMap { found in
                    (found["ref"] as String?).map { RecordingLink(ref: $0, agent: found["agent"]) }
                }
            }
            let session = try Data.fetchOne(db, sql: "SELECT sealed_session FROM crm_endpoints WHERE id = ?", arguments: [endpointId])
            let entry = OutboxEntry(id: row["id"], systemKey: row["system_key"], callId: row["call_id"], attempts: row["attempts"],
                                    event: row["event"], call: row["call"])
            return (entry, callState, session, storedRecording)
        }
        guard let (entry, callState, sealedSession, storedRecording) = found else { return nil }
        let event = try OutboxRows.json.decode(entry.event)
        let call = try entry.call.map { Self.withLatestRecording(try OutboxRows.callJSON.decode($0), stored: storedRecording) }
        return ClaimedDelivery(
            id: entry.id, systemKey: entry.systemKey, callId: entry.callId, attempts: entry.attempts,
            job: DeliveryJob(event: event, call: call, callState: callState, session: try sealedSession.map { try box.open($0) }))
    }

    /// The snapshot in the outbox is the call right after its event; a recording the collector
    /// linked since (the recording announced first and linked when the call ended, or announced
    /// after the call's last delivery was queued) travels with whatever goes out next.
    static func withLatestRecording(_ snapshot: CallRecord, stored: RecordingLink?) -> CallRecord {
        guard snapshot.recording == nil, let stored else { return snapshot }
        return CallAssembler.attach(stored, to: snapshot)
    }

    /// When the earliest waiting delivery that could go next becomes due (nil: nothing waits).
    func nextDueAt(endpointId: Int64, lane: Lane) async throws -> Int64? {
        try await database.read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(o.due_at_ms) \(Self.headsSQL) AND o.id % ? = ?",
                               arguments: [endpointId, lane.count, lane.index])
        }
    }

    func backlog(endpointId: Int64) async throws -> (pending: Int, parked: Int) {
        try await database.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT SUM(state = 'pending') AS pending, SUM(state = 'parked') AS parked FROM crm_outbox WHERE endpoint_id = ?
                """, arguments: [endpointId])
            return (row?["pending"] ?? 0, row?["parked"] ?? 0)
        }
    }

    /// Saves the connector's values mid-delivery (e.g. right after PayamGostar created the call).
    /// Throws `EndpointRemoved` once an operator removed the endpoint, and `DeliveryDropped` once
    /// an edit dropped the delivery with its system: it stops there instead of sending the CRM
    /// the rest of it. A dropped delivery's values are still saved, since the CRM has the record
    /// they point to (were the system served again, its call's next event would update it).
    func saveCheckpoint(_ checkpoint: DeliveryCheckpoint, endpointId: Int64, delivery: ClaimedDelivery) async throws {
        let sealedSession = try box.seal(checkpoint.session)
        let stillQueued = try await database.write { db -> Bool in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM crm_endpoints WHERE id = ?", arguments: [endpointId]) == true else {
                throw EndpointRemoved()
            }
            try Self.save(checkpoint, sealedSession: sealedSession, endpointId: endpointId, delivery: delivery, in: db)
            return try Bool.fetchOne(db, sql: "SELECT 1 FROM crm_outbox WHERE id = ?", arguments: [delivery.id]) == true
        }
        guard stillQueued else { throw DeliveryDropped() }
    }

    /// Records how an attempt ended, with the connector's values if they changed, in one transaction.
    /// Returns whether that let deliveries go that waited for it (the call's next event, or after
    /// failures the whole backlog): they may belong to other workers, which are then woken.
    func settle(_ delivery: ClaimedDelivery, endpoint: EndpointConfiguration, verdict: DeliveryVerdict, checkpoint: DeliveryCheckpoint?,
                retryAt: Int64) async throws -> Bool {
        let endpointId = endpoint.id
        let sealedSession = try checkpoint.map { try box.seal($0.session) }
        let now = Clock.nowMillis()
        return try await database.write { db -> Bool in
            if let checkpoint, let sealedSession {
                try Self.save(checkpoint, sealedSession: sealedSession, endpointId: endpointId, delivery: delivery, in: db)
            }
            switch verdict {
            case .done:
                try db.execute(sql: "DELETE FROM crm_outbox WHERE id = ?", arguments: [delivery.id])
                let wasFailing = try Bool.fetchOne(db, sql: "SELECT failing_since_ms IS NOT NULL FROM crm_endpoints WHERE id = ?",
                                                   arguments: [endpointId]) ?? false
                try db.execute(sql: "UPDATE crm_endpoints SET last_success_at_ms = ?, failing_since_ms = NULL WHERE id = ?",
                               arguments: [now, endpointId])
                // The CRM is back: what waited out a long backoff need not wait any longer.
                if wasFailing {
                    try db.execute(sql: "UPDATE crm_outbox SET due_at_ms = 0 WHERE endpoint_id = ? AND state = 'pending'",
                                   arguments: [endpointId])
                    return true
                }
                return try Self.callHasPendingDelivery(delivery, endpointId: endpointId, in: db)
            case .retry(let reason, _):
                try db.execute(sql: "UPDATE crm_outbox SET attempts = attempts + 1, due_at_ms = ?, last_error = ? WHERE id = ?",
                               arguments: [retryAt, reason, delivery.id])
                try db.execute(sql: """
                    UPDATE crm_endpoints SET failing_since_ms = COALESCE(failing_since_ms, ?), last_error = ?, last_error_at_ms = ?
                    WHERE id = ?
                    """, arguments: [now, reason, now, endpointId])
                return false
            case .authFailed(let reason):
                try db.execute(sql: "UPDATE crm_outbox SET last_error = ? WHERE id = ?", arguments: [reason, delivery.id])
                // Only if the sign-in that failed is still the endpoint's: an operator may have
                // given a new secret, address or user while this attempt was on its way.
                try db.execute(sql: """
                    UPDATE crm_endpoints SET auth_failure = ?, last_error = ?, last_error_at_ms = ?
                    WHERE id = ? AND sealed_secret = ? AND base_url = ? AND user_name IS ?
                    """, arguments: [reason, reason, now, endpointId, endpoint.sealedSecret, endpoint.baseURL, endpoint.user])
                return false
            case .rejected(let status, let reason, let excerpt):
                try db.execute(sql: """
                    UPDATE crm_outbox SET state = 'parked', attempts = attempts + 1, parked_status = ?, parked_reason = ?,
                        parked_excerpt = ?, parked_at_ms = ?, last_error = ?
                    WHERE id = ?
                    """, arguments: [status, reason, excerpt, now, reason, delivery.id])
                // A refusal is an answer: the CRM is reachable.
                try db.execute(sql: """
                    UPDATE crm_endpoints SET failing_since_ms = NULL, last_error = ?, last_error_at_ms = ? WHERE id = ?
                    """, arguments: ["parked \(delivery.job.event.type.rawValue) \(delivery.job.event.eventId): \(reason) (HTTP \(status))",
                                     now, endpointId])
                return try Self.callHasPendingDelivery(delivery, endpointId: endpointId, in: db)
            }
        }
    }

    func makeDueNow(deliveryId: Int64) async throws {
        try await database.write { db in
            try db.execute(sql: "UPDATE crm_outbox SET due_at_ms = 0 WHERE id = ? AND state = 'pending'", arguments: [deliveryId])
        }
    }

    private static func callHasPendingDelivery(_ delivery: ClaimedDelivery, endpointId: Int64, in db: Database) throws -> Bool {
        guard let callId = delivery.callId else { return false }
        return try Bool.fetchOne(db, sql: """
            SELECT 1 FROM crm_outbox WHERE endpoint_id = ? AND system_key = ? AND call_id = ? AND state = 'pending' LIMIT 1
            """, arguments: [endpointId, delivery.systemKey, callId]) ?? false
    }

    private static func save(_ checkpoint: DeliveryCheckpoint, sealedSession: Data, endpointId: Int64, delivery: ClaimedDelivery,
                             in db: Database) throws {
        if let callId = delivery.callId {
            // Nothing to keep for an endpoint an operator removed while this delivery was on the wire.
            try db.execute(sql: """
                INSERT OR REPLACE INTO crm_call_state (endpoint_id, system_key, call_id, state, written_at_ms)
                SELECT id, ?, ?, ?, ? FROM crm_endpoints WHERE id = ?
                """, arguments: [delivery.systemKey, callId, checkpoint.callState, Clock.nowMillis(), endpointId])
        }
        try db.execute(sql: "UPDATE crm_endpoints SET sealed_session = ? WHERE id = ?", arguments: [sealedSession, endpointId])
    }
}
