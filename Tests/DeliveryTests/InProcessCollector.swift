@testable import CRMDelivery
import CollectorCore
import Foundation
import Logging
import NIOCore
import Synchronization
import TamasEvents
import TamasLink
import TestSupport
import WebhookConnector

/// The collector's store, ingest path and delivery service as `tamas-collector run` wires them,
/// in this process, so a test can set how long idle workers sleep without a ring. `admin` is a
/// second `CRMStore` on the same database, the way the admin API keeps its own.
final class InProcessCollector: Sendable {
    let store: CollectorStore
    let admin: CRMStore
    let service: CRMDeliveryService
    private let agent: CollectorStore.AgentRecord
    private let lastSequence = Mutex<UInt64>(0)
    private let running = Mutex<Task<Void, Never>?>(nil)

    init(_ name: String, idlePollInterval: Duration) async throws {
        let databasePath = try temporaryFolder(name).appendingPathComponent("collector.sqlite").path
        let doorbell = Doorbell()
        store = try CollectorStore(path: databasePath, extensions: OutboxSchema.extensions, hooks: [OutboxHook(doorbell: doorbell)])
        var service = try CRMDeliveryService(collectorStore: store, doorbell: doorbell, registry: CollectorMetrics().registry,
                                             logger: Logger(label: "test"))
        service.idlePollInterval = idlePollInterval
        self.service = service
        admin = CRMStore(database: store.database, box: try SecretBox(keyFile: SecretBox.keyFile(besideDatabase: databasePath)),
                         doorbell: doorbell)
        agent = try await store.enroll(name: "agent", systemKeys: ["office1", "office2"]).agent
    }

    /// A webhook endpoint for system `office1`.
    func addWebhook(_ name: String, url: String, secret: String, parallelCalls: Int? = nil, maxBackoffSeconds: Int = 1) async throws {
        _ = try await admin.add(EndpointDefinition(name: name, kind: .webhook, url: url, user: nil, secret: secret, systemKeys: ["office1"],
                                                   options: EndpointOptions(maxBackoffSeconds: maxBackoffSeconds,
                                                                            parallelCalls: parallelCalls)))
    }

    /// One batch through the ingest transaction, as an agent's batch arrives.
    func ingest(_ events: [CallEvent]) async throws {
        let json = EventJSON()
        let first = lastSequence.withLock { last in
            defer { last += UInt64(events.count) }
            return last + 1
        }
        let batch = EventBatch(firstSequence: first, events: try events.map { ByteBuffer(bytes: try json.encode($0)) })
        let result = try await store.ingest(batch, from: agent)
        guard result.stored == events.count else { throw IngestRefused(result: result) }
    }

    struct IngestRefused: Error {
        var result: CollectorStore.IngestResult
    }

    func startDelivery() {
        let service = self.service
        running.withLock { $0 = Task { try? await service.run() } }
    }

    /// Cancels the delivery service and reports whether it ended within `timeout`.
    func stopDelivery(within timeout: Duration = .seconds(30)) async -> Bool {
        guard let task = running.withLock({ $0.take() }) else { return true }
        task.cancel()
        return await finishes(within: timeout) { await task.value }
    }

    deinit { running.withLock { $0?.cancel() } }
}

/// A webhook receiver that knows several secrets, accepts the requests signed with the ones it
/// is told to, and notes which secret signed each request it got.
final class SecretCheckingReceiver: Sendable {
    struct Request: Sendable {
        var eventId: String
        var signedWith: String?
        var at: Date
    }

    let server: FakeCRMServer
    private let book: Book

    private final class Book: Sendable {
        let received = Mutex<[Request]>([])
        let accepted: Mutex<Set<String>>
        let holding = Mutex<[String: Gate]>([:])

        init(accepting: Set<String>) {
            accepted = Mutex(accepting)
        }
    }

    init(knownSecrets: [String], accepting: Set<String>) {
        let book = Book(accepting: accepting)
        self.book = book
        server = FakeCRMServer { (request: ReceivedRequest) -> FakeAnswer in
            let timestamp = request.header("X-Tamas-Timestamp").flatMap { Int64($0) } ?? 0
            let signature = request.header("X-Tamas-Signature")
            let signedWith: String? = knownSecrets.first { (secret: String) -> Bool in
                signature == WebhookSignature.sign(body: request.body, timestamp: timestamp, secret: secret)
            }
            let eventId = request.header("Idempotency-Key") ?? "?"
            let noted = Request(eventId: eventId, signedWith: signedWith, at: request.at)
            book.received.withLock { $0.append(noted) }
            guard let signedWith, book.accepted.withLock({ $0.contains(signedWith) }) else {
                return FakeAnswer(status: 401, body: "{\"error\":\"bad signature\"}")
            }
            var answer = FakeAnswer(status: 204, body: "")
            if let gate = book.holding.withLock({ $0[eventId] }) {
                answer.answerAfter = { await gate.passed() }
            }
            return answer
        }
        server.start()
    }

    var url: String { server.url }

    var requests: [Request] { book.received.withLock { $0 } }

    func signers(of eventId: String) -> [String?] { requests.filter { $0.eventId == eventId }.map(\.signedWith) }

    func hasReceived(_ eventId: String) -> Bool { requests.contains { $0.eventId == eventId } }

    func accept(_ secret: String) { _ = book.accepted.withLock { $0.insert(secret) } }

    /// The answer to `eventId` waits until `gate` opens.
    func hold(_ eventId: String, until gate: Gate) { book.holding.withLock { $0[eventId] = gate } }
}

/// A CRM on loopback that gives `refusal` to every request until `accept()`, then accepts,
/// noting the Idempotency-Key (event id) of each request it accepted.
final class SwitchableCRM: Sendable {
    let server: FakeCRMServer
    private let book: Book

    private final class Book: Sendable {
        let state = Mutex<(refusing: Bool, refusals: Int, accepted: [String])>((true, 0, []))
    }

    init(refusal: FakeAnswer) {
        let book = Book()
        self.book = book
        server = FakeCRMServer { request in
            let refused = book.state.withLock { state -> Bool in
                if state.refusing {
                    state.refusals += 1
                } else {
                    state.accepted.append(request.header("Idempotency-Key") ?? "?")
                }
                return state.refusing
            }
            return refused ? refusal : FakeAnswer(status: 204, body: "")
        }
        server.start()
    }

    func accept() { book.state.withLock { $0.refusing = false } }

    var refusals: Int { book.state.withLock { $0.refusals } }

    var accepted: [String] { book.state.withLock { $0.accepted } }
}

/// Closed until `open()`; `passed()` returns once it is open.
final class Gate: Sendable {
    private let state = Mutex<(isOpen: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiting = state.withLock { state in
            state.isOpen = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    func passed() async {
        await withCheckedContinuation { continuation in
            let isOpen = state.withLock { state in
                if !state.isOpen { state.waiting.append(continuation) }
                return state.isOpen
            }
            if isOpen { continuation.resume() }
        }
    }
}

/// Whether `condition` holds within `timeout`, looked at every 20 ms without blocking a thread.
func becomesTrue(within timeout: Duration, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Runs `operation` in a task of its own and reports whether it ended within `timeout`; if it
/// did not, the task is cancelled and left behind, so a hang fails the test instead of hanging it.
func finishes(within timeout: Duration, _ operation: @escaping @Sendable () async -> Void) async -> Bool {
    let done = Flag()
    let task = Task {
        await operation()
        done.set()
    }
    let finished = await becomesTrue(within: timeout) { done.isSet }
    if !finished { task.cancel() }
    return finished
}
