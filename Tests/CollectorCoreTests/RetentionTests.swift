@testable import CollectorCore
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import Synchronization
import TamasEvents
import TamasLink
import XCTest

/// `--keep-days` and `--keep-state-days` on a real store: what is pruned goes by arrival, and
/// nothing younger than the setting, nor any other kind of row, goes with it.
final class RetentionTests: XCTestCase {
    let json = EventJSON()
    let day: Int64 = 86_400_000

    func makeStore() throws -> CollectorStore {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("retention-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return try CollectorStore(path: folder.appendingPathComponent("collector.sqlite").path)
    }

    /// Calls interleaved with phone states, as an Asterisk agent sends them.
    func traffic(calls: Range<Int>) -> [CallEvent] {
        let start = Timestamp(date: Date())
        return calls.flatMap { index -> [CallEvent] in
            var ringing = CallEvent(eventId: "ring-\(index)", type: .callRinging, systemKey: "K1", source: "ami",
                                    at: start.adding(seconds: index), callId: "c\(index)", direction: .inbound, from: "+982188776655")
            ringing.extension = "201"
            var state = CallEvent(eventId: "state-\(index)", type: .extensionState, systemKey: "K1", source: "ami",
                                  at: start.adding(seconds: index))
            state.extension = "201"
            state.state = "ringing"
            return [ringing, state]
        }
    }

    func store(_ events: [CallEvent], in store: CollectorStore, from agent: CollectorStore.AgentRecord) async throws {
        let bodies = try events.map { ByteBuffer(data: try json.encode($0)) }
        _ = try await store.ingest(EventBatch(firstSequence: 1, events: bodies), from: agent)
    }

    func stored(_ store: CollectorStore) async throws -> [CallEvent] {
        try await store.events(after: 0, limit: 10_000).map { try json.decode($0.body) }
    }

    func testStateEventsGoAfterTheirDaysAndEverythingElseStays() async throws {
        let store = try makeStore()
        let agent = try await store.enroll(name: "a", systemKeys: ["K1"]).agent
        try await self.store(traffic(calls: 0..<40), in: store, from: agent)
        let arrived = Int64(Date().timeIntervalSince1970 * 1000)

        let early = try await store.prune(RetentionPolicy(days: 0, stateDays: 30), now: arrived + 29 * day, batch: 7)
        XCTAssertTrue(early.counts.isEmpty, "29 days after arrival nothing is due: \(early.counts)")
        let due = try await store.prune(RetentionPolicy(days: 0, stateDays: 30), now: arrived + 31 * day, batch: 7)
        XCTAssertEqual(due.counts.stateEvents, 40)
        XCTAssertEqual(due.counts.events, 0)
        let kept = try await stored(store)
        XCTAssertEqual(kept.map(\.type), Array(repeating: .callRinging, count: 40))
        XCTAssertEqual(kept.map(\.eventId), (0..<40).map { "ring-\($0)" }, "call events stay, in order")
        let counts = try await store.counts()
        XCTAssertEqual(counts.calls, 40)

        try await self.store(traffic(calls: 40..<45), in: store, from: agent)
        let next = try await store.prune(RetentionPolicy(days: 0, stateDays: 30), now: arrived + 31 * day,
                                         stateScannedThrough: due.stateScannedThrough, batch: 7)
        XCTAssertEqual(next.counts.stateEvents, 5, "a later pass starts where the last one stopped and still finds the new rows")
    }

    func testKeepDaysRemovesEventsCallsAndQuarantineButNotWhatArrivedLater() async throws {
        let store = try makeStore()
        let agent = try await store.enroll(name: "a", systemKeys: ["K1"]).agent
        try await self.store(traffic(calls: 0..<10), in: store, from: agent)
        var foreign = traffic(calls: 0..<1)[0]
        foreign.systemKey = "K9"
        try await self.store([foreign], in: store, from: agent)
        try await Task.sleep(for: .milliseconds(50))
        let between = Int64(Date().timeIntervalSince1970 * 1000)
        try await Task.sleep(for: .milliseconds(50))
        try await self.store(traffic(calls: 10..<12), in: store, from: agent)
        let before = try await store.counts()
        XCTAssertEqual([before.events, before.calls, before.quarantined], [24, 12, 1])

        let pass = try await store.prune(RetentionPolicy(days: 90, stateDays: 0), now: between + 90 * day, batch: 3)
        XCTAssertEqual(pass.counts.events, 20)
        XCTAssertEqual(pass.counts.quarantined, 1)
        XCTAssertEqual(pass.counts.calls, 1, "a call goes once it started and last changed before the cutoff: only c0 began before it")
        let after = try await store.counts()
        XCTAssertEqual([after.events, after.calls, after.quarantined], [4, 11, 0], "what arrived after the cutoff stays")
        let remaining = try await stored(store).compactMap(\.callId)
        XCTAssertEqual(Set(remaining), ["c10", "c11"])
    }

    /// Another module's table (the CRM's per-call state) is pruned in the same pass, and what it
    /// removed is counted beside the events.
    func testAPassPrunesTheExtensionsTablesAndCountsTheirRows() async throws {
        final class Extension: RetentionExtension {
            let asked = Mutex<[Int64]>([])
            var table: String { "crm_call_state" }
            func prune(now: Int64) async throws -> Int {
                asked.withLock { $0.append(now) }
                return 3
            }
        }
        let store = try makeStore()
        let metrics = CollectorMetrics()
        let pruned = Extension()
        let service = RetentionService(store: store, policy: RetentionPolicy(days: 0, stateDays: 0), extensions: [pruned],
                                       metrics: metrics, logger: Logger(label: "test"))
        XCTAssertTrue(service.prunesAnything, "an extension is reason enough to run")
        XCTAssertFalse(RetentionService(store: store, policy: RetentionPolicy(days: 0, stateDays: 0), metrics: metrics,
                                        logger: Logger(label: "test")).prunesAnything)
        _ = try await service.pass(now: 1000, stateScannedThrough: 0)
        _ = try await service.pass(now: 2000, stateScannedThrough: 0)
        XCTAssertEqual(pruned.asked.withLock { $0 }, [1000, 2000])
        XCTAssertTrue(metrics.text().contains(#"tamas_store_rows_pruned_total{table="crm_call_state"} 6"#), metrics.text())
    }

    func testNothingIsPrunedByDefaultExceptOldStates() async throws {
        let policy = RetentionPolicy()
        XCTAssertEqual(policy.days, 0)
        XCTAssertEqual(policy.stateDays, 30)
        XCTAssertFalse(RetentionPolicy(days: 0, stateDays: 0).prunesAnything)
        let store = try makeStore()
        let agent = try await store.enroll(name: "a", systemKeys: ["K1"]).agent
        try await self.store(traffic(calls: 0..<3), in: store, from: agent)
        let pass = try await store.prune(RetentionPolicy(days: 0, stateDays: 0), now: Int64(Date().timeIntervalSince1970 * 1000) + 3650 * day)
        XCTAssertTrue(pass.counts.isEmpty)
        let counts = try await store.counts()
        XCTAssertEqual(counts.events, 6)
    }
}
