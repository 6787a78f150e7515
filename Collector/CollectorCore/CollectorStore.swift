import Foundation
import GRDB
import Logging
import NIOCore
import TamasEvents
import TamasLink

/// The collector's durable state in one SQLite file (WAL, `synchronous=FULL`): enrolled agents,
/// every distinct event, one assembled record per call, and quarantined events.
///
/// Deduplication is a UNIQUE (system_key, event_id) constraint, not a time window: a resend after
/// a week-long outage, a restarted agent re-reading its file, and two agents reading the same
/// PBX all collapse into the one row that is already there.
public final class CollectorStore: Sendable {
    /// Shared with the modules that keep their own tables in the same file (the CRM outbox), so
    /// that what they derive from an event commits in the same transaction as the event.
    public let database: DatabasePool
    private let hooks: [any IngestHook]
    private let checkpointer: WALCheckpointer
    /// How far outside a call a recording may start or end and still be linked to it.
    public let recordingToleranceSeconds: Int

    /// `extensions` add tables (each migration is applied once, by name, after the store's own);
    /// `hooks` see every newly stored event inside the ingest transaction.
    public init(path: String, extensions: [StoreExtension] = [], hooks: [any IngestHook] = [],
                recordingToleranceSeconds: Int = 15) throws {
        self.recordingToleranceSeconds = recordingToleranceSeconds
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // 16 MiB instead of SQLite's 2 MiB: the (system_key, event_id) index takes inserts all
            // over, and re-reading its pages from the OS showed in the ingest profile.
            try db.execute(sql: "PRAGMA cache_size = -16384")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(WALCheckpointer.writerBackstopPages)")
        }
        // Another process on the same file (a benchmark, an operator's sqlite3 shell) waits its turn instead of failing.
        configuration.busyMode = .timeout(5)
        database = try DatabasePool(path: path, configuration: configuration)
        self.hooks = hooks
        var migrator = Self.migrator
        for migration in extensions { migrator.registerMigration(migration.name, migrate: migration.migrate) }
        try migrator.migrate(database)
        checkpointer = try WALCheckpointer(path: path)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE agents (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, secret_hash TEXT NOT NULL,
                    system_keys TEXT NOT NULL, created_at_ms INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
                    kind TEXT, version TEXT, host TEXT, last_seen_at_ms INTEGER, last_event_at_ms INTEGER,
                    events_received INTEGER NOT NULL DEFAULT 0, spool_id TEXT, committed_through INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE events (
                    id INTEGER PRIMARY KEY, system_key TEXT NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL,
                    call_id TEXT, at_ms INTEGER NOT NULL, agent_id TEXT NOT NULL, received_at_ms INTEGER NOT NULL,
                    body BLOB NOT NULL, UNIQUE (system_key, event_id));
                CREATE INDEX events_call ON events (system_key, call_id);
                CREATE TABLE calls (
                    system_key TEXT NOT NULL, call_id TEXT NOT NULL, started_at_ms INTEGER, phase TEXT NOT NULL,
                    updated_at_ms INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (system_key, call_id));
                CREATE INDEX calls_started ON calls (started_at_ms DESC);
                CREATE TABLE quarantine (
                    id INTEGER PRIMARY KEY, agent_id TEXT NOT NULL, received_at_ms INTEGER NOT NULL,
                    reason TEXT NOT NULL, body BLOB NOT NULL);
                CREATE TABLE admin_tokens (hash TEXT PRIMARY KEY, created_at_ms INTEGER NOT NULL);
                """)
        }
        migrator.registerMigration("v3-api-tokens") { db in
            try db.execute(sql: """
                CREATE TABLE api_tokens (hash TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at_ms INTEGER NOT NULL);
                """)
        }
        migrator.registerMigration("v2-recordings") { db in
            try db.execute(sql: """
                CREATE TABLE recordings (
                    system_key TEXT NOT NULL, ref TEXT NOT NULL, line TEXT, started_at_ms INTEGER NOT NULL,
                    duration_sec INTEGER NOT NULL, agent TEXT NOT NULL, call_id TEXT, PRIMARY KEY (system_key, ref));
                CREATE INDEX recordings_unmatched ON recordings (system_key, call_id, started_at_ms);
                """)
        }
        migrator.registerMigration("v4-api-token-scopes") { db in
            try db.execute(sql: """
                ALTER TABLE api_tokens ADD COLUMN system_keys TEXT;
                ALTER TABLE api_tokens ADD COLUMN actions TEXT NOT NULL DEFAULT 'originate,spy,whisper,barge';
                """)
        }
        return migrator
    }

    // MARK: Agents

    public struct AgentRecord: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var systemKeys: [String]
        public var revoked: Bool
        public var kind: String?
        public var version: String?
        public var host: String?
        public var lastSeenAt: Timestamp?
        public var lastEventAt: Timestamp?
        public var eventsReceived: Int
        public var spoolId: String?
        public var committedThrough: UInt64
    }

    public struct Enrollment: Sendable {
        public var agent: AgentRecord
        /// Shown once; only its hash is stored.
        public var secret: String
    }

    public enum EnrollmentError: Error, CustomStringConvertible {
        case nameTaken(String)
        case invalidName(String)
        case invalidSystemKey(String)
        case noSystemKey

        public var description: String {
            switch self {
            case .nameTaken(let name): "an agent named '\(name)' already exists"
            case .invalidName(let name): "agent name '\(name)' must be 1 to 64 letters, digits, '-', '_' or '.'"
            case .invalidSystemKey(let key): "system key '\(key)': \(SystemKey.rule)"
            case .noSystemKey: "an agent needs at least one system key"
            }
        }
    }

    public func enroll(name: String, systemKeys: [String]) async throws -> Enrollment {
        guard !name.isEmpty, name.count <= 64,
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw EnrollmentError.invalidName(name)
        }
        guard !systemKeys.isEmpty else { throw EnrollmentError.noSystemKey }
        if let bad = systemKeys.first(where: { !SystemKey.isValid($0) }) { throw EnrollmentError.invalidSystemKey(bad) }
        let id = "ag_" + Secrets.random(bytes: 8)
        let secret = Secrets.random(bytes: 32)
        let keys = Array(Set(systemKeys)).sorted()
        try await database.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM agents WHERE name = ?", arguments: [name]) == true {
                throw EnrollmentError.nameTaken(name)
            }
            try db.execute(sql: "INSERT INTO agents (id, name, secret_hash, system_keys, created_at_ms) VALUES (?, ?, ?, ?, ?)",
                           arguments: [id, name, Secrets.hash(secret), Self.encodeKeys(keys), Self.nowMillis()])
        }
        let agent = AgentRecord(id: id, name: name, systemKeys: keys, revoked: false, eventsReceived: 0, committedThrough: 0)
        return Enrollment(agent: agent, secret: secret)
    }

    /// Revoked agents are refused at their next hello; their events stay.
    public func revoke(name: String) async throws -> Bool {
        try await database.write { db in
            try db.execute(sql: "UPDATE agents SET revoked = 1 WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    public enum Authentication: Sendable {
        case accepted(AgentRecord)
        case refused(String)
    }

    public func authenticate(agentId: String, secret: String) async throws -> Authentication {
        // A Sendable result, so that GRDB's asynchronous read is used, not the blocking one.
        let found = try await database.read { db -> (AgentRecord, String)? in
            try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE id = ?", arguments: [agentId]).map { (Self.agent(from: $0), $0["secret_hash"]) }
        }
        guard let (agent, secretHash) = found, Secrets.matches(secret, hash: secretHash) else {
            return .refused("unknown agent id or wrong secret")
        }
        if agent.revoked { return .refused("agent '\(agent.name)' was revoked") }
        return .accepted(agent)
    }

    /// Records what the agent announced and returns the sequence it should resend after: the
    /// committed point of the same spool, or 0 when the agent's spool is new.
    public func agentConnected(id: String, hello: Hello) async throws -> UInt64 {
        try await database.write { db in
            let previous = try Row.fetchOne(db, sql: "SELECT spool_id, committed_through FROM agents WHERE id = ?", arguments: [id])
            let sameSpool = previous?["spool_id"] == hello.spoolId
            let committed: Int64 = sameSpool ? (previous?["committed_through"] ?? 0) : 0
            try db.execute(sql: """
                UPDATE agents SET kind = ?, version = ?, host = ?, last_seen_at_ms = ?, spool_id = ?, committed_through = ?
                WHERE id = ?
                """, arguments: [hello.kind, hello.version, hello.host, Self.nowMillis(), hello.spoolId, committed, id])
            return UInt64(committed)
        }
    }

    public func agents() async throws -> [AgentRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agents ORDER BY name").map(Self.agent(from:))
        }
    }

    // MARK: Ingest

    public struct IngestResult: Sendable, Equatable {
        public var stored = 0
        public var duplicates = 0
        public var quarantined = 0
    }

    /// A batch decoded and checked, ready to commit: the CPU half of ingest, done outside the
    /// database writer so the next batch is decoded while the previous one is being committed.
    public struct PreparedBatch: Sendable {
        public let agent: AgentRecord
        public let lastSequence: UInt64
        public let received: Int
        let valid: [(CallEvent, Data)]
        let refused: [(String, Data)]
    }

    public func prepare(_ batch: EventBatch, from agent: AgentRecord) -> PreparedBatch {
        let allowed = Set(agent.systemKeys)
        let decoder = EventJSON()
        var valid: [(CallEvent, Data)] = []
        var refused: [(String, Data)] = []
        valid.reserveCapacity(batch.events.count)
        for buffer in batch.events {
            let body = Data(buffer.readableBytesView)
            do {
                let event = try decoder.decode(body)
                try event.validate()
                if allowed.contains(event.systemKey) {
                    valid.append((event, body))
                } else {
                    refused.append(("system key '\(event.systemKey)' is not enrolled for this agent (enrolled: \(agent.systemKeys.joined(separator: ", ")))", body))
                }
            } catch {
                refused.append(("not a valid event: \(error)", body))
            }
        }
        return PreparedBatch(agent: agent, lastSequence: batch.lastSequence, received: batch.events.count, valid: valid, refused: refused)
    }

    /// Commits one batch and returns only after it is durable: the caller acknowledges the batch
    /// to the agent after this returns, never before.
    public func ingest(_ batch: EventBatch, from agent: AgentRecord) async throws -> IngestResult {
        try await commit([prepare(batch, from: agent)])[0]
    }

    /// Commits several prepared batches (from one or many agents) in ONE transaction: one fsync
    /// for all of them, which is what lets many agents stream at once (group commit).
    public func commit(_ batches: [PreparedBatch]) async throws -> [IngestResult] {
        let now = Self.nowMillis()
        let hooks = self.hooks
        defer { Task { [checkpointer] in await checkpointer.logGrew() } }
        return try await database.write { db in
            let insert = try IngestStatement(db, sql: """
                INSERT OR IGNORE INTO events (system_key, event_id, type, call_id, at_ms, agent_id, received_at_ms, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let selectCall = try IngestStatement(db, sql: "SELECT body FROM calls WHERE system_key = ? AND call_id = ?")
            let upsertCall = try IngestStatement(db, sql: """
                INSERT OR REPLACE INTO calls (system_key, call_id, started_at_ms, phase, updated_at_ms, body) VALUES (?, ?, ?, ?, ?, ?)
                """)
            let quarantine = try db.cachedStatement(sql: "INSERT INTO quarantine (agent_id, received_at_ms, reason, body) VALUES (?, ?, ?, ?)")
            let updateAgent = try db.cachedStatement(sql: """
                UPDATE agents SET committed_through = MAX(committed_through, ?), events_received = events_received + ?,
                    last_event_at_ms = COALESCE(MAX(last_event_at_ms, ?), ?, last_event_at_ms), last_seen_at_ms = ?
                WHERE id = ?
                """)
            let json = CallRecordJSON()
            var results: [IngestResult] = []
            var callEvents: [String: [CallEvent]] = [:]
            var callOrder: [String] = []
            var otherStored: [(CallEvent, String)] = []
            for batch in batches {
                var result = IngestResult()
                var newestEvent: Int64?
                for (event, body) in batch.valid {
                    try insert.execute(.text(event.systemKey), .text(event.eventId), .text(event.type.rawValue), .text(event.callId),
                                       .integer(event.at.epochMillis), .text(batch.agent.id), .integer(now), .blob(body))
                    guard db.changesCount == 1 else {
                        result.duplicates += 1
                        continue
                    }
                    result.stored += 1
                    newestEvent = max(newestEvent ?? event.at.epochMillis, event.at.epochMillis)
                    if event.type.isCallEvent, let callId = event.callId {
                        let key = event.systemKey + "\u{1F}" + callId
                        if callEvents[key] == nil { callOrder.append(key) }
                        callEvents[key, default: []].append(event)
                    } else {
                        otherStored.append((event, batch.agent.name))
                    }
                }
                for (reason, body) in batch.refused {
                    try quarantine.execute(arguments: [batch.agent.id, now, reason, body])
                    result.quarantined += 1
                }
                try updateAgent.execute(arguments: [Int64(batch.lastSequence), result.stored, newestEvent, newestEvent, now, batch.agent.id])
                results.append(result)
            }
            var linker = RecordingLinker(db: db, toleranceSeconds: recordingToleranceSeconds)
            for key in callOrder {
                guard let events = callEvents[key], let first = events.first, let callId = first.callId else { continue }
                var call = try selectCall.fetchBlob(.text(first.systemKey), .text(callId)).flatMap { try? json.decode($0) }
                for event in events {
                    call = CallAssembler.apply(event, to: call)
                    for hook in hooks { try hook.didStore(event, call: call, in: db) }
                }
                guard var assembled = call else { continue }
                if assembled.phase == .ended, assembled.recording == nil, let recording = try linker.recording(for: assembled) {
                    assembled = CallAssembler.attach(recording, to: assembled)
                }
                try upsertCall.execute(.text(assembled.systemKey), .text(assembled.callId), .integer(assembled.startedAt?.epochMillis),
                                       .text(assembled.phase.rawValue), .integer(now), .blob(json.encode(assembled)))
            }
            for (event, agent) in otherStored {
                var call: CallRecord?
                if event.type == .recordingAvailable {
                    call = try linker.announce(event, agent: agent)
                }
                for hook in hooks { try hook.didStore(event, call: call, in: db) }
            }
            return results
        }
    }

