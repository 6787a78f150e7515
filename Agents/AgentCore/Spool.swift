import Foundation
import GRDB
import Logging
import TamasEvents
import TamasLink

public struct SpoolSettings: Sendable, Equatable {
    public static let defaultCapacity = 1_000_000

    public var path: String
    /// Events the spool holds before sources are held back. Status events may exceed it by
    /// `statusReserve` so that "spool full" itself is never lost.
    public var capacity: Int

    public init(path: String, capacity: Int = SpoolSettings.defaultCapacity) {
        self.path = path
        self.capacity = capacity
    }
}

public struct SpooledEvent: Sendable {
    public var sequence: UInt64
    public var body: Data
}

/// The agent's durable queue: every event is committed here (WAL, `synchronous=FULL`, so it
/// survives kill -9 and power loss) before anything is sent, and removed only when the collector
/// acknowledges that it committed it. Sequence numbers come from SQLite's AUTOINCREMENT, so they
/// only grow within one spool file; `spoolId` tells the collector when a file was replaced.
/// A pool, not a single connection: reading the next batch to send never waits behind the
/// fsync of an acknowledgement's delete.
public actor Spool {
    public static let statusReserve = 1000
    public nonisolated let spoolId: String
    public nonisolated let settings: SpoolSettings
    private let database: DatabasePool
    /// Held, never read: the spool's path stays locked for as long as the spool exists.
    private let lock: SpoolLock
    private var backlog: Int
    private var lastSequence: UInt64
    private var listeners: [UUID: AsyncStream<UInt64>.Continuation] = [:]

    public static func open(_ settings: SpoolSettings) async throws -> Spool {
        let folder = URL(fileURLWithPath: settings.path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let lock = try SpoolLock(spoolPath: settings.path)
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let database = try DatabasePool(path: settings.path, configuration: configuration)
        let (spoolId, backlog, last) = try await database.write { db -> (String, Int, UInt64) in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL, spooled_at INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                """)
            let id: String
            if let existing = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'spool_id'") {
                id = existing
            } else {
                id = Secrets.random(bytes: 16)
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('spool_id', ?)", arguments: [id])
            }
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM spool") ?? 0
            let last = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'spool'") ?? 0
            return (id, count, UInt64(last))
        }
        return Spool(database: database, lock: lock, settings: settings, spoolId: spoolId, backlog: backlog,
                     lastSequence: last)
    }

    private init(database: DatabasePool, lock: SpoolLock, settings: SpoolSettings, spoolId: String, backlog: Int,
                 lastSequence: UInt64) {
        self.database = database
        self.lock = lock
        self.settings = settings
        self.spoolId = spoolId
        self.backlog = backlog
        self.lastSequence = lastSequence
    }

    public var count: Int { backlog }
    public var newestSequence: UInt64 { lastSequence }
    public var isFull: Bool { backlog >= settings.capacity }

    /// Commits `bodies` (JSON events) in one transaction, with the source's `sourceState` when
    /// given, so that the state a source resumes from always matches the events it sent. Returns
    /// false without writing when the spool is full and `overCapacity` is not allowed: the caller
    /// holds its source back and says so loudly, it never drops.
    @discardableResult
    public func append(_ bodies: [Data], overCapacity: Bool = false, sourceState: String? = nil) async throws -> Bool {
        guard !bodies.isEmpty || sourceState != nil else { return true }
        let limit = settings.capacity + (overCapacity ? Self.statusReserve : 0)
        guard bodies.isEmpty || backlog < limit else { return false }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let last = try await database.write { db -> UInt64 in
            let statement = try db.cachedStatement(sql: "INSERT INTO spool (body, spooled_at) VALUES (?, ?)")
            for body in bodies { try statement.execute(arguments: [body, now]) }
            let last = UInt64(db.lastInsertedRowID)
            if let sourceState {
                try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('source_state', ?)", arguments: [sourceState])
            }
            return last
        }
        guard !bodies.isEmpty else { return true }
        backlog += bodies.count
        lastSequence = max(lastSequence, last)
        for listener in listeners.values { listener.yield(lastSequence) }
        return true
    }

    /// What the source last committed with `append(_:sourceState:)`, nil before the first time.
    public func sourceState() async throws -> String? {
        try await database.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'source_state'") }
    }

    public func read(after sequence: UInt64, limit: Int) async throws -> [SpooledEvent] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, body FROM spool WHERE seq > ? ORDER BY seq LIMIT ?",
                             arguments: [Int64(clamping: sequence), limit])
                .map { SpooledEvent(sequence: UInt64($0["seq"] as Int64), body: $0["body"]) }
        }
    }

    public func acknowledge(through sequence: UInt64) async throws {
        let removed = try await database.write { db -> Int in
            try db.execute(sql: "DELETE FROM spool WHERE seq <= ?", arguments: [Int64(clamping: sequence)])
            return db.changesCount
        }
        backlog = max(0, backlog - removed)
    }

    public func report() async -> SpoolReport {
        let state = backlog >= settings.capacity ? "full" : backlog * 5 >= settings.capacity * 4 ? "nearlyFull" : "ok"
        let oldest = try? await database.read { db in
            try Int64.fetchOne(db, sql: "SELECT spooled_at FROM spool ORDER BY seq LIMIT 1")
        }
        return SpoolReport(backlog: backlog, capacity: settings.capacity, state: state,
                           oldestAt: oldest.map { Timestamp(epochMillis: $0).iso8601 })
    }

    /// Yields the newest sequence each time events are appended, starting with the current one.
    public func arrivals() -> AsyncStream<UInt64> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<UInt64>.makeStream(bufferingPolicy: .bufferingNewest(1))
        continuation.yield(lastSequence)
        listeners[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeListener(id) }
        }
        return stream
    }

    private func removeListener(_ id: UUID) {
        listeners[id] = nil
    }
}
