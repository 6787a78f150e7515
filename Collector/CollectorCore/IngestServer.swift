import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import TamasEvents
import TamasLink

/// The agents' TLS listener. Each connection is served by its own task, so one agent that
/// misbehaves (bad frames, wrong secret, a 100 MB frame, a handshake it never finishes) gets a
/// log line and a closed socket while every other agent keeps streaming.
public struct IngestServer: Sendable {
    public struct Options: Sendable {
        public var host = "0.0.0.0"
        public var port = LinkProtocol.defaultPort
        public var maxFrameBytes = LinkProtocol.defaultMaxFrameBytes
        public var heartbeatSeconds = LinkProtocol.defaultHeartbeatSeconds
        /// Time allowed from accept to a valid hello, TLS handshake included.
        public var helloTimeoutSeconds: Double = 10
        public init() {}
    }

    let store: CollectorStore
    let committer: IngestCommitter
    let registry: AgentRegistry
    let metrics: CollectorMetrics
    let tls: NIOSSLContext
    let options: Options
    let logger: Logger
    let collectorVersion: String

    public init(store: CollectorStore, registry: AgentRegistry, metrics: CollectorMetrics, tls: NIOSSLContext,
                options: Options, collectorVersion: String, logger: Logger) {
        self.store = store
        self.committer = IngestCommitter(store: store)
        self.registry = registry
        self.metrics = metrics
        self.tls = tls
        self.options = options
        self.collectorVersion = collectorVersion
        self.logger = logger
    }

    /// Binds, calls `onBound` with the real port (useful with port 0), and serves until cancelled.
    public func run(onBound: @Sendable (Int) -> Void = { _ in }) async throws {
        let tls = self.tls
        let maxFrame = options.maxFrameBytes
        let readTimeout = TimeAmount.seconds(Int64(options.heartbeatSeconds * 3))
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .bind(host: options.host, port: options.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(NIOSSLServerHandler(context: tls))
                    try pipeline.addHandler(IdleStateHandler(readTimeout: readTimeout))
                    try pipeline.addHandler(CloseOnIdle())
                    try pipeline.addHandler(ByteToMessageHandler(LinkFrameDecoder(maxFrameBytes: maxFrame)))
                    try pipeline.addHandler(MessageToByteHandler(LinkFrameEncoder(maxFrameBytes: maxFrame)))
                    return try NIOAsyncChannel<LinkMessage, LinkMessage>(wrappingChannelSynchronously: channel)
                }
            }
        onBound(server.channel.localAddress?.port ?? options.port)
        logger.info("agent listener up", metadata: ["address": "\(options.host):\(server.channel.localAddress?.port ?? options.port)"])
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { await self.serve(connection) }
                }
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<LinkMessage, LinkMessage>) async {
        let remote = connection.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
        var log = logger
        log[metadataKey: "remote"] = "\(remote)"
        let session = AgentSession(server: self, remote: remote, logger: log)
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await session.run(inbound: inbound, outbound: outbound, channel: connection.channel)
            }
        } catch let refusal as SessionRefusal {
            metrics.connectionsRefused.increment()
            log.warning("agent connection refused", metadata: ["reason": "\(refusal.reason)"])
        } catch let failure as AgentLinkFailure {
            metrics.connectionsRefused.increment()
            log.warning("agent connection closed on error",
                        metadata: ["agent": "\(failure.agent)", "error": "\(Self.describe(failure.underlying))"])
        } catch is CancellationError {
            // Only a stopping collector cancels its sessions; the agent resends after it restarts.
            log.info("agent connection closed: the collector is stopping")
        } catch {
            metrics.connectionsRefused.increment()
            log.warning("agent connection closed on error", metadata: ["error": "\(Self.describe(error))"])
        }
    }

    static func describe(_ error: any Error) -> String {
        if let frame = error as? LinkFrameError { return "bad frame: \(frame)" }
        if let ssl = error as? NIOSSLError { return "TLS: \(ssl) (a plain-TCP client or an untrusted certificate?)" }
        if error is NIOSSLExtraError { return "TLS: \(error)" }
        return "\(error)"
    }
}

struct SessionRefusal: Error {
    var reason: String
}

/// What broke an authenticated link (a bad frame, a TLS error), with the agent's name, which
/// the remote address alone does not tell the operator.
struct AgentLinkFailure: Error {
    var agent: String
    var underlying: any Error
}

/// One agent connection: hello within a deadline, authentication, welcome, then batches
/// committed before they are acknowledged, heartbeats, and command results.
struct AgentSession: Sendable {
    let server: IngestServer
    let remote: String
    let logger: Logger

    /// With mutual TLS, a certificate speaks for the one agent it was issued to: another
    /// agent's secret (copied, or leaked) together with it is refused, so a stolen secret alone
    /// does not get in, and neither does one agent's certificate lent to another.
    func certificateRefusal(for agent: CollectorStore.AgentRecord, on channel: any Channel) async throws -> String? {
        guard let certificate = try await channel.nioSSL_peerCertificate().get() else { return nil }
        let commonName = try LinkTLS.commonName(of: certificate)
        guard commonName != agent.name else { return nil }
        return "the client certificate is issued to '\(commonName ?? "no common name")', not to agent '\(agent.name)'"
            + " (deploy/make-ca.sh agent \(agent.name))"
    }

