import CollectorCore
import Foundation
import NIOCore
import NIOFoundationCompat
import TamasEvents
import TamasLink
import XCTest

final class CollectorStoreTests: XCTestCase {
    let start = Timestamp(iso8601: "2026-11-26T09:00:00+03:30")!
    let json = EventJSON()

    func makeStore() throws -> CollectorStore {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return try CollectorStore(path: folder.appendingPathComponent("collector.sqlite").path)
    }

    func event(_ id: String, _ type: EventType, call: String, key: String = "K1", offset: Int = 0) -> CallEvent {
        var event = CallEvent(eventId: id, type: type, systemKey: key, source: "jsonl", at: start.adding(seconds: offset),
                              callId: call, direction: .inbound, from: "+982188776655")
        if type == .callEnded {
            event.disposition = .missed
            event.startedAt = start
            event.endedAt = start.adding(seconds: offset)
            event.durationSec = 0
        }
        return event
    }

    func batch(_ events: [CallEvent], first: UInt64 = 1) throws -> EventBatch {
        EventBatch(firstSequence: first, events: try events.map { ByteBuffer(data: try json.encode($0)) })
    }

    func testResendsAndASecondAgentAreDeduplicated() async throws {
        let store = try makeStore()
        let agentA = try await store.enroll(name: "a", systemKeys: ["K1"]).agent
        let agentB = try await store.enroll(name: "b", systemKeys: ["K1"]).agent
        let events = [event("e1", .callRinging, call: "c1"), event("e2", .callEnded, call: "c1", offset: 20)]
        let first = try await store.ingest(batch(events), from: agentA)
        XCTAssertEqual(first.stored, 2)
        let resend = try await store.ingest(batch(events), from: agentA)
        XCTAssertEqual(resend.duplicates, 2)
        let other = try await store.ingest(batch(events), from: agentB)
        XCTAssertEqual(other.stored, 0)
        let counts = try await store.counts()
        XCTAssertEqual([counts.events, counts.calls, counts.quarantined], [2, 1, 0])
        let calls = try await store.calls(limit: 10)
        XCTAssertEqual(calls.first?.eventCount, 2, "duplicates never reach call assembly")
    }

    func testTheSameEventIdOnAnotherSystemIsAnotherEvent() async throws {
        let store = try makeStore()
        let agent = try await store.enroll(name: "a", systemKeys: ["K1", "K2"]).agent
        _ = try await store.ingest(batch([event("e1", .callRinging, call: "c1", key: "K1"),
                                          event("e1", .callRinging, call: "c1", key: "K2")]), from: agent)
        let counts = try await store.counts()
        XCTAssertEqual(counts.events, 2)
        XCTAssertEqual(counts.calls, 2)
    }

    func testALateRingingDoesNotReopenAnEndedCall() async throws {
        let store = try makeStore()
        let agent = try await store.enroll(name: "a", systemKeys: ["K1"]).agent
        _ = try await store.ingest(batch([event("end", .callEnded, call: "c1", offset: 30)]), from: agent)
        _ = try await store.ingest(batch([event("ring", .callRinging, call: "c1")], first: 2), from: agent)
        let calls = try await store.calls(limit: 10)
        let call = try XCTUnwrap(calls.first)
        XCTAssertEqual(call.phase, .ended)
        XCTAssertEqual(call.disposition, .missed)
        XCTAssertEqual(call.eventCount, 2)
    }

    func testEventsForAnotherSystemOrInvalidOnesAreQuarantinedNotStored() async throws {
        let store = try makeStore()
        let agent = try await store.enroll(name: "a", systemKeys: ["K1"]).agent
        var invalid = event("bad", .callEnded, call: "c9")
        invalid.disposition = nil
        let mixed = try batch([event("ok", .callRinging, call: "c1"), event("foreign", .callRinging, call: "c2", key: "K2"), invalid])
        var withGarbage = mixed
        withGarbage.events.append(ByteBuffer(string: "not json"))
        let result = try await store.ingest(withGarbage, from: agent)
        XCTAssertEqual(result.stored, 1)
        XCTAssertEqual(result.quarantined, 3)
        let counts = try await store.counts()
        XCTAssertEqual([counts.events, counts.calls, counts.quarantined], [1, 1, 3])
    }

    func testAuthenticationAndResumePointFollowTheSpool() async throws {
        let store = try makeStore()
        let enrollment = try await store.enroll(name: "a", systemKeys: ["K1"])
        guard case .accepted = try await store.authenticate(agentId: enrollment.agent.id, secret: enrollment.secret) else {
            return XCTFail("the issued secret is accepted")
        }
        guard case .refused = try await store.authenticate(agentId: enrollment.agent.id, secret: "guess") else {
            return XCTFail("a wrong secret is refused")
        }
        let report = SpoolReport(backlog: 0, capacity: 10, state: "ok")
        let hello = Hello(agentId: enrollment.agent.id, secret: enrollment.secret, kind: "jsonl", version: "0.1.0",
                          systemKeys: ["K1"], spoolId: "spool-1", spool: report)
        _ = try await store.agentConnected(id: enrollment.agent.id, hello: hello)
        _ = try await store.ingest(batch([event("e1", .callRinging, call: "c1")], first: 41), from: enrollment.agent)
        let sameSpool = try await store.agentConnected(id: enrollment.agent.id, hello: hello)
        XCTAssertEqual(sameSpool, 41)
        var fresh = hello
        fresh.spoolId = "spool-2"
        let newSpool = try await store.agentConnected(id: enrollment.agent.id, hello: fresh)
        XCTAssertEqual(newSpool, 0, "a replaced spool restarts its numbering; nothing of it may be skipped")
        let revoked = try await store.revoke(name: "a")
        XCTAssertTrue(revoked)
        guard case .refused(let reason) = try await store.authenticate(agentId: enrollment.agent.id, secret: enrollment.secret) else {
            return XCTFail("a revoked agent is refused")
        }
        XCTAssertTrue(reason.contains("revoked"))
    }

