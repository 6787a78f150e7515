import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
import TestSupport
import XCTest

/// One request a test double received, as it came over the wire.
struct ReceivedRequest: Sendable {
    var method: String
    var path: String
    var headers: [String: String]
    var body: Data
    var at: Date

    func header(_ name: String) -> String? { headers[name.lowercased()] }

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
}

struct FakeAnswer: Sendable {
    var status: Int
    var body: String
    var delaySeconds: Double = 0
    /// The `Retry-After` header's value, when the answer has one.
    var retryAfter: String?
    /// Awaited before answering: holds the request open until the test lets it go.
    var answerAfter: (@Sendable () async -> Void)?
}

/// A real HTTP server on a loopback port for a CRM test double: every request goes to `handle`.
/// It can be stopped (connection refused, a CRM that is down) and started again on the same port.
final class FakeCRMServer: Sendable {
    let port: Int
    private let handle: @Sendable (ReceivedRequest) -> FakeAnswer
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(port: Int = freeLoopbackPort(), handle: @escaping @Sendable (ReceivedRequest) -> FakeAnswer) {
        self.port = port
        self.handle = handle
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func start() {
        let bound = Flag()
        let handle = self.handle
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            let bytes = try await request.body.collect(upTo: 16 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            let received = ReceivedRequest(method: request.method.rawValue, path: request.uri.string, headers: headers,
                                           body: Data(bytes.readableBytesView), at: Date())
            let answer = handle(received)
            if answer.delaySeconds > 0 { try await Task.sleep(for: .milliseconds(Int(answer.delaySeconds * 1000))) }
            if let answerAfter = answer.answerAfter { await answerAfter() }
            var fields: HTTPFields = [.contentType: "application/json"]
            if let retryAfter = answer.retryAfter { fields[.retryAfter] = retryAfter }
            return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        let app = Application(responder: responder, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { _ in bound.set() }, logger: Self.quietLogger)
        task.withLock { $0 = Task { try? await app.runService(gracefulShutdownSignals: []) } }
        let deadline = Date().addingTimeInterval(10)
        while !bound.isSet, Date() < deadline { usleep(10_000) }
        if !bound.isSet { XCTFail("the CRM test double did not start listening on 127.0.0.1:\(port) within 10 s") }
    }

    /// `stop()` cancels the server, which Hummingbird reports as two error lines ("Already
    /// closed", "Waiting on child channel: CancellationError") every time; a double that does
    /// not start says so through `XCTFail` above instead.
    private static let quietLogger: Logger = {
        var logger = Logger(label: "fake-crm")
        logger.logLevel = .critical
        return logger
    }()

    /// Closes the listener: the collector now gets "connection refused".
    func stop() {
        let running = task.withLock { current -> Task<Void, Never>? in
            defer { current = nil }
            return current
        }
        guard let running else { return }
        running.cancel()
        let done = Flag()
        Task { await running.value; done.set() }
        let deadline = Date().addingTimeInterval(10)
        while !done.isSet, Date() < deadline { usleep(10_000) }
    }

    deinit { task.withLock { $0?.cancel() } }
}

/// Set once from any thread, polled by the (synchronous) test.
final class Flag: Sendable {
    private let value = Mutex(false)

    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
