import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import TamasEvents
import TamasLink

/// The agent's side of the link: connects out to the collector over TLS, authenticates, sends
/// the spool in order with a bounded window of unacknowledged batches, removes events only when
/// acknowledged, answers commands, and reconnects with capped, jittered back-off for ever.
public actor Uplink {
    public struct Options: Sendable {
        public var batchSize = 500
        public var maxBatchesInFlight = 8
        public var heartbeatSeconds = LinkProtocol.defaultHeartbeatSeconds
        public var maxFrameBytes = LinkProtocol.defaultMaxFrameBytes
        public var connectTimeoutSeconds: Int64 = 10
        public init() {}
    }

    public enum State: Sendable, Equatable {
        case connecting
        case connected(agentName: String)
        case waiting(seconds: Double, reason: String)
    }

    private let collector: AgentConfig.Collector
    private let identity: AgentIdentity
    private let spool: Spool
    private let status: DeviceStatus
    private let commands: [CommandHandler]
    private let options: Options
    private let logger: Logger
    private let tls: NIOSSLContext
    private(set) public var state: State = .connecting

    public init(collector: AgentConfig.Collector, identity: AgentIdentity, spool: Spool, status: DeviceStatus,
                commands: [CommandHandler], options: Options = Options(), logger: Logger) throws {
        self.collector = collector
        self.identity = identity
        self.spool = spool
        self.status = status
        self.commands = commands
        self.options = options
        self.logger = logger
        tls = try NIOSSLContext(configuration: LinkTLS.clientConfiguration(
            trust: collector.trust, clientCertificateFile: collector.clientCertificateFile, clientKeyFile: collector.clientKeyFile))
    }

    /// Runs until the task is cancelled.
    public func run() async {
        var backoff = Backoff()
        while !Task.isCancelled {
            state = .connecting
            let reason: String
            do {
                try await session { backoff.reset() }
                reason = "collector closed the connection"
            } catch let refused as Refused {
                reason = "collector refused this agent: \(refused.reason)"
                if refused.permanent { backoff.exhaust() }
                logger.error("link refused", metadata: ["reason": "\(refused.reason)", "permanent": "\(refused.permanent)"])
            } catch is CancellationError {
                return
            } catch {
                reason = "\(error)"
            }
            let delay = backoff.next(unit: Double.random(in: 0..<1))
            state = .waiting(seconds: delay, reason: reason)
            logger.warning("link down, reconnecting", metadata: [
                "collector": "\(collector.host):\(collector.port)", "reason": "\(reason)",
                "retryIn": "\(String(format: "%.1f", delay))s",
            ])
            try? await Task.sleep(for: .seconds(delay))
        }
    }

    private func session(onWelcome: () -> Void) async throws {
        let tls = self.tls
        let trust = collector.trust
        let host = collector.host
        let maxFrame = options.maxFrameBytes
        let readTimeout = TimeAmount.seconds(Int64(options.heartbeatSeconds * 3))
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(options.connectTimeoutSeconds))
            .channelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .connect(host: collector.host, port: collector.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(LinkTLS.clientHandler(context: tls, trust: trust, serverHostname: host))
                    try pipeline.addHandler(IdleStateHandler(readTimeout: readTimeout))
                    try pipeline.addHandler(CloseOnIdle())
                    try pipeline.addHandler(ByteToMessageHandler(LinkFrameDecoder(maxFrameBytes: maxFrame)))
                    try pipeline.addHandler(MessageToByteHandler(LinkFrameEncoder(maxFrameBytes: maxFrame)))
                    return try NIOAsyncChannel<LinkMessage, LinkMessage>(wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            let report = await spool.report()
            try await outbound.write(.hello(Hello(
                agentId: collector.agentId, secret: collector.secret, kind: identity.kind, version: identity.version,
                systemKeys: identity.systemKeys, spoolId: spool.spoolId, spool: report, host: identity.host,
                commands: commands.flatMap(\.commandNames).sorted())))
            var messages = inbound.makeAsyncIterator()
            let welcome: Welcome
            switch try await messages.next() {
            case .welcome(let value): welcome = value
            case .refused(let refused): throw refused
            case nil: throw LinkSessionError.closedBeforeWelcome
            case let other?: throw LinkSessionError.unexpected(other.kind)
            }
            onWelcome()
            state = .connected(agentName: welcome.agentName)
            let missing = Set(identity.systemKeys).subtracting(welcome.systemKeys)
            if !missing.isEmpty {
                logger.error("this agent sends for system keys it is not enrolled for; the collector will quarantine those events",
                             metadata: ["keys": "\(missing.sorted())", "enrolled": "\(welcome.systemKeys)"])
            }
            try await spool.acknowledge(through: welcome.committedThrough)
            let backlog = await spool.count
            logger.info("link up", metadata: [
                "collector": "\(collector.host):\(collector.port)", "agent": "\(welcome.agentName)",
                "protocol": "\(welcome.protocolVersion)", "resendFrom": "\(welcome.committedThrough + 1)",
                "backlog": "\(backlog)",
            ])
            let (acks, ackSink) = AsyncStream<UInt64>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let (removals, removalSink) = AsyncStream<UInt64>.makeStream(bufferingPolicy: .bufferingNewest(1))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.send(from: welcome.committedThrough, acks: acks, outbound: outbound) }
                group.addTask { try await self.heartbeat(outbound: outbound, every: welcome.heartbeatSeconds) }
                group.addTask { try await self.removeAcknowledged(removals) }
                defer {
                    ackSink.finish()
                    removalSink.finish()
                    group.cancelAll()
                }
                try await self.receive(&messages, acks: ackSink, removals: removalSink, outbound: outbound)
            }
        }
    }

    private func send(from committed: UInt64, acks: AsyncStream<UInt64>, outbound: NIOAsyncChannelOutboundWriter<LinkMessage>) async throws {
        var cursor = committed
        var inFlight: [UInt64] = []
        var ackIterator = acks.makeAsyncIterator()
        var arrivals = await spool.arrivals().makeAsyncIterator()
        while !Task.isCancelled {
            if inFlight.count >= options.maxBatchesInFlight {
                guard let acked = await ackIterator.next() else { return }
                inFlight.removeAll { $0 <= acked }
                continue
            }
            let events = try await spool.read(after: cursor, limit: options.batchSize)
            guard let first = events.first, let last = events.last else {
                guard await arrivals.next() != nil else { return }
                continue
            }
            let bodies = events.map { ByteBuffer(bytes: $0.body) }
            try await outbound.write(.batch(EventBatch(firstSequence: first.sequence, events: bodies)))
            cursor = last.sequence
            inFlight.append(last.sequence)
        }
    }

    private func receive(_ messages: inout NIOAsyncChannelInboundStream<LinkMessage>.AsyncIterator,
                         acks: AsyncStream<UInt64>.Continuation, removals: AsyncStream<UInt64>.Continuation,
                         outbound: NIOAsyncChannelOutboundWriter<LinkMessage>) async throws {
        while let message = try await messages.next(isolation: #isolation) {
            switch message {
            case .ack(let through):
                removals.yield(through)
                acks.yield(through)
            case .heartbeat:
                continue
            case .command(let command):
                let handler = commands.first { $0.commandNames.contains(command.name) }
                Task { await Self.execute(command, handler: handler, kind: identity.kind, outbound: outbound) }
            case .refused(let refused):
                throw refused
            default:
                throw LinkSessionError.unexpected(message.kind)
            }
        }
    }

    private static func execute(_ command: Command, handler: CommandHandler?, kind: String,
                                outbound: NIOAsyncChannelOutboundWriter<LinkMessage>) async {
        let result: CommandResult
        if let handler {
            result = await handler.handle(command, replies: CommandReplies { try await outbound.write(.data($0)) })
        } else {
            result = CommandResult(id: command.id, ok: false, error: "this agent (\(kind)) does not support '\(command.name)'")
        }
        try? await outbound.write(.result(result))
    }

    /// Deletes acknowledged events off the receive path, newest acknowledgement first: while one
    /// delete waits for its fsync, later acknowledgements collapse into the next one. An event
    /// acknowledged but not yet deleted when the agent dies is dropped at the next welcome, whose
    /// `committedThrough` covers it, so it is never sent twice as a new event.
    private func removeAcknowledged(_ removals: AsyncStream<UInt64>) async throws {
        for await through in removals {
            try await spool.acknowledge(through: through)
        }
    }

    private func heartbeat(outbound: NIOAsyncChannelOutboundWriter<LinkMessage>, every seconds: Int) async throws {
        while !Task.isCancelled {
            let report = await spool.report()
            try await outbound.write(.heartbeat(Heartbeat(spool: report, deviceState: await status.current.state,
                                                          lastInputAt: status.lastInputAt)))
            try await Task.sleep(for: .seconds(max(1, seconds)))
        }
    }
}

/// Who this agent is, as announced in `hello`.
public struct AgentIdentity: Sendable {
    public var kind: String
    public var version: String
    public var systemKeys: [String]
    public var host: String?

    public init(kind: String, version: String, systemKeys: [String], host: String? = ProcessInfo.processInfo.hostName) {
        self.kind = kind
        self.version = version
        self.systemKeys = systemKeys
        self.host = host
    }
}

enum LinkSessionError: Error, CustomStringConvertible {
    case closedBeforeWelcome
    case unexpected(LinkMessage.Kind)

    var description: String {
        switch self {
        case .closedBeforeWelcome: "the collector closed the connection before welcoming this agent (TLS or protocol mismatch?)"
        case .unexpected(let kind): "unexpected \(kind) message from the collector"
        }
    }
}
