import AMIProtocol
import AgentCLI
import Foundation
import Logging
import NIOCore
import NIOPosix
import TamasEvents

/// The socket around `AMIClientStateMachine`: opens the TCP connection, feeds it bytes and a
/// one-second tick, writes what it says to write, and reconnects when it says so. Everything
/// the AMI protocol decides (login, Ping deadline, backoff, resync) stays in the state machine.
public actor AMIClient {

    /// After a refused login nothing reconnects for this long: a wrong secret does not heal by
    /// retrying, and Asterisk logs every failed attempt (fail2ban bans the agent's address).
    static let retryAfterRejectedLoginSeconds = 300
    static let queueCapacity = 100_000

    public let settings: AMIAgentSettings
    private var machine: AMIClientStateMachine
    private let queue = AMIEventQueue(capacity: AMIClient.queueCapacity)
    private let logger: Logger
    private var channel: Channel?
    private var writer: NIOAsyncChannelOutboundWriter<ByteBuffer>?
    private var reconnectAfterMillis: Int64?
    private var rejected = false
    private var waiters: [String: AsyncStream<AMIAnswer>.Continuation] = [:]
    public private(set) var lastStatus: AMIClientStateMachine.Status = .awaitingBanner
    /// The resync actions Asterisk refused since the last login.
    public var resyncRefusals: [AMIRefusal] { machine.resyncRefusals }
    private var loggedInAt: Timestamp?
    /// When the last `Event:` arrived, shown as the link's liveness beside the Ping answers.
    public private(set) var lastEventAt: Timestamp?
    /// Set by `run`: tells the outlet that an event arrived.
    private var noteInput: @Sendable () -> Void = {}
    private var outageSince: Timestamp?
    private var quiet = false
    /// Searches the recording folder for calls no channel variable named a recording for; only
    /// when the agent can list that folder (`recordingDownload`).
    private let recordingFinder: AMIRecordingFinder?

    public init(settings: AMIAgentSettings, logger: Logger, jitter: some RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()) {
        self.settings = settings
        self.logger = logger
        var ami = settings.ami
        if let download = settings.recordingDownload, ami.recordingEnabled {
            recordingFinder = AMIRecordingFinder(download: download, delaySeconds: settings.recordingSearchDelaySeconds, logger: logger)
            ami.searchRecordingsByUniqueid = true
        } else {
            recordingFinder = nil
            ami.searchRecordingsByUniqueid = false
        }
        machine = AMIClientStateMachine(settings: ami, jitter: jitter)
    }


    /// Connects and stays connected until cancelled.
    public func run(into outlet: some AMIEventOutlet) async throws {
        noteInput = { outlet.noteInput() }
        let queue = queue
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await queue.drain(into: outlet) }
            group.addTask { try await self.keepConnected() }
            group.addTask { try await self.tickEverySecond() }
            if let finder = recordingFinder {
                group.addTask { try await finder.run { events in await queue.append(.events(events)) } }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    // MARK: - Actions for command handlers

    /// Sends an action and waits for its final answer (for an async Originate: the
    /// OriginateResponse), or a failed result when the link drops or `timeout` passes first.
    public func perform(_ action: AMIAction, timeout: Duration) async -> AMIAnswer {
        let (id, outputs) = machine.send(action, now: .now())
        guard let id else {
            return outputs.lazy.compactMap { if case .result(let result) = $0 { AMIAnswer(result) } else { nil } }.first
                ?? AMIAnswer(failure: "not sent")
        }
        let (answers, continuation) = AsyncStream.makeStream(of: AMIAnswer.self)
        waiters[id] = continuation
        await apply(outputs)
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            await self?.fail(id, "no answer from Asterisk within \(timeout)")
        }
        defer { timer.cancel() }
        for await answer in answers { return answer }
        return AMIAnswer(failure: "cancelled")
    }

    /// Builds actions with what the state machine knows (dialect, each phone's technology).
    public func clickToCall(from userExtension: String, to number: String, autoAnswer: Bool? = nil) throws(AMIActionError) -> AMIAction {
        try machine.clickToCall(userExtension: userExtension, number: number, autoAnswer: autoAnswer)
    }

    public func spy(_ mode: AMISpyMode, supervisor: String, target: String) throws(AMIActionError) -> AMIAction {
        try machine.spy(mode, supervisor: supervisor, target: target)
    }

    /// Waits until the login is accepted or refused (or `timeout` passes), for `test`.
    public func waitForLogin(timeout: Duration) async -> AMIClientStateMachine.Status {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !Task.isCancelled {
            switch lastStatus {
            case .connected, .loginRejected: return lastStatus
            default: try? await Task.sleep(for: .milliseconds(50))
            }
        }
        return lastStatus
    }

    // MARK: - Connection

    private func keepConnected() async throws {
        while !Task.isCancelled {
            await connectOnce()
            if rejected {
                try await Task.sleep(for: .seconds(Self.retryAfterRejectedLoginSeconds))
                machine.restart()
                rejected = false
            } else {
                let delay = reconnectAfterMillis ?? 1000
                reconnectAfterMillis = nil
                logger.info("reconnecting to AMI", metadata: ["afterMillis": "\(delay)"])
                try await Task.sleep(for: .milliseconds(delay))
            }
        }
    }

    private func connectOnce() async {
        let connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .connect(host: settings.ami.host, port: settings.ami.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            await apply(machine.connectFailed("\(settings.ami.host):\(settings.ami.port): \(error)", now: .now()))
            return
        }
        do {
            try await connection.executeThenClose { inbound, outbound in
                channel = connection.channel
                writer = outbound
                await apply(machine.connected(now: .now()))
                for try await buffer in inbound {
                    await received(buffer)
                }
            }
        } catch {
            logger.debug("AMI connection ended", metadata: ["error": "\(error)"])
        }
        channel = nil
        writer = nil
        await apply(machine.connectionClosed(now: .now()))
    }

    private func received(_ buffer: ByteBuffer) async {
        let bytes = Array(buffer.readableBytesView)
        let now = Timestamp.now()
        if Self.containsEvent(bytes) {
            if quiet, let last = lastEventAt ?? loggedInAt {
                quiet = false
                await queue.append(.status(state: "connected", detail: "AMI events flowing again after \(last.seconds(until: now)) s without any", at: now))
            }
            lastEventAt = now
            noteInput()
        }
        await apply(machine.receive(bytes, now: now))
    }

    private func tickEverySecond() async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(1))
            let now = Timestamp.now()
            await apply(machine.tick(now: now))
            await noticeSilence(now: now)
        }
    }

    /// A link whose Pings are answered but that carries no events (read classes missing, the
    /// event delays of PAINPOINTS #5) looks healthy otherwise; heartbeats show it as `quiet`.
    private func noticeSilence(now: Timestamp) async {
        guard machine.isLoggedIn, !quiet, let since = lastEventAt ?? loggedInAt,
              since.seconds(until: now) >= settings.quietAfterSeconds else { return }
        quiet = true
        await queue.append(.status(
            state: "quiet",
            detail: "logged in and Pings answered, but no AMI event since \(since.iso8601) (\(since.seconds(until: now)) s); check the AMI user's read classes and eventMask",
            at: now))
    }

    // MARK: - Outputs

    private func apply(_ outputs: [AMIClientStateMachine.Output]) async {
        for output in outputs {
            switch output {
            case .send(let bytes):
                do {
                    try await writer?.write(ByteBuffer(bytes: bytes))
                } catch {
                    logger.debug("AMI write failed", metadata: ["error": "\(error)"])
                }
            case .events(let events):
                await enqueue(events)
            case .status(let status):
                noteStatus(status)
            case .reconnect(let millis):
                reconnectAfterMillis = millis
                channel?.close(promise: nil)
            case .close:
                rejected = true
                channel?.close(promise: nil)
            case .result(let result):
                guard result.final, let waiter = waiters.removeValue(forKey: result.actionID) else { continue }
                waiter.yield(AMIAnswer(result))
                waiter.finish()
            case .searchRecording(let search):
                await recordingFinder?.submit(search)
            case .refused(let refusal):
                let metadata: Logger.Metadata = ["action": "\(refusal.action)", "state": "\(refusal.state)", "detail": "\(refusal.detail)"]
                if refusal.kind == .permissionDenied {
                    logger.error("the AMI user may not run a resync action (manager.conf write classes)", metadata: metadata)
                } else {
                    logger.warning("Asterisk refused a resync action", metadata: metadata)
                }
            }
        }
    }

    private func noteStatus(_ status: AMIClientStateMachine.Status) {
        lastStatus = status
        let now = Timestamp.now()
        switch status {
        case .connected(let dialect):
            loggedInAt = now
            quiet = false
            logger.notice("logged in to AMI", metadata: ["dialect": "\(dialect.rawValue)", "host": "\(settings.ami.host):\(settings.ami.port)"])
        case .linkLost(let reason):
            if outageSince == nil { outageSince = now }
            for id in waiters.keys { fail(id, "the AMI link was lost before the answer: \(reason)") }
            logger.warning("AMI link lost", metadata: ["reason": "\(reason)"])
        case .loginRejected(let reason):
            for id in waiters.keys { fail(id, reason) }
            logger.error("AMI login rejected; not retrying for \(Self.retryAfterRejectedLoginSeconds) s", metadata: ["reason": "\(reason)"])
        case .awaitingBanner, .authenticating:
            logger.debug("AMI", metadata: ["status": "\(status)"])
        }
    }

    /// Call events go to the queue as they are; the state machine's `agent.status` events become
    /// reports (so heartbeats carry the state too), the reconnection one naming the outage window.
    private func enqueue(_ events: [CallEvent]) async {
        var calls: [CallEvent] = []
        for event in events {
            guard event.type == .agentStatus, let state = event.state else {
                calls.append(event)
                continue
            }
            if !calls.isEmpty { await append(.events(calls)) }
            calls = []
            var detail = event.detail ?? ""
            if state == "channelLimit" {
                logger.error("AMI call tracker over its channel limit", metadata: ["detail": "\(detail)"])
            }
            if state == "connected", let since = outageSince {
                detail += "; the link was down from \(since.iso8601) to \(event.at.iso8601) (\(since.seconds(until: event.at)) s), calls in progress are resynced"
                outageSince = nil
            }
            await append(.status(state: state, detail: detail, at: event.at))
        }
        if !calls.isEmpty { await append(.events(calls)) }
    }

    private func append(_ item: AMIEventQueue.Item) async {
        let logger = logger
        await queue.append(item) {
            logger.error("the spool is not keeping up: AMI reading paused until the event queue has room",
                         metadata: ["capacity": "\(Self.queueCapacity)"])
        }
    }

    private func fail(_ id: String, _ reason: String) {
        guard let waiter = waiters.removeValue(forKey: id) else { return }
        waiter.yield(AMIAnswer(failure: reason))
        waiter.finish()
    }

    /// Whether a received chunk holds an `Event:` line (a chunk boundary inside the word can
    /// only delay the liveness stamp to the next chunk).
    static func containsEvent(_ bytes: [UInt8]) -> Bool {
        let pattern: [UInt8] = Array("Event: ".utf8)
        guard bytes.count >= pattern.count else { return false }
        var index = 0
        while index <= bytes.count - pattern.count {
            if bytes[index] == pattern[0], (index == 0 || bytes[index - 1] == 0x0A),
               bytes[index..<(index + pattern.count)].elementsEqual(pattern) {
                return true
            }
            index += 1
        }
        return false
    }
}

/// The final answer to one action, or why none came (link lost, timeout, not logged in).
public struct AMIAnswer: Sendable {
    public var success: Bool
    public var message: String?
    /// Why Asterisk answered `Response: Error`; nil when it did not answer at all (link lost, timeout).
    public var refusal: AMIRefusal?
    public var headers: [AMIHeader]
    /// Command output lines, in either form Asterisk uses.
    public var output: [String]
    /// The entries of an EventList answer (SIPpeers, PJSIPShowEndpoints, ...).
    public var listEvents: [AMIMessage]

    init(_ result: AMIClientStateMachine.ActionResult) {
        success = result.success
        message = result.message
        refusal = result.refusal
        headers = result.headers
        output = result.output
        listEvents = result.listEvents
    }

    init(failure reason: String) {
        success = false
        message = reason
        refusal = nil
        headers = []
        output = []
        listEvents = []
    }
}
