import GRDB
import Synchronization

/// Wakes an endpoint's idle delivery lanes when there is something for them: the ingest
/// transaction that queued outbox rows for the endpoint committed, an operator queued deliveries
/// again (`CRMStore.replay`, `retryParked`), or its configuration changed.
///
/// A lane takes a `Ticket` before it looks at the store and then waits for a ring *after* that
/// ticket, so a ring that lands between its look and its wait ends the wait at once instead of
/// being lost until the next poll.
///
/// `ring` runs inside GRDB's commit callback, once per stored event, so it cannot suspend: the
/// counters and the waiting continuations sit behind one short lock, and are resumed outside it.
public final class Doorbell: Sendable {
    /// What a lane saw of its endpoint's bell when it last looked at the store.
    struct Ticket: Equatable, Sendable {
        var endpointId: Int64
        var rings: UInt64
        /// Changes of the endpoint's configuration: a lane keeps the configuration it read while
        /// this stays the same.
        var edits: UInt64
    }

    private struct Bell {
        var rings: UInt64 = 0
        var edits: UInt64 = 0
        var waiters: [UInt64: Waiter] = [:]
    }

    /// What a waiting lane waits for: any ring, or only an edit (a lane backing off from a
    /// failing CRM must not retry for every new event, but must for a resume or a new secret).
    private struct Waiter {
        var continuation: CheckedContinuation<Void, Never>
        var editsOnly: Bool
    }

    private struct Bells {
        var byEndpoint: [Int64: Bell] = [:]
        var lastWaiterId: UInt64 = 0
    }

    private let bells = Mutex(Bells())

    public init() {}

    /// New outbox rows for the endpoint.
    func ring(endpointId: Int64) {
        wake(endpointId) { $0.rings &+= 1 }
    }

    /// The endpoint was added, edited or removed: its lanes wake and read it again.
    func endpointEdited(_ endpointId: Int64) {
        wake(endpointId) { bell in
            bell.rings &+= 1
            bell.edits &+= 1
        }
    }

    func ticket(for endpointId: Int64) -> Ticket {
        bells.withLock { bells in
            let bell = bells.byEndpoint[endpointId]
            return Ticket(endpointId: endpointId, rings: bell?.rings ?? 0, edits: bell?.edits ?? 0)
        }
    }

    /// Returns once the endpoint's bell rang after `ticket` (at once if it already has),
    /// `timeout` passed, or the task is cancelled, whichever is first.
    func wait(after ticket: Ticket, atMost timeout: Duration) async {
        await wait(after: ticket, editsOnly: false, atMost: timeout)
    }

    /// Like `wait`, but only the endpoint's configuration changing after `ticket` ends it.
    func waitForEdit(after ticket: Ticket, atMost timeout: Duration) async {
        await wait(after: ticket, editsOnly: true, atMost: timeout)
    }

    private func wait(after ticket: Ticket, editsOnly: Bool, atMost timeout: Duration) async {
        guard !bells.withLock({ Self.hasChanged($0.byEndpoint[ticket.endpointId], since: ticket, editsOnly: editsOnly) }) else {
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.ringing(after: ticket, editsOnly: editsOnly) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private static func hasChanged(_ bell: Bell?, since ticket: Ticket, editsOnly: Bool) -> Bool {
        editsOnly ? (bell?.edits ?? 0) != ticket.edits : (bell?.rings ?? 0) != ticket.rings
    }

    private func ringing(after ticket: Ticket, editsOnly: Bool) async {
        let waiterId = bells.withLock { bells in
            bells.lastWaiterId &+= 1
            return bells.lastWaiterId
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Decided under the lock `wake` takes: a ring either happened before (and is seen
                // here) or happens after the continuation is stored (and resumes it). Likewise a
                // cancellation either set the flag before (seen here) or its handler runs after.
                let over = bells.withLock { bells in
                    if Task.isCancelled || Self.hasChanged(bells.byEndpoint[ticket.endpointId], since: ticket, editsOnly: editsOnly) {
                        return true
                    }
                    bells.byEndpoint[ticket.endpointId, default: Bell()].waiters[waiterId] =
                        Waiter(continuation: continuation, editsOnly: editsOnly)
                    return false
                }
                if over { continuation.resume() }
            }
        } onCancel: {
            bells.withLock { $0.byEndpoint[ticket.endpointId]?.waiters.removeValue(forKey: waiterId) }?.continuation.resume()
        }
    }

    private func wake(_ endpointId: Int64, _ change: (inout Bell) -> Void) {
        let woken = bells.withLock { bells in
            var bell = bells.byEndpoint[endpointId, default: Bell()]
            let editsBefore = bell.edits
            change(&bell)
            let edited = bell.edits != editsBefore
            let woken = bell.waiters.filter { edited || !$0.value.editsOnly }
            for waiterId in woken.keys { bell.waiters.removeValue(forKey: waiterId) }
            bells.byEndpoint[endpointId] = bell
            return woken.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }
}

/// Rings the doorbell of every endpoint whose configuration a committed transaction changed,
/// whoever wrote it: the admin API keeps its own `CRMStore` on the same database, and a worker
/// itself records "auth failed". Only the columns a worker's configuration is read from count,
/// so the health columns every delivery updates do not make a lane read its endpoint again.
final class EndpointEditObserver: TransactionObserver, Sendable {
    private static let table = "crm_endpoints"
    private static let configurationColumns = Set(CRMStore.configurationColumns)

    private let doorbell: Doorbell
    private let edited = Mutex<Set<Int64>>([])

    init(doorbell: Doorbell) {
        self.doorbell = doorbell
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        switch eventKind {
        case .insert(let table), .delete(let table):
            table == Self.table
        case .update(let table, let columns):
            table == Self.table && !columns.isDisjoint(with: Self.configurationColumns)
        }
    }

    func databaseDidChange(with event: DatabaseEvent) {
        let endpointId = event.rowID
        edited.withLock { _ = $0.insert(endpointId) }
    }

    func databaseDidCommit(_ db: Database) {
        let endpointIds = edited.withLock { edited in
            defer { edited = [] }
            return edited
        }
        for endpointId in endpointIds { doorbell.endpointEdited(endpointId) }
    }

    func databaseDidRollback(_ db: Database) {
        edited.withLock { $0 = [] }
    }
}