    // MARK: Queries

    public func calls(limit: Int, systemKey: String? = nil) async throws -> [CallRecord] {
        try await database.read { db in
            let rows: [Data]
            if let systemKey {
                rows = try Data.fetchAll(db, sql: "SELECT body FROM calls WHERE system_key = ? ORDER BY started_at_ms DESC LIMIT ?",
                                         arguments: [systemKey, limit])
            } else {
                rows = try Data.fetchAll(db, sql: "SELECT body FROM calls ORDER BY started_at_ms DESC LIMIT ?", arguments: [limit])
            }
            let json = CallRecordJSON()
            return rows.compactMap { try? json.decode($0) }
        }
    }

    public struct StoredEvent: Sendable {
        public var id: Int64
        public var body: Data
    }

    /// Events stored after `afterId`, oldest first (for `tamasctl events --follow` and exports).
    public func events(after afterId: Int64, limit: Int) async throws -> [StoredEvent] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, body FROM events WHERE id > ? ORDER BY id LIMIT ?", arguments: [afterId, limit])
                .map { StoredEvent(id: $0["id"], body: $0["body"]) }
        }
    }

    /// The agent that announced a recording, and the system it belongs to.
    public func recordingSource(ref: String) async throws -> (agentId: String, systemKey: String)? {
        try await database.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT agent_id, system_key FROM events
                WHERE type = 'recording.available' AND json_extract(CAST(body AS TEXT), '$.ref') = ?
                ORDER BY id DESC LIMIT 1
                """, arguments: [ref])
            return row.map { ($0["agent_id"], $0["system_key"]) }
        }
    }

    public struct RecordingRow: Codable, Sendable, Equatable {
        public var systemKey: String
        public var ref: String
        public var line: String?
        public var startedAt: Timestamp
        public var durationSec: Int
        public var agent: String
        /// Nil while no call on the same line overlaps it within the tolerance.
        public var callId: String?
    }

    public func recordings(limit: Int, unmatchedOnly: Bool) async throws -> [RecordingRow] {
        try await database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM recordings \(unmatchedOnly ? "WHERE call_id IS NULL" : "") ORDER BY started_at_ms DESC LIMIT ?
                """, arguments: [limit]).map { row in
                RecordingRow(systemKey: row["system_key"], ref: row["ref"], line: row["line"],
                             startedAt: Timestamp(epochMillis: row["started_at_ms"]), durationSec: row["duration_sec"],
                             agent: row["agent"], callId: row["call_id"])
            }
        }
    }

    public func latestEventId() async throws -> Int64 {
        try await database.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM events") ?? 0 }
    }

    public struct Counts: Sendable, Equatable {
        public var events: Int
        public var calls: Int
        public var quarantined: Int
    }

    public func counts() async throws -> Counts {
        try await database.read { db in
            Counts(events: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0,
                   calls: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM calls") ?? 0,
                   quarantined: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM quarantine") ?? 0)
        }
    }

    public func isHealthy() async -> Bool {
        (try? await database.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    // MARK: Admin tokens

    public func addAdminToken(_ token: String) async throws {
        try await database.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO admin_tokens (hash, created_at_ms) VALUES (?, ?)",
                           arguments: [Secrets.hash(token), Self.nowMillis()])
        }
    }

    public func isAdminToken(_ token: String) async -> Bool {
        (try? await database.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM admin_tokens WHERE hash = ?", arguments: [Secrets.hash(token)])
        }) == true
    }

    // MARK: API tokens (CRMs and scripts: call control and recordings, nothing else)

    public struct APITokenError: Error, CustomStringConvertible {
        public var description: String
        /// The request was fine but the name is in use: a conflict, not a bad request.
        public var isNameTaken = false
    }

    /// A new token for `name`, shown once; only its hash is kept. `systemKeys` nil: every system.
    public func addAPIToken(name: String, systemKeys: [String]? = nil,
                            actions: [CallControlAction] = CallControlAction.newTokenDefault) async throws -> String {
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw APITokenError(description: "token name '\(name)' must be 1 to 64 letters, digits, '-', '_' or '.'")
        }
        guard !actions.isEmpty else { throw APITokenError(description: "a token needs at least one action") }
        if let systemKeys {
            guard !systemKeys.isEmpty else { throw APITokenError(description: "systemKeys, when given, must name at least one system") }
            if let invalid = systemKeys.first(where: { !SystemKey.isValid($0) }) {
                throw APITokenError(description: "system key '\(invalid)': \(SystemKey.rule)")
            }
        }
        let token = Secrets.random(bytes: 32)
        let ordered = CallControlAction.allCases.filter(actions.contains)
        try await database.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM api_tokens WHERE name = ?", arguments: [name]) == true {
                throw APITokenError(description: "a token named '\(name)' already exists", isNameTaken: true)
            }
            try db.execute(sql: "INSERT INTO api_tokens (hash, name, created_at_ms, system_keys, actions) VALUES (?, ?, ?, ?, ?)",
                           arguments: [Secrets.hash(token), name, Self.nowMillis(), systemKeys.map(Self.encodeKeys),
                                       ordered.map(\.rawValue).joined(separator: ",")])
        }
        return token
    }

    public func revokeAPIToken(name: String) async throws -> Bool {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM api_tokens WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    public func apiTokenNames() async throws -> [String] {
        try await database.read { db in try String.fetchAll(db, sql: "SELECT name FROM api_tokens ORDER BY name") }
    }

    /// The token named `name`, with what it may do.
    public func apiToken(named name: String) async throws -> APIToken? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT name, system_keys, actions FROM api_tokens WHERE name = ?", arguments: [name])
                .map(Self.apiToken)
        }
    }

    /// The API token `token` is, or nil when it is not one.
    public func apiToken(_ token: String) async -> APIToken? {
        try? await database.read { db in
            try Row.fetchOne(db, sql: "SELECT name, system_keys, actions FROM api_tokens WHERE hash = ?",
                             arguments: [Secrets.hash(token)]).map(Self.apiToken)
        }
    }

    private static func apiToken(from row: Row) -> APIToken {
        let keys: String? = row["system_keys"]
        let actions: String = row["actions"]
        return APIToken(name: row["name"],
                        systemKeys: keys.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) },
                        actions: actions.split(separator: ",").compactMap { CallControlAction(rawValue: String($0)) })
    }

    // MARK: Helpers

    static func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func encodeKeys(_ keys: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(keys)) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func agent(from row: Row) -> AgentRecord {
        let keysText: String = row["system_keys"]
        let keys = (try? JSONDecoder().decode([String].self, from: Data(keysText.utf8))) ?? []
        return AgentRecord(
            id: row["id"], name: row["name"], systemKeys: keys, revoked: row["revoked"] as Bool,
            kind: row["kind"], version: row["version"], host: row["host"],
            lastSeenAt: (row["last_seen_at_ms"] as Int64?).map { Timestamp(epochMillis: $0) },
            lastEventAt: (row["last_event_at_ms"] as Int64?).map { Timestamp(epochMillis: $0) },
            eventsReceived: row["events_received"], spoolId: row["spool_id"],
            committedThrough: UInt64(row["committed_through"] as Int64))
    }
}

