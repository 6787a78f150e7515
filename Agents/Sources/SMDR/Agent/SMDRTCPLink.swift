import AgentCLI
import AgentCore
import DeviceLink
import NIOCore
import NIOPosix
import SMDRProtocol
import TamasEvents

/// SMDR from a networked PBX: connect, log in with `SMDRLoginStateMachine`, pass the records on,
/// and reconnect with back-off and jitter whenever the connection ends, goes silent for too long
/// or the login times out. A rejected password is retried only after a long wait.
public struct SMDRTCPLink: DeviceLink {
    public let settings: SMDRTCPSettings

    public init(settings: SMDRTCPSettings) {
        self.settings = settings
    }

    public func write(_ bytes: [UInt8]) async throws {}

    public func run(into inputs: AsyncStream<LinkInput>.Continuation) async {
        var backoff = Backoff(base: 1, cap: 60)
        let address = "\(settings.host):\(settings.port)"
        while !Task.isCancelled {
            let outcome = await session(into: inputs)
            let wait: Double
            switch outcome {
            case .rejected:
                inputs.yield(.status(state: "loginRejected", detail: "SMDR login rejected by \(address): check smdr.tcp.password; retrying in \(settings.retryAfterRejectSeconds) s"))
                wait = Double(settings.retryAfterRejectSeconds)
            case .ended(let state, let detail, let streamed):
                if streamed { backoff.reset() }
                wait = backoff.next(unit: Double.random(in: 0..<1))
                inputs.yield(.status(state: state, detail: "\(detail); reconnecting in \(Int(wait.rounded(.up))) s"))
            }
            try? await Task.sleep(for: .seconds(wait))
        }
    }

    private enum Outcome {
        case rejected
        /// `streamed`: the login had succeeded, so the next attempt starts with a short wait.
        case ended(state: String, detail: String, streamed: Bool)
    }

    private enum SessionInput {
        case bytes([UInt8])
        case closed(String)
        case tick
    }

    /// SMDR has no heartbeat and a PBX is silent while nobody calls, so only TCP can notice a
    /// peer that vanished without a FIN (rebooted, unplugged, behind a NAT that forgot us).
    /// Linux's defaults would take over two hours; these take about two minutes.
    static let keepaliveIdleSeconds: ChannelOptions.Types.SocketOption.Value = 60
    static let keepaliveIntervalSeconds: ChannelOptions.Types.SocketOption.Value = 15
    static let keepaliveProbes: ChannelOptions.Types.SocketOption.Value = 4

    private static func tcpOption(_ name: Int32) -> ChannelOptions.Types.SocketOption {
        ChannelOptions.Types.SocketOption(level: .tcp, name: NIOBSDSocket.Option(rawValue: name))
    }

    private func session(into inputs: AsyncStream<LinkInput>.Continuation) async -> Outcome {
        let address = "\(settings.host):\(settings.port)"
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .channelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
                .channelOption(Self.tcpOption(TCP_KEEPIDLE), value: Self.keepaliveIdleSeconds)
                .channelOption(Self.tcpOption(TCP_KEEPINTVL), value: Self.keepaliveIntervalSeconds)
                .channelOption(Self.tcpOption(TCP_KEEPCNT), value: Self.keepaliveProbes)
                .connect(host: settings.host, port: settings.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            return .ended(state: "connectFailed", detail: "cannot connect to \(address): \(error)", streamed: false)
        }
        do {
            return try await channel.executeThenClose { inbound, outbound in
                let (events, continuation) = AsyncStream.makeStream(of: SessionInput.self, bufferingPolicy: .unbounded)
                return try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        do {
                            for try await buffer in inbound { continuation.yield(.bytes(Array(buffer.readableBytesView))) }
                            continuation.yield(.closed("the PBX closed the connection"))
                        } catch {
                            continuation.yield(.closed("connection failed: \(error)"))
                        }
                    }
                    group.addTask {
                        while !Task.isCancelled {
                            try await Task.sleep(for: .seconds(1))
                            continuation.yield(.tick)
                        }
                    }
                    defer { group.cancelAll() }
                    var conversation = Conversation(settings: settings, address: address)
                    for await event in events {
                        let step = conversation.handle(event, now: .now(), clock: .now)
                        for bytes in step.send { try await outbound.write(ByteBuffer(bytes: bytes)) }
                        for input in step.inputs { inputs.yield(input) }
                        if let outcome = step.outcome {
                            channel.channel.close(promise: nil)
                            return outcome
                        }
                    }
                    return .ended(state: "connectionLost", detail: "connection to \(address) ended", streamed: conversation.streamed)
                }
            }
        } catch {
            return .ended(state: "connectionLost", detail: "connection to \(address) failed: \(error)", streamed: false)
        }
    }

    /// One connection's login and streaming, kept free of I/O so the rules read in one place.
    private struct Conversation {
        struct Step {
            var send: [[UInt8]] = []
            var inputs: [LinkInput] = []
            var outcome: Outcome?
        }

        let settings: SMDRTCPSettings
        let address: String
        var login: SMDRLoginStateMachine
        var lastByteAt: ContinuousClock.Instant = .now
        private(set) var streamed = false

        init(settings: SMDRTCPSettings, address: String) {
            self.settings = settings
            self.address = address
            login = SMDRLoginStateMachine(configuration: .init(password: settings.password), connectedAt: .now())
        }

        mutating func handle(_ event: SessionInput, now: Timestamp, clock: ContinuousClock.Instant) -> Step {
            var step = Step()
            switch event {
            case .bytes(let bytes):
                lastByteAt = clock
                if streamed {
                    step.inputs.append(.bytes(bytes))
                } else {
                    apply(login.receive(bytes, now: now), to: &step)
                }
            case .tick:
                if !streamed { apply(login.tick(now: now), to: &step) }
                let idle = clock - lastByteAt
                if step.outcome == nil, settings.idleTimeoutSeconds > 0, idle >= .seconds(settings.idleTimeoutSeconds) {
                    step.outcome = .ended(
                        state: "idleTimeout",
                        detail: "no bytes from \(address) for \(settings.idleTimeoutSeconds) s (smdr.tcp.idleTimeoutSeconds): presumed dead",
                        streamed: streamed)
                }
            case .closed(let reason):
                if !streamed {
                    apply(login.connectionClosed(), to: &step)
                }
                if step.outcome == nil {
                    step.outcome = .ended(state: "connectionLost", detail: "\(reason) (\(address))", streamed: streamed)
                }
            }
            if step.outcome != nil, streamed { step.inputs.append(.disconnected) }
            return step
        }

        private mutating func apply(_ actions: [SMDRLoginStateMachine.Action], to step: inout Step) {
            for action in actions {
                switch action {
                case .send(let bytes):
                    step.send.append(bytes)
                case .loggedIn(let leftover):
                    streamed = true
                    step.inputs.append(.status(state: "loggedIn", detail: "SMDR login accepted by \(address)"))
                    step.inputs.append(.connected)
                    if !leftover.isEmpty { step.inputs.append(.bytes(leftover)) }
                case .rejected:
                    step.outcome = .rejected
                case .timedOut(let reason):
                    step.outcome = .ended(state: "loginTimedOut", detail: "\(reason) from \(address)", streamed: false)
                case .disconnected(let reason):
                    step.outcome = .ended(state: "connectionLost", detail: "\(reason) (\(address))", streamed: false)
                }
            }
        }
    }
}