    func record(_ result: CollectorStore.IngestResult, agent: String) {
        server.metrics.eventsStored.increment(by: Int64(result.stored))
        server.metrics.eventsDeduplicated.increment(by: Int64(result.duplicates))
        if result.quarantined > 0 {
            server.metrics.eventsQuarantined.increment(by: Int64(result.quarantined))
            logger.error("events quarantined", metadata: ["agent": "\(agent)", "count": "\(result.quarantined)"])
        }
    }

    func run(inbound: NIOAsyncChannelInboundStream<LinkMessage>, outbound: NIOAsyncChannelOutboundWriter<LinkMessage>,
             channel: any Channel) async throws {
        var messages = inbound.makeAsyncIterator()
        let deadline = server.options.helloTimeoutSeconds
        let timer = Task {
            try await Task.sleep(for: .seconds(deadline))
            channel.close(promise: nil)
        }
        let first = try await messages.next()
        timer.cancel()
        guard case .hello(let hello)? = first else {
            throw SessionRefusal(reason: first == nil
                ? "no hello within \(deadline) s (stalled TLS handshake, or not a Tamas agent)"
                : "first message was \(first.map { "\($0.kind)" } ?? "nothing"), expected hello")
        }
        let agent: CollectorStore.AgentRecord
        switch try await server.store.authenticate(agentId: hello.agentId, secret: hello.secret) {
        case .refused(let reason):
            try? await outbound.write(.refused(Refused(reason: reason, permanent: true)))
            throw SessionRefusal(reason: "\(reason) (agent id \(hello.agentId))")
        case .accepted(let record):
            agent = record
        }
        if let refusal = try await certificateRefusal(for: agent, on: channel) {
            try? await outbound.write(.refused(Refused(reason: refusal, permanent: true)))
            throw SessionRefusal(reason: refusal)
        }
        guard hello.protocolVersion >= 1 else {
            let reason = "protocol version \(hello.protocolVersion) is not supported (this collector speaks 1...\(LinkProtocol.version))"
            try? await outbound.write(.refused(Refused(reason: reason, permanent: true)))
            throw SessionRefusal(reason: reason)
        }
        let committed = try await server.store.agentConnected(id: agent.id, hello: hello)
        let connection = UUID()
        let entry = AgentRegistry.Live(
            agentId: agent.id, name: agent.name, remoteAddress: remote, connectedSince: Timestamp(date: Date()),
            spool: hello.spool, deviceState: nil, systemKeys: agent.systemKeys, kind: hello.kind,
            commands: hello.commands.map(Set.init), connection: connection,
            send: { try await outbound.write($0) }, close: { channel.close(promise: nil) })
        if await server.registry.register(entry) != nil {
            logger.notice("agent reconnected; closing its previous connection", metadata: ["agent": "\(agent.name)"])
        }
        defer { Task { await server.registry.unregister(agentId: agent.id, connection: connection) } }
        try await outbound.write(.welcome(Welcome(
            protocolVersion: min(hello.protocolVersion, LinkProtocol.version), collectorVersion: server.collectorVersion,
            agentName: agent.name, committedThrough: committed, systemKeys: agent.systemKeys,
            heartbeatSeconds: server.options.heartbeatSeconds, maxFrameBytes: server.options.maxFrameBytes)))
        logger.info("agent connected", metadata: [
            "agent": "\(agent.name)", "kind": "\(hello.kind)", "version": "\(hello.version)",
            "backlog": "\(hello.spool.backlog)", "resendFrom": "\(committed + 1)",
        ])
        let heartbeats = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(server.options.heartbeatSeconds))
                try await outbound.write(.heartbeat(Heartbeat()))
            }
        }
        defer { heartbeats.cancel() }
        // Batches are decoded here, committed by the group committer, and acknowledged strictly
        // in order by `acknowledger` as their commits finish, so reading and decoding the next
        // batch overlaps the previous commit without ever acknowledging early.
        let (commits, commitQueue) = AsyncStream<Task<(UInt64, CollectorStore.IngestResult), Error>>.makeStream()
        let acknowledger = Task {
            do {
                for await pending in commits {
                    let (sequence, result) = try await pending.value
                    record(result, agent: agent.name)
                    try await outbound.write(.ack(throughSequence: sequence))
                }
            } catch {
                logger.error("could not commit a batch; closing the link so the agent resends it",
                             metadata: ["agent": "\(agent.name)", "error": "\(error)"])
                channel.close(promise: nil)
            }
        }
        defer {
            commitQueue.finish()
            acknowledger.cancel()
        }
        // A failure after the welcome is this agent's: say which agent, not only its address.
        do {
            while let message = try await messages.next() {
                switch message {
                case .batch(let batch):
                    server.metrics.eventsReceived.increment(by: Int64(batch.events.count))
                    let prepared = server.store.prepare(batch, from: agent)
                    let committer = server.committer
                    commitQueue.yield(Task { (batch.lastSequence, try await committer.commit(prepared)) })
                case .heartbeat(let heartbeat):
                    await server.registry.heartbeat(agentId: agent.id, name: agent.name, heartbeat)
                case .result(let result):
                    await server.registry.complete(result)
                case .data(let chunk):
                    if await !server.registry.deliver(chunk) {
                        logger.debug("data chunk without a waiting download", metadata: ["agent": "\(agent.name)"])
                    }
                case .hello, .welcome, .refused, .ack, .command:
                    throw SessionRefusal(reason: "agent \(agent.name) sent \(message.kind) after hello")
                }
            }
        } catch where !(error is SessionRefusal || error is CancellationError) {
            throw AgentLinkFailure(agent: agent.name, underlying: error)
        }
        logger.info("agent disconnected", metadata: ["agent": "\(agent.name)"])
    }
}