/// Tables another module keeps in the collector's store.
public struct StoreExtension: Sendable {
    public var name: String
    public var migrate: @Sendable (Database) throws -> Void

    public init(name: String, migrate: @escaping @Sendable (Database) throws -> Void) {
        self.name = name
        self.migrate = migrate
    }
}

/// Sees each newly stored event (never a duplicate) inside the transaction that stores it, with
/// the call as assembled after it: whatever the hook writes commits or rolls back with the event.
public protocol IngestHook: Sendable {
    func didStore(_ event: CallEvent, call: CallRecord?, in db: Database) throws
}

/// Links recordings (Telsa, Asterisk) to the calls they recorded, whichever of the two arrives
/// first: a recording is matched when it is announced, and an ended call with no recording looks
/// for an unmatched one on its line. `RecordingMatcher` decides; outside the tolerance nothing is
/// linked and the recording stays visible as unmatched.
struct RecordingLinker {
    let db: Database
    let toleranceSeconds: Int
    private let json = CallRecordJSON()
    /// Whether a system has recordings waiting for a call, asked once per transaction: most
    /// ended calls find none, and the ingest transaction is the step every agent waits on.
    private var hasUnmatched: [String: Bool] = [:]

    init(db: Database, toleranceSeconds: Int) {
        self.db = db
        self.toleranceSeconds = toleranceSeconds
    }
    /// The longest call a recording is compared against when looking for candidates.
    static let longestCallMillis: Int64 = 6 * 3600 * 1000
    static let linkRecording = "UPDATE recordings SET call_id = ? WHERE system_key = ? AND ref = ?"

