import AgentCore
import AsyncHTTPClient
import ArgumentParser
import CRMDelivery
import CollectorCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
import TamasEvents
import TamasLink

/// CRM delivery (issue 6): an in-process collector (TLS ingest, store, outbox, delivery workers)
/// fed by an in-process agent spool and uplink, delivering to a webhook endpoint that points at
/// an HTTP sink on loopback. Everything shares one process and the machine's cores.
struct CRMDeliveryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm",
        abstract: "Webhook deliveries/s from a backlog beside a plain HTTP client loop to the same sink, and agent-spool → CRM-request latency at a paced call rate.")

    @Option(help: "Calls in the backlog (three events, so three deliveries, each).") var backlogCalls = 2000
    @Option(help: "Calls per second in the paced phase.") var callsPerSecond = 200
    @Option(help: "Length of the paced phase.") var seconds = 30
    @Option(help: "Requests the baseline client sends.") var baselineRequests = 6000

    func run() async throws {
        LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tamas-bench-crm-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        let sink = DeliverySink()
        let sinkPort = try await sink.start()
        let sinkURL = "http://127.0.0.1:\(sinkPort)"
        let baseline = try await plainClientRate(url: sinkURL, sink: sink)
        print(String(format: "baseline: plain HTTP client loop, one request at a time, to the sink: %8.0f requests/s", baseline))

        let rig = try await CollectorRig(folder: folder, sinkURL: sinkURL)
        defer { rig.stop() }

        // (a) Everything queued before the workers start: the pure drain rate.
        let backlog = CallTraffic.calls(prefix: "backlog", count: backlogCalls)
        sink.reset()
        try await rig.spoolAndWaitUntilStored(backlog.flatMap { $0 })
        let expected = backlog.count * 3
        let drainStart = ContinuousClock.now
        rig.startDelivery()
        try await sink.wait(forRequests: expected, timeoutSeconds: 600)
        let drainRate = Double(expected) / (ContinuousClock.now - drainStart).seconds
        print(String(format: "backlog of %d deliveries drained at: %8.0f deliveries/s (ratio to baseline %.2f)",
                     expected, drainRate, drainRate / baseline))

        // (b) Paced traffic: latency from the agent's spool append to the sink receiving the request.
        sink.reset()
        let interval = Duration.seconds(1) / callsPerSecond
        let total = callsPerSecond * seconds
        let paced = CallTraffic.calls(prefix: "paced", count: total)
        let clock = ContinuousClock()
        let start = clock.now
        for (index, call) in paced.enumerated() {
            try await clock.sleep(until: start + interval * index, tolerance: .milliseconds(1))
            sink.spooling(call.map(\.eventId))
            try await rig.spool.append(call.map(\.body))
        }
        let offered = Double(total) / (clock.now - start).seconds
        try await sink.wait(forRequests: total * 3, timeoutSeconds: 600)
        let elapsed = (clock.now - start).seconds
        let latencies = sink.latencies().sorted()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 1000
        }
        print(String(format: "paced: %d calls (%d events) offered at %.1f calls/s; all delivered after %.1f s", total, total * 3, offered, elapsed))
        print(String(format: "agent spool -> sink request latency: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                     percentile(0.50), percentile(0.99), (latencies.last ?? .nan) * 1000))
    }

    /// The sink's own ceiling as this machine sees it: the same kind of POST, one at a time.
    func plainClientRate(url: String, sink: DeliverySink) async throws -> Double {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let body = CallTraffic.calls(prefix: "baseline", count: 1)[0][2].body
        do {
            let start = ContinuousClock.now
            for index in 0..<baselineRequests {
                var request = HTTPClientRequest(url: url + "/hook")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.headers.add(name: "Idempotency-Key", value: "baseline-\(index)")
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try await response.body.collect(upTo: 1 << 20)
            }
            let rate = Double(baselineRequests) / (ContinuousClock.now - start).seconds
            try await client.shutdown()
            return rate
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

/// Realistic calls: ringing, answered and ended, with the field set the SMDR/AMI agents fill.
enum CallTraffic {
    struct Spooled {
        var eventId: String
        var body: Data
    }

    static func calls(prefix: String, count: Int) -> [[Spooled]] {
        let json = EventJSON()
        let start = Timestamp(iso8601: "2026-11-27T08:00:00+03:30") ?? Timestamp(date: Date())
        return (0..<count).map { index in
            let at = start.adding(seconds: index)
            let callId = "\(prefix)-\(index)"
            let from = "+98912\(String(format: "%07d", index % 10_000_000))"
            return [EventType.callRinging, .callAnswered, .callEnded].map { type in
                var event = CallEvent(eventId: "\(callId)-\(type.rawValue)", type: type, systemKey: "bench", source: "jsonl", at: at,
                                      raw: "11/27/26 08:00 201 01 <I> 09121234567", callId: callId, direction: .inbound, from: from,
                                      to: "200", extension: "201", line: "01", extensions: ["201", "202", "203"])
                if type == .callAnswered { event.answeredBy = "202" }
                if type == .callEnded {
                    event.disposition = .answered
                    event.startedAt = at
                    event.answeredAt = at.adding(seconds: 5)
                    event.endedAt = at.adding(seconds: 65)
                    event.durationSec = 60
                }
                return Spooled(eventId: event.eventId, body: (try? json.encode(event)) ?? Data())
            }
        }
    }
}

/// The collector's parts as `tamas-collector run` wires them, on loopback, with one webhook
/// endpoint serving system `bench`, and the agent side (spool + uplink) beside it.
final class CollectorRig: Sendable {
    let spool: Spool
    private let delivery: CRMDeliveryService
    private let tasks = Mutex<[Task<Void, Never>]>([])

    init(folder: URL, sinkURL: String) async throws {
        let doorbell = Doorbell()
        let databasePath = folder.appendingPathComponent("collector.sqlite").path
        let store = try CollectorStore(path: databasePath, extensions: OutboxSchema.extensions, hooks: [OutboxHook(doorbell: doorbell)])
        let crm = CRMStore(database: store.database, box: try SecretBox(keyFile: SecretBox.keyFile(besideDatabase: databasePath)),
                           doorbell: doorbell)
        _ = try await crm.add(EndpointDefinition(name: "sink", kind: .webhook, url: sinkURL, user: nil, secret: "bench secret",
                                                 systemKeys: ["bench"], options: EndpointOptions(path: "/hook")))
        let metrics = CollectorMetrics()
        delivery = try CRMDeliveryService(collectorStore: store, doorbell: doorbell, registry: metrics.registry, logger: Logger(label: "bench"))

        let identity = try LinkTLS.makeSelfSigned(commonName: "bench", hosts: ["127.0.0.1"])
        let certificate = folder.appendingPathComponent("collector.crt").path
        let key = folder.appendingPathComponent("collector.key").path
        try identity.certificatePEM.write(toFile: certificate, atomically: true, encoding: .utf8)
        try Secrets.writePrivateFile(identity.privateKeyPEM, to: key)
        var options = IngestServer.Options()
        options.host = "127.0.0.1"
        options.port = 0
        let server = IngestServer(store: store, registry: AgentRegistry(metrics: metrics), metrics: metrics,
                                  tls: try LinkTLS.serverContext(certificateFile: certificate, privateKeyFile: key, clientCAFile: nil),
                                  options: options, collectorVersion: "bench", logger: Logger(label: "bench"))
        let enrollment = try await store.enroll(name: "bench", systemKeys: ["bench"])
        spool = try await Spool.open(SpoolSettings(path: folder.appendingPathComponent("spool.sqlite").path, capacity: 1_000_000))
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let serverTask = Task { _ = try? await server.run { portSink.yield($0) } }
        var portIterator = ports.makeAsyncIterator()
        guard let port = await portIterator.next() else { throw ValidationError("the collector did not start") }
        let uplink = try Uplink(
            collector: AgentConfig.Collector(host: "127.0.0.1", port: port, agentId: enrollment.agent.id, secret: enrollment.secret,
                                             trust: .pinned(fingerprint: try LinkTLS.fingerprint(pem: identity.certificatePEM))),
            identity: AgentIdentity(kind: "bench", version: "bench", systemKeys: ["bench"]), spool: spool, status: DeviceStatus(),
            commands: [], logger: Logger(label: "bench"))
        let uplinkTask = Task { await uplink.run() }
        tasks.withLock { $0 = [serverTask, uplinkTask] }
    }

    func spoolAndWaitUntilStored(_ events: [CallTraffic.Spooled]) async throws {
        for chunk in stride(from: 0, to: events.count, by: 3000) {
            try await spool.append(events[chunk..<min(chunk + 3000, events.count)].map(\.body))
        }
        while await spool.count > 0 { try await Task.sleep(for: .milliseconds(20)) }
    }

    func startDelivery() {
        let delivery = self.delivery
        tasks.withLock { $0.append(Task { _ = try? await delivery.run() }) }
    }

    func stop() { tasks.withLock { $0.forEach { $0.cancel() } } }
}

/// The CRM side: answers 204 at once and notes when each event's request arrived.
final class DeliverySink: Sendable {
    private struct Figures {
        var received = 0
        var spooledAt: [String: ContinuousClock.Instant] = [:]
        var latencies: [Double] = []
    }

    private let figures = Mutex(Figures())

    func start() async throws -> Int {
        let responder = CallbackResponder<BasicRequestContext> { [self] request, _ in
            _ = try await request.body.collect(upTo: 1 << 20)
            received(key: request.headers.first { $0.name.canonicalName == "idempotency-key" }?.value ?? "", at: ContinuousClock.now)
            return Response(status: .noContent)
        }
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let app = Application(responder: responder, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in portSink.yield(channel.localAddress?.port ?? 0) })
        Task { try? await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw ValidationError("the sink did not start") }
        return port
    }

    private func received(key: String, at arrived: ContinuousClock.Instant) {
        figures.withLock { figures in
            figures.received += 1
            if let spooled = figures.spooledAt.removeValue(forKey: key) { figures.latencies.append((arrived - spooled).seconds) }
        }
    }

    func reset() { figures.withLock { $0 = Figures() } }

    /// Called just before the agent appends these events to its spool.
    func spooling(_ eventIds: [String]) {
        let now = ContinuousClock.now
        figures.withLock { figures in for id in eventIds { figures.spooledAt[id] = now } }
    }

    func latencies() -> [Double] { figures.withLock { $0.latencies } }

    func wait(forRequests count: Int, timeoutSeconds: Double) async throws {
        let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
        while figures.withLock({ $0.received }) < count {
            guard ContinuousClock.now < deadline else {
                throw ValidationError("the sink received \(figures.withLock { $0.received }) of \(count) requests in \(Int(timeoutSeconds)) s")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