    func testEnrollmentRejectsBadNamesAndKeysAndDuplicates() async throws {
        let store = try makeStore()
        _ = try await store.enroll(name: "a", systemKeys: ["K1"])
        for (name, keys) in [("a", ["K1"]), ("bad name", ["K1"]), ("b", []), ("c", ["no spaces"])] {
            do {
                _ = try await store.enroll(name: name, systemKeys: keys)
                XCTFail("\(name) \(keys) should be refused")
            } catch {}
        }
    }

    /// Tokens made before scopes existed keep what they could do; new ones place calls only.
    func testAPITokenScopes() async throws {
        let store = try makeStore()
        try await store.database.write { db in
            try db.execute(sql: "INSERT INTO api_tokens (hash, name, created_at_ms) VALUES ('h', 'old-crm', 0)")
        }
        let old = try await store.apiToken(named: "old-crm")
        XCTAssertEqual(old, APIToken(name: "old-crm", systemKeys: nil, actions: CallControlAction.allCases))
        let plain = try await store.addAPIToken(name: "crm")
        let scoped = try await store.addAPIToken(name: "supervisors", systemKeys: ["K1"], actions: [.whisper, .spy])
        let plainToken = await store.apiToken(plain)
        XCTAssertEqual(plainToken?.actions, [.originate])
        let found = await store.apiToken(scoped)
        let scopedToken = try XCTUnwrap(found)
        XCTAssertEqual(scopedToken.actions, [.spy, .whisper], "kept in one order whatever order they were given in")
        XCTAssertNil(scopedToken.refusal(.spy, systemKey: "K1"))
        XCTAssertEqual(scopedToken.refusal(.barge, systemKey: "K1"), "token 'supervisors' may not barge (it may: spy, whisper)")
        XCTAssertEqual(scopedToken.refusal(.spy, systemKey: "K2"), "token 'supervisors' is not for system 'K2' (it is for: K1)")
        do {
            _ = try await store.addAPIToken(name: "none", actions: [])
            XCTFail("a token with no action is refused")
        } catch let error as CollectorStore.APITokenError {
            XCTAssertEqual(error.description, "a token needs at least one action")
        }
    }
}

final class RecordingLinkTests: XCTestCase {
    let start = Timestamp(iso8601: "2026-11-26T09:00:00+03:30")!

    func ended(_ callId: String, line: String, from offset: Int, seconds: Int) -> CallEvent {
        CallEvent(eventId: "end-\(callId)", type: .callEnded, systemKey: "K1", source: "smdr", at: start.adding(seconds: offset + seconds),
                  callId: callId, direction: .inbound, line: line, disposition: .answered, startedAt: start.adding(seconds: offset),
                  endedAt: start.adding(seconds: offset + seconds), durationSec: seconds)
    }

    func recording(_ ref: String, line: String, from offset: Int, seconds: Int) -> CallEvent {
        CallEvent(eventId: "rec-\(ref)", type: .recordingAvailable, systemKey: "K1", source: "telsa", at: start.adding(seconds: offset + seconds),
                  line: line, startedAt: start.adding(seconds: offset), durationSec: seconds, ref: ref, format: "wav")
    }

    func ingest(_ store: CollectorStore, _ agent: CollectorStore.AgentRecord, _ events: [CallEvent]) async throws {
        let json = EventJSON()
        _ = try await store.ingest(EventBatch(firstSequence: 1, events: try events.map { ByteBuffer(data: try json.encode($0)) }), from: agent)
    }

    func testRecordingsAreLinkedWhicheverArrivesFirstAndNeverByAGuess() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let store = try CollectorStore(path: folder.appendingPathComponent("c.sqlite").path, recordingToleranceSeconds: 10)
        let agent = try await store.enroll(name: "a", systemKeys: ["K1"]).agent
        try await ingest(store, agent, [ended("early-call", line: "01", from: 0, seconds: 60)])
        try await ingest(store, agent, [recording("r1", line: "1", from: 2, seconds: 57)])
        try await ingest(store, agent, [recording("r2", line: "2", from: 300, seconds: 40)])
        try await ingest(store, agent, [ended("late-call", line: "02", from: 301, seconds: 38)])
        try await ingest(store, agent, [recording("r3", line: "3", from: 1000, seconds: 30)])
        try await ingest(store, agent, [ended("far-call", line: "03", from: 1100, seconds: 30)])
        try await ingest(store, agent, [recording("r4", line: "4", from: 2000, seconds: 30)])
        try await ingest(store, agent, [ended("other-line", line: "05", from: 2000, seconds: 30)])

        let calls = Dictionary(uniqueKeysWithValues: try await store.calls(limit: 10).map { ($0.callId, $0) })
        XCTAssertEqual(calls["early-call"]?.recording?.ref, "r1", "recording announced after the call ended (SMDR '01' is Telsa's '1')")
        XCTAssertEqual(calls["early-call"]?.recording?.agent, "a")
        XCTAssertEqual(calls["late-call"]?.recording?.ref, "r2", "call ended after the recording was announced")
        XCTAssertNil(calls["far-call"]?.recording, "70 s apart is outside the 10 s tolerance")
        XCTAssertNil(calls["other-line"]?.recording, "another line is never a match")
        let unmatched = try await store.recordings(limit: 10, unmatchedOnly: true).map(\.ref)
        XCTAssertEqual(Set(unmatched), ["r3", "r4"])
    }

}