    /// Records the announcement and returns the call it was linked to, if any.
    mutating func announce(_ event: CallEvent, agent: String) throws -> CallRecord? {
        guard let ref = event.ref else { return nil }
        hasUnmatched[event.systemKey] = nil
        let started = (event.startedAt ?? event.at).epochMillis
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO recordings (system_key, ref, line, started_at_ms, duration_sec, agent) VALUES (?, ?, ?, ?, ?, ?)
            """).execute(arguments: [event.systemKey, ref, event.line, started, event.durationSec ?? 0, agent])
        let link = RecordingLink(ref: ref, agent: agent)
        if let callId = event.callId {
            return try attach(link, toCall: callId, system: event.systemKey)
        }
        guard let line = event.line else { return nil }
        let recording = RecordingMatcher.Recording(systemKey: event.systemKey, line: line,
                                                   startedAt: Timestamp(epochMillis: started), durationSec: event.durationSec ?? 0)
        guard let match = RecordingMatcher.match(recording, candidates: try calls(around: recording), toleranceSeconds: toleranceSeconds),
              match.recording == nil else { return nil }
        return try attach(link, toCall: match.callId, system: event.systemKey)
    }

    /// An unmatched recording on this call's line for which this call is the best match.
    mutating func recording(for call: CallRecord) throws -> RecordingLink? {
        guard call.line != nil, let started = call.startedAt, try unmatchedRecordingsExist(system: call.systemKey) else { return nil }
        let tolerance = Int64(toleranceSeconds) * 1000
        let end = (call.endedAt ?? started).epochMillis
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT ref, line, started_at_ms, duration_sec, agent FROM recordings
            WHERE system_key = ? AND call_id IS NULL AND started_at_ms BETWEEN ? AND ?
            """), arguments: [call.systemKey, started.epochMillis - tolerance - Self.longestCallMillis, end + tolerance])
        for row in rows {
            let recording = RecordingMatcher.Recording(
                systemKey: call.systemKey, line: row["line"] ?? "", startedAt: Timestamp(epochMillis: row["started_at_ms"]),
                durationSec: row["duration_sec"])
            guard RecordingMatcher.match(recording, candidates: [call], toleranceSeconds: toleranceSeconds) != nil else { continue }
            let others = try calls(around: recording).filter { $0.callId != call.callId } + [call]
            guard RecordingMatcher.match(recording, candidates: others, toleranceSeconds: toleranceSeconds)?.callId == call.callId else {
                continue
            }
            let ref: String = row["ref"]
            try db.cachedStatement(sql: Self.linkRecording).execute(arguments: [call.callId, call.systemKey, ref])
            return RecordingLink(ref: ref, agent: row["agent"])
        }
        return nil
    }

    private mutating func unmatchedRecordingsExist(system: String) throws -> Bool {
        if let known = hasUnmatched[system] { return known }
        let exists = try Bool.fetchOne(db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM recordings WHERE system_key = ? AND call_id IS NULL)
            """), arguments: [system]) ?? false
        hasUnmatched[system] = exists
        return exists
    }

    private func calls(around recording: RecordingMatcher.Recording) throws -> [CallRecord] {
        let tolerance = Int64(toleranceSeconds) * 1000
        return try Data.fetchAll(db.cachedStatement(sql: """
            SELECT body FROM calls WHERE system_key = ? AND started_at_ms BETWEEN ? AND ?
            """), arguments: [recording.systemKey, recording.startedAt.epochMillis - tolerance - Self.longestCallMillis,
                             recording.endedAt.epochMillis + tolerance])
            .compactMap { try? json.decode($0) }
    }

    private func attach(_ link: RecordingLink, toCall callId: String, system: String) throws -> CallRecord? {
        guard let body = try Data.fetchOne(db.cachedStatement(sql: "SELECT body FROM calls WHERE system_key = ? AND call_id = ?"),
                                           arguments: [system, callId]),
              let call = try? json.decode(body) else { return nil }
        let linked = CallAssembler.attach(link, to: call)
        try db.cachedStatement(sql: "UPDATE calls SET body = ? WHERE system_key = ? AND call_id = ?")
            .execute(arguments: [json.encode(linked), system, callId])
        try db.cachedStatement(sql: Self.linkRecording).execute(arguments: [callId, system, link.ref])
        return linked
    }
}
