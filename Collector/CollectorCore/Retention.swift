import Foundation
import GRDB
import Logging

/// How long the collector keeps what it stored, counted from when it arrived. Nothing is pruned
/// unless asked, except `extension.state` events: a phone changes state many times per call, so
/// on an Asterisk system they soon outnumber everything else, and they only feed live views.
public struct RetentionPolicy: Sendable, Equatable {
    /// Events, calls, recordings and quarantined events; 0 keeps them for ever.
    public var days: Int
    /// `extension.state` events; 0 keeps them as long as `days` does.
    public var stateDays: Int

    public static let defaultStateDays = 30

    public var prunesAnything: Bool { days > 0 || stateDays > 0 }

    public init(days: Int = 0, stateDays: Int = RetentionPolicy.defaultStateDays) {
        self.days = days
        self.stateDays = stateDays
    }

    static func cutoff(days: Int, now: Int64) -> Int64? {
        days > 0 ? now - Int64(days) * 86_400_000 : nil
    }
}

/// What one pruning pass removed.
public struct PruneCounts: Sendable, Equatable {
    public var events = 0
    public var stateEvents = 0
    public var calls = 0
    public var recordings = 0
    public var quarantined = 0

    public var isEmpty: Bool { self == PruneCounts() }
}

extension CollectorStore {
    /// Removes what `policy` no longer keeps, in short transactions so ingest never waits long.
    /// Events go by arrival (`received_at_ms`), which grows with the row id, so each pass walks
    /// the id range from `scannedThrough` on and never scans the table with a filter; it returns
    /// where the next pass can start for state events.
    public func prune(_ policy: RetentionPolicy, now: Int64, stateScannedThrough: Int64 = 0,
                      batch: Int = 5000) async throws -> (counts: PruneCounts, stateScannedThrough: Int64) {
        var counts = PruneCounts()
        var stateMark = stateScannedThrough
        if let cutoff = RetentionPolicy.cutoff(days: policy.days, now: now) {
            counts.events = try await deleteEvents(receivedBefore: cutoff, after: 0, onlyStates: false, batch: batch).deleted
            (counts.calls, counts.recordings, counts.quarantined) = try await database.write { db in
                try db.execute(sql: "DELETE FROM calls WHERE started_at_ms < ? AND updated_at_ms < ?", arguments: [cutoff, cutoff])
                let calls = db.changesCount
                try db.execute(sql: "DELETE FROM recordings WHERE started_at_ms < ?", arguments: [cutoff])
                let recordings = db.changesCount
                try db.execute(sql: "DELETE FROM quarantine WHERE received_at_ms < ?", arguments: [cutoff])
                return (calls, recordings, db.changesCount)
            }
        }
        if let cutoff = RetentionPolicy.cutoff(days: policy.stateDays, now: now) {
            let states = try await deleteEvents(receivedBefore: cutoff, after: stateMark, onlyStates: true, batch: batch)
            counts.stateEvents = states.deleted
            stateMark = states.scannedThrough
        }
        return (counts, stateMark)
    }

    private func deleteEvents(receivedBefore cutoff: Int64, after start: Int64, onlyStates: Bool,
                              batch: Int) async throws -> (deleted: Int, scannedThrough: Int64) {
        var deleted = 0
        var scanned = start
        while true {
            let from = scanned
            let step = try await database.write { db -> (deleted: Int, through: Int64, done: Bool) in
                let rows = try Row.fetchAll(db, sql: "SELECT id, received_at_ms FROM events WHERE id > ? ORDER BY id LIMIT ?",
                                            arguments: [from, batch])
                let due = rows.prefix { ($0["received_at_ms"] as Int64) < cutoff }
                guard let last: Int64 = due.last?["id"] else { return (0, from, true) }
                try db.execute(sql: "DELETE FROM events WHERE id > ? AND id <= ?" + (onlyStates ? " AND type = 'extension.state'" : ""),
                               arguments: [from, last])
                return (db.changesCount, last, due.count < rows.count || rows.count < batch)
            }
            deleted += step.deleted
            scanned = step.through
            if step.done { return (deleted, scanned) }
        }
    }
}

/// A table another module keeps in the store (the CRM's per-call state) that the retention pass
/// also prunes: the module knows when a row of its own is no longer needed, the pass only asks.
public protocol RetentionExtension: Sendable {
    /// The table, as the log and `tamas_store_rows_pruned_total` name it.
    var table: String { get }
    /// Removes the rows no longer needed at `now` (milliseconds since 1970) and says how many went.
    func prune(now: Int64) async throws -> Int
}

/// Prunes the store once at start and then every `interval`, logging what it removed.
public struct RetentionService: Sendable {
    public let store: CollectorStore
    public let policy: RetentionPolicy
    public let extensions: [any RetentionExtension]
    public let interval: Duration
    public let logger: Logger
    private let metrics: CollectorMetrics

    public init(store: CollectorStore, policy: RetentionPolicy, extensions: [any RetentionExtension] = [], metrics: CollectorMetrics,
                logger: Logger, interval: Duration = .seconds(3600)) {
        self.store = store
        self.policy = policy
        self.extensions = extensions
        self.metrics = metrics
        self.logger = logger
        self.interval = interval
    }

    public var prunesAnything: Bool { policy.prunesAnything || !extensions.isEmpty }

    /// Runs until cancelled; start it only if it `prunesAnything`.
    public func run() async {
        var stateMark: Int64 = 0
        while !Task.isCancelled {
            do {
                stateMark = try await pass(now: Int64(Date().timeIntervalSince1970 * 1000), stateScannedThrough: stateMark)
            } catch {
                logger.error("retention pass failed; next try in one interval", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// One pass: prunes, counts and logs what went; returns where the next pass starts for state events.
    func pass(now: Int64, stateScannedThrough: Int64) async throws -> Int64 {
        let pass = try await store.prune(policy, now: now, stateScannedThrough: stateScannedThrough)
        metrics.eventsPruned.increment(by: Int64(pass.counts.events + pass.counts.stateEvents))
        var extensionCounts: Logger.Metadata = [:]
        for pruned in extensions {
            let rows = try await pruned.prune(now: now)
            metrics.rowsPruned(table: pruned.table).increment(by: Int64(rows))
            if rows > 0 { extensionCounts[pruned.table] = "\(rows)" }
        }
        if !pass.counts.isEmpty || !extensionCounts.isEmpty {
            let counts: Logger.Metadata = [
                "events": "\(pass.counts.events)", "stateEvents": "\(pass.counts.stateEvents)",
                "calls": "\(pass.counts.calls)", "recordings": "\(pass.counts.recordings)",
                "quarantined": "\(pass.counts.quarantined)",
            ]
            logger.info("pruned by retention", metadata: counts.merging(extensionCounts) { core, _ in core })
        }
        return pass.stateScannedThrough
    }
}
