import CollectorCore
import Foundation
import GRDB
import TamasEvents

/// What the admin API shows of an endpoint: never its secret.
public struct EndpointView: Codable, Sendable, Equatable {
    public var name: String
    public var kind: EndpointKind
    public var url: String
    public var user: String?
    public var systemKeys: [String]
    public var options: EndpointOptions
    /// `ok`, `retrying`, `auth failed` or `paused`.
    public var state: String
    public var backlog: Int
    public var parked: Int
    public var oldestUndeliveredSeconds: Int?
    public var lastSuccessAt: String?
    public var lastError: String?
    public var lastErrorAt: String?
    public var authFailure: String?
    /// Only in the answer to an edit: the queued deliveries of the systems it took away, dropped
    /// with them (0 when it took none away).
    public var droppedQueued: Int?
}

/// What removing an endpoint dropped with it.
public struct EndpointRemoval: Codable, Sendable, Equatable {
    public var removed: String
    /// Deliveries that were waiting (due, or backing off) and will never be sent.
    public var droppedQueued: Int
    /// Deliveries the CRM had refused, kept for an operator until now.
    public var droppedParked: Int
}

/// A delivery the CRM refused, kept for an operator.
public struct ParkedView: Codable, Sendable, Equatable {
    public var id: Int64
    public var systemKey: String
    public var callId: String?
    public var eventId: String
    public var eventType: String
    public var status: Int
    public var reason: String
    public var excerpt: String
    public var parkedAt: String
}

/// The endpoints and their outboxes in the collector's store: what the admin API changes and
/// what the delivery workers read and settle.
public struct CRMStore: Sendable {
    let database: DatabasePool
    let box: SecretBox
    /// Rung when an operator queues deliveries again (`replay`, `retryParked`), so idle lanes
    /// take them at once; edits of an endpoint ring through `EndpointEditObserver` instead.
    let doorbell: Doorbell

    public init(database: DatabasePool, box: SecretBox, doorbell: Doorbell) {
        self.database = database
        self.box = box
        self.doorbell = doorbell
    }

    public enum Failure: Error, CustomStringConvertible {
        case nameTaken(String)
        case notFound(String)
        /// Removing the endpoint would drop deliveries that were never sent, and `force` was not given.
        case undelivered(String, queued: Int, parked: Int)
        /// A parked delivery of a system an edit took away from the endpoint: retrying it would
        /// send the CRM a system it no longer serves.
        case systemNotServed(String, systemKey: String, delivery: Int64)

        public var description: String {
            switch self {
            case .nameTaken(let name): "a CRM endpoint named '\(name)' already exists"
            case .notFound(let name): "no CRM endpoint named '\(name)'"
            case .undelivered(let name, let queued, let parked):
                "CRM endpoint '\(name)' still has \(queued) queued and \(parked) parked deliveries, which removing it would drop: "
                    + "let the backlog drain and settle what is parked (retry-parked), or remove it with force "
                    + "(tamasctl crm remove \(name) --force, DELETE …?force=true)"
            case .systemNotServed(let name, let systemKey, let delivery):
                "parked delivery \(delivery) is of system '\(systemKey)', which CRM endpoint '\(name)' no longer serves: "
                    + "add the system back (tamasctl crm edit \(name) --system ...) to send it"
            }
        }
    }

    // MARK: Administration

