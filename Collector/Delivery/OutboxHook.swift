import CollectorCore
import Foundation
import GRDB
import TamasEvents

/// Queues one delivery per (endpoint serving the event's system, newly stored event) inside the
/// ingest transaction: the delivery commits or rolls back with the event itself.
public struct OutboxHook: IngestHook {
    let doorbell: Doorbell

    public init(doorbell: Doorbell) {
        self.doorbell = doorbell
    }

    public func didStore(_ event: CallEvent, call: CallRecord?, in db: Database) throws {
        let endpoints = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT e.id, e.kind FROM crm_endpoint_systems s JOIN crm_endpoints e ON e.id = s.endpoint_id WHERE s.system_key = ?
            """), arguments: [event.systemKey])
        guard !endpoints.isEmpty else { return }
        let snapshot = try call ?? OutboxRows.storedCall(for: event, in: db)
        var queuedFor: [Int64] = []
        for endpoint in endpoints {
            guard let kind = EndpointKind(rawValue: endpoint["kind"]), kind.accepts(event.type, hasCall: snapshot != nil) else { continue }
            let endpointId: Int64 = endpoint["id"]
            try OutboxRows.enqueue(event, call: snapshot, endpointId: endpointId, in: db)
            queuedFor.append(endpointId)
        }
        guard !queuedFor.isEmpty else { return }
        let doorbell = self.doorbell
        let endpointIds = queuedFor
        db.afterNextTransaction { _ in
            for endpointId in endpointIds { doorbell.ring(endpointId: endpointId) }
        }
    }
}

/// Reading and writing outbox rows, shared by the hook (in the ingest transaction) and replay.
enum OutboxRows {
    static let json = EventJSON()
    static let callJSON = CallRecordJSON()

    static func enqueue(_ event: CallEvent, call: CallRecord?, endpointId: Int64, in db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO crm_outbox (endpoint_id, system_key, call_id, event_id, event, call, created_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [endpointId, event.systemKey, event.callId, event.eventId, try json.encode(event),
                                     call.map(callJSON.encode), Clock.nowMillis()])
    }

    /// A recording that arrives on its own names its call: the call as stored, with the recording attached.
    static func storedCall(for event: CallEvent, in db: Database) throws -> CallRecord? {
        guard event.type == .recordingAvailable, let callId = event.callId, let ref = event.ref,
              let body = try Data.fetchOne(db, sql: "SELECT body FROM calls WHERE system_key = ? AND call_id = ?",
                                           arguments: [event.systemKey, callId]),
              let call = try? callJSON.decode(body) else { return nil }
        return CallAssembler.attach(RecordingLink(ref: ref, agent: event.recording?.agent), to: call)
    }
}

enum Clock {
    static func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