    public func add(_ definition: EndpointDefinition) async throws -> EndpointView {
        let clean = try definition.validated()
        let sealed = try box.seal(clean.secret)
        let options = try Self.json(clean.options ?? EndpointOptions())
        try await database.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM crm_endpoints WHERE name = ?", arguments: [clean.name]) == true {
                throw Failure.nameTaken(clean.name)
            }
            try db.execute(sql: """
                INSERT INTO crm_endpoints (name, kind, base_url, user_name, sealed_secret, options, created_at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [clean.name, clean.kind.rawValue, clean.url, clean.user, sealed, options, Clock.nowMillis()])
            let id = db.lastInsertedRowID
            for key in clean.systemKeys {
                try db.execute(sql: "INSERT INTO crm_endpoint_systems (system_key, endpoint_id) VALUES (?, ?)", arguments: [key, id])
            }
        }
        return try await view(named: clean.name)
    }

    /// Applies an operator's edit in one transaction, checked by the rules `add` follows. The
    /// columns it writes are configuration columns, so `EndpointEditObserver` rings the endpoint's
    /// lanes when it commits and their next delivery uses the new settings. Waiting deliveries
    /// become due at once, as after `resume`: a lane backing off from the old address tries the
    /// new one now. A new address or user also forgets the session and clears "auth failed":
    /// both belonged to the old sign-in. The per-call state is kept (PayamGostar's call ids), so
    /// the endpoint must still be the same CRM; another CRM is another endpoint. Systems taken
    /// away take their queued deliveries with them: the CRM gets nothing more of a system it no
    /// longer serves (parked ones stay for an operator to settle); the answer says how many went.
    public func edit(name: String, _ edit: EndpointEdit) async throws -> EndpointView {
        let url = try edit.url.map(EndpointRules.url)
        let systemKeys = try edit.systemKeys.map(EndpointRules.systemKeys)
        let droppedQueued = try await database.write { db -> Int in
            guard let row = try Row.fetchOne(db, sql: "SELECT id, kind, base_url, user_name, options FROM crm_endpoints WHERE name = ?",
                                             arguments: [name]),
                  let kind = EndpointKind(rawValue: row["kind"]) else { throw Failure.notFound(name) }
            let id: Int64 = row["id"]
            let storedURL: String = row["base_url"]
            let storedUser: String? = row["user_name"]
            let user = try edit.user.map { try EndpointRules.user($0, kind: kind) } ?? storedUser
            var options = Self.options(row["options"])
            if let patch = edit.options {
                options = patch.applied(to: options)
                try EndpointRules.options(options)
            }
            let signInChanged = (url ?? storedURL) != storedURL || user != storedUser
            try db.execute(sql: "UPDATE crm_endpoints SET base_url = ?, user_name = ?, options = ? WHERE id = ?",
                           arguments: [url ?? storedURL, user, try Self.json(options), id])
            if signInChanged {
                try db.execute(sql: "UPDATE crm_endpoints SET sealed_session = NULL, auth_failure = NULL WHERE id = ?", arguments: [id])
            }
            var droppedQueued = 0
            if let systemKeys {
                try db.execute(sql: "DELETE FROM crm_endpoint_systems WHERE endpoint_id = ?", arguments: [id])
                for key in systemKeys {
                    try db.execute(sql: "INSERT INTO crm_endpoint_systems (system_key, endpoint_id) VALUES (?, ?)", arguments: [key, id])
                }
                try db.execute(sql: """
                    DELETE FROM crm_outbox WHERE endpoint_id = ? AND state = 'pending'
                    AND system_key NOT IN (SELECT system_key FROM crm_endpoint_systems WHERE endpoint_id = ?)
                    """, arguments: [id, id])
                droppedQueued = db.changesCount
            }
            try Self.makeBacklogDue(endpointName: name, in: db)
            return droppedQueued
        }
        var edited = try await view(named: name)
        edited.droppedQueued = droppedQueued
        return edited
    }

    /// Deletes the endpoint and everything that is only its own: its queued and parked deliveries,
    /// its per-call state, its session. Deliveries that were never sent are lost with it, so while
    /// there are any the removal is refused unless `force` says to drop them; the answer says how
    /// many were. Deleting the row rings the endpoint's lanes (`EndpointEditObserver`): they find
    /// it gone and stop; a delivery of several requests under way stops after the one on the wire.
    public func remove(name: String, force: Bool) async throws -> EndpointRemoval {
        try await database.write { db in
            let id = try Self.endpointId(name, in: db)
            let counts = try Row.fetchOne(db, sql: """
                SELECT COALESCE(SUM(state = 'pending'), 0) AS queued, COALESCE(SUM(state = 'parked'), 0) AS parked
                FROM crm_outbox WHERE endpoint_id = ?
                """, arguments: [id])
            let queued: Int = counts?["queued"] ?? 0
            let parked: Int = counts?["parked"] ?? 0
            guard force || queued + parked == 0 else { throw Failure.undelivered(name, queued: queued, parked: parked) }
            // The outbox, per-call state and system rows go with it (ON DELETE CASCADE).
            try db.execute(sql: "DELETE FROM crm_endpoints WHERE id = ?", arguments: [id])
            return EndpointRemoval(removed: name, droppedQueued: queued, droppedParked: parked)
        }
    }

    public func list() async throws -> [EndpointView] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM crm_endpoints ORDER BY name").map { try Self.view(of: $0, in: db) }
        }
    }

    public func view(named name: String) async throws -> EndpointView {
        try await database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM crm_endpoints WHERE name = ?", arguments: [name]) else {
                throw Failure.notFound(name)
            }
            return try Self.view(of: row, in: db)
        }
    }

    /// A new password/token/secret clears "auth failed", forgets the session that belonged to the
    /// old credentials and makes every waiting delivery due now, so the backlog drains by itself.
    public func setSecret(name: String, secret: String) async throws {
        guard !secret.isEmpty else { throw EndpointDefinition.Invalid(description: "the new secret is empty") }
        let sealed = try box.seal(secret)
        try await database.write { db in
            try db.execute(sql: """
                UPDATE crm_endpoints SET sealed_secret = ?, sealed_session = NULL, auth_failure = NULL WHERE name = ?
                """, arguments: [sealed, name])
            guard db.changesCount == 1 else { throw Failure.notFound(name) }
            try Self.makeBacklogDue(endpointName: name, in: db)
        }
    }

    public func setPaused(name: String, _ paused: Bool) async throws {
        try await database.write { db in
            try db.execute(sql: "UPDATE crm_endpoints SET paused = ? WHERE name = ?", arguments: [paused, name])
            guard db.changesCount == 1 else { throw Failure.notFound(name) }
            if !paused { try Self.makeBacklogDue(endpointName: name, in: db) }
        }
    }

    public func parked(name: String) async throws -> [ParkedView] {
        try await database.read { db in
            let id = try Self.endpointId(name, in: db)
            return try Row.fetchAll(db, sql: "SELECT * FROM crm_outbox WHERE endpoint_id = ? AND state = 'parked' ORDER BY id",
                                    arguments: [id]).map { row in
                let event = try? OutboxRows.json.decode(row["event"])
                return ParkedView(id: row["id"], systemKey: row["system_key"], callId: row["call_id"], eventId: row["event_id"],
                                  eventType: event?.type.rawValue ?? "?", status: row["parked_status"] ?? 0,
                                  reason: row["parked_reason"] ?? "", excerpt: row["parked_excerpt"] ?? "",
                                  parkedAt: Self.iso(row["parked_at_ms"]) ?? "")
            }
        }
    }

    /// Puts a parked delivery back in its place in the queue: it goes before the later events of its call.
    /// Refused for a system the endpoint no longer serves (`Failure.systemNotServed`).
    public func retryParked(name: String, id: Int64) async throws -> Bool {
        let (endpoint, requeued) = try await database.write { db in
            let endpoint = try Self.endpointId(name, in: db)
            if let systemKey = try String.fetchOne(db, sql: """
                SELECT o.system_key FROM crm_outbox o WHERE o.id = ? AND o.endpoint_id = ? AND o.state = 'parked'
                AND NOT EXISTS (SELECT 1 FROM crm_endpoint_systems s WHERE s.endpoint_id = o.endpoint_id AND s.system_key = o.system_key)
                """, arguments: [id, endpoint]) {
                throw Failure.systemNotServed(name, systemKey: systemKey, delivery: id)
            }
            try db.execute(sql: """
                UPDATE crm_outbox SET state = 'pending', attempts = 0, due_at_ms = 0, parked_status = NULL, parked_reason = NULL,
                    parked_excerpt = NULL, parked_at_ms = NULL
                WHERE id = ? AND endpoint_id = ? AND state = 'parked'
                """, arguments: [id, endpoint])
            return (endpoint, db.changesCount == 1)
        }
        if requeued { doorbell.ring(endpointId: endpoint) }
        return requeued
    }

    /// Queues every stored event of the endpoint's systems that happened at or after `since`
    /// again, each with the call as it was right after that event. Parked deliveries of those
    /// events are replaced; events already waiting are not queued twice.
    public func replay(name: String, since: Timestamp) async throws -> Int {
        let (endpoint, queued) = try await database.write { db in
            let endpoint = try Self.endpointId(name, in: db)
            guard let kind = try String.fetchOne(db, sql: "SELECT kind FROM crm_endpoints WHERE id = ?", arguments: [endpoint])
                .flatMap(EndpointKind.init(rawValue:)) else { throw Failure.notFound(name) }
            let waiting = Set(try String.fetchAll(db, sql: "SELECT event_id FROM crm_outbox WHERE endpoint_id = ? AND state = 'pending'",
                                                  arguments: [endpoint]))
            let rows = try Row.fetchAll(db, sql: """
                SELECT e.body FROM events e JOIN crm_endpoint_systems s ON s.system_key = e.system_key AND s.endpoint_id = ?
                WHERE e.at_ms >= ? ORDER BY e.id
                """, arguments: [endpoint, since.epochMillis])
            var queued = 0
            for row in rows {
                guard let event = try? OutboxRows.json.decode(row["body"]) else { continue }
                let call = try Self.call(after: event, in: db)
                guard kind.accepts(event.type, hasCall: call != nil), !waiting.contains(event.eventId) else { continue }
                try db.execute(sql: "DELETE FROM crm_outbox WHERE endpoint_id = ? AND event_id = ? AND system_key = ? AND state = 'parked'",
                               arguments: [endpoint, event.eventId, event.systemKey])
                try OutboxRows.enqueue(event, call: call, endpointId: endpoint, in: db)
                queued += 1
            }
            return (endpoint, queued)
        }
        if queued > 0 { doorbell.ring(endpointId: endpoint) }
        return queued
    }

    /// The call as it stood right after `event`: its stored events folded in arrival order up to this one.
    private static func call(after event: CallEvent, in db: Database) throws -> CallRecord? {
        guard let callId = event.callId else { return nil }
        if event.type == .recordingAvailable { return try OutboxRows.storedCall(for: event, in: db) }
        guard event.type.isCallEvent else { return nil }
        let bodies = try Data.fetchAll(db, sql: """
            SELECT body FROM events WHERE system_key = ? AND call_id = ? AND type IN ('call.ringing', 'call.answered', 'call.ended')
            AND id <= (SELECT id FROM events WHERE system_key = ? AND event_id = ?) ORDER BY id
            """, arguments: [event.systemKey, callId, event.systemKey, event.eventId])
        var call: CallRecord?
        for body in bodies {
            guard let earlier = try? OutboxRows.json.decode(body) else { continue }
            call = CallAssembler.apply(earlier, to: call)
        }
        return call
    }

    // MARK: Reading for views

    static func endpointId(_ name: String, in db: Database) throws -> Int64 {
        guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM crm_endpoints WHERE name = ?", arguments: [name]) else {
            throw Failure.notFound(name)
        }
        return id
    }

    static func makeBacklogDue(endpointName: String, in db: Database) throws {
        try db.execute(sql: """
            UPDATE crm_outbox SET due_at_ms = 0
            WHERE state = 'pending' AND endpoint_id = (SELECT id FROM crm_endpoints WHERE name = ?)
            """, arguments: [endpointName])
    }

    static func view(of row: Row, in db: Database) throws -> EndpointView {
        let id: Int64 = row["id"]
        let keys = try String.fetchAll(db, sql: "SELECT system_key FROM crm_endpoint_systems WHERE endpoint_id = ? ORDER BY system_key",
                                       arguments: [id])
        let counts = try Row.fetchOne(db, sql: """
            SELECT SUM(state = 'pending') AS backlog, SUM(state = 'parked') AS parked,
                MIN(CASE WHEN state = 'pending' THEN created_at_ms END) AS oldest
            FROM crm_outbox WHERE endpoint_id = ?
            """, arguments: [id])
        let oldest: Int64? = counts?["oldest"]
        let options = Self.options(row["options"])
        let authFailure: String? = row["auth_failure"]
        let state = if row["paused"] as Bool {
            "paused"
        } else if authFailure != nil {
            "auth failed"
        } else if (row["failing_since_ms"] as Int64?) != nil {
            "retrying"
        } else {
            "ok"
        }
        return EndpointView(
            name: row["name"], kind: EndpointKind(rawValue: row["kind"]) ?? .webhook, url: row["base_url"], user: row["user_name"],
            systemKeys: keys, options: options, state: state, backlog: counts?["backlog"] ?? 0, parked: counts?["parked"] ?? 0,
            oldestUndeliveredSeconds: oldest.map { Int(max(0, Clock.nowMillis() - $0) / 1000) },
            lastSuccessAt: iso(row["last_success_at_ms"]), lastError: row["last_error"], lastErrorAt: iso(row["last_error_at_ms"]),
            authFailure: authFailure)
    }

    /// The options as stored; what cannot be read counts as the defaults.
    static func options(_ stored: String) -> EndpointOptions {
        (try? JSONDecoder().decode(EndpointOptions.self, from: Data(stored.utf8))) ?? EndpointOptions()
    }

    static func json(_ options: EndpointOptions) throws -> String {
        String(decoding: try JSONEncoder().encode(options), as: UTF8.self)
    }

    static func iso(_ millis: Int64?) -> String? {
        millis.map { Timestamp(epochMillis: $0).iso8601 }
    }
}
