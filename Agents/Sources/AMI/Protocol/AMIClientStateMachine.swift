import TamasEvents

/// The AMI connection protocol without a socket: banner, login (plain or MD5 challenge),
/// resync, keepalive, action/response matching and reconnect policy. The adapter around it
/// only opens sockets, writes `.send` bytes, feeds received bytes, calls `tick` every second
/// or so, and obeys `.reconnect`/`.close`.
public struct AMIClientStateMachine: Sendable {
    public enum Output: Hashable, Sendable {
        /// Write these bytes to the socket.
        case send([UInt8])
        /// Events for the spool (call, extension, recording, agent.status, line.unparsed).
        case events([CallEvent])
        case status(Status)
        /// Close the socket and connect again after this many milliseconds.
        case reconnect(afterMillis: Int64)
        /// Close the socket and do not reconnect (login rejected; `restart` to try again).
        case close
        /// The answer to an action sent with `send(_:now:)`.
        case result(ActionResult)
        /// Look for a call's recording by its ids (only with `searchRecordingsByUniqueid`); the
        /// adapter lists the folders away from the socket reader and emits `recording.available`.
        case searchRecording(AMIRecordingSearch)
        /// Logged in, but Asterisk refused one of the resync actions. Not a link state: the
        /// link stays up and the calls are still followed, only that list is missing.
        case refused(AMIRefusal)
    }

    public enum Status: Hashable, Sendable {
        case awaitingBanner
        case authenticating(AMIDialect)
        case connected(AMIDialect)
        case linkLost(reason: String)
        /// Terminal until `restart`: the server refused the credentials or the user lacks rights.
        case loginRejected(reason: String)
    }

    public struct ActionResult: Hashable, Sendable {
        public var actionID: String
        public var action: String
        public var success: Bool
        public var message: String?
        /// Why Asterisk answered `Response: Error`; nil when it did not (success, or no answer at all).
        public var refusal: AMIRefusal?
        /// The answer's headers in order (ListCommands names the permitted actions as keys).
        public var headers: [AMIHeader]
        /// Command output lines, in either form Asterisk uses.
        public var output: [String]
        /// The events of an EventList answer, up to and excluding the `...Complete` event.
        public var listEvents: [AMIMessage]
        /// False for the immediate answer of an async Originate; the `OriginateResponse` that
        /// tells whether the call was placed comes later as a final result.
        public var final: Bool
    }

    private enum Phase: Sendable {
        case idle
        case awaitingBanner(since: Timestamp)
        case authenticating(since: Timestamp)
        case loggedIn
        case waitingToReconnect
        case rejected
    }

    private enum Purpose: Sendable {
        case challenge, login, ping, resync, user
    }

    private struct Pending: Sendable {
        var name: String
        var purpose: Purpose
        var listEvents: [AMIMessage] = []
        var collecting = false
        var awaitingOriginateResponse = false
    }

    public let settings: AMISettings
    public private(set) var dialect: AMIDialect?
    public private(set) var tracker: AMICallTracker
    private var framer: AMIFramer
    private var phase = Phase.idle
    private var jitter: any RandomNumberGenerator & Sendable
    private var pending: [String: Pending] = [:]
    private var actionCounter = 0
    private var connectionNumber = 0
    private var failedAttempts = 0
    private var pingSentAt: Timestamp?
    private var pingActionID: String?
    private var lastPingAt: Timestamp?
    /// The resync actions of the latest resync that Asterisk refused, for `ami test`.
    public private(set) var resyncRefusals: [AMIRefusal] = []

    /// Events the client itself reads besides the tracker's: an async Originate's outcome and
    /// the restarts that call for a resync.
    public static let eventsRead: Set<String> = ["OriginateResponse", "OriginateSuccess", "OriginateFailure", "FullyBooted", "Reload"]

    public init(settings: AMISettings, jitter: some RandomNumberGenerator & Sendable) {
        self.settings = settings
        self.jitter = jitter
        tracker = AMICallTracker(settings: settings)
        framer = AMIFramer(droppedEvents: settings.framerDropList(dialect: nil))
    }

    public var isLoggedIn: Bool {
        if case .loggedIn = phase { return true }
        return false
    }

    // MARK: - Inputs from the adapter

    /// The TCP connection is up; Asterisk speaks first with its banner.
    public mutating func connected(now: Timestamp) -> [Output] {
        guard !isRejected else { return [.close] }
        connectionNumber += 1
        framer.reset()
        pending = [:]
        pingActionID = nil
        pingSentAt = nil
        phase = .awaitingBanner(since: now)
        return [.status(.awaitingBanner)]
    }

    public mutating func receive(_ bytes: [UInt8], now: Timestamp) -> [Output] {
        var outputs: [Output] = []
        var events: [CallEvent] = []
        for frame in framer.push(bytes) {
            handle(frame, now: now, outputs: &outputs, events: &events)
        }
        if !events.isEmpty { outputs.insert(.events(events), at: 0) }
        return outputs
    }

    /// Call about once a second: sends Ping when due and detects a dead link or a stuck login.
    public mutating func tick(now: Timestamp) -> [Output] {
        switch phase {
        case .awaitingBanner(let since), .authenticating(let since):
            guard since.seconds(until: now) >= settings.pingTimeoutSeconds else { return [] }
            return linkLost("no banner or login answer within \(settings.pingTimeoutSeconds) s", now: now)
        case .loggedIn:
            if let sent = pingSentAt {
                guard sent.seconds(until: now) >= settings.pingTimeoutSeconds else { return [] }
                return linkLost("no answer to Ping within \(settings.pingTimeoutSeconds) s", now: now)
            }
            var outputs = sweepLostHangups(now: now)
            guard (lastPingAt ?? now).seconds(until: now) >= settings.pingIntervalSeconds else { return outputs }
            let (id, bytes) = encode(AMIActions.ping(), purpose: .ping)
            pingActionID = id
            pingSentAt = now
            lastPingAt = now
            if let bytes { outputs.append(.send(bytes)) }
            return outputs
        case .idle, .waitingToReconnect, .rejected:
            return []
        }
    }

    /// Calls whose Hangup never came are closed by the tracker's sweep, but only while the link
    /// is up and no resync is in flight: silence during an outage says nothing about the calls,
    /// and the channel listing after a reconnect ends the ones that are gone.
    private mutating func sweepLostHangups(now: Timestamp) -> [Output] {
        guard !pending.values.contains(where: { $0.purpose == .resync }) else { return [] }
        let events = tracker.sweep(now: now)
        guard !events.isEmpty else { return [] }
        return [.events(events)] + tracker.takeRecordingSearches().map(Output.searchRecording)
    }

    /// The socket closed or failed (not by our `.close`).
    public mutating func connectionClosed(now: Timestamp) -> [Output] {
        switch phase {
        case .rejected, .waitingToReconnect: return []
        case .authenticating where pending.values.contains(where: { $0.purpose == .login }):
            // Asterisk sleeps a second then closes after a failed login; a close while the
            // Login is unanswered is most likely that, but without the answer it stays a retry.
            return linkLost("connection closed during login", now: now)
        default: return linkLost("connection closed by the server", now: now)
        }
    }

    /// The TCP connection could not be opened (refused, unreachable, name not found). Unlike
    /// `connectionClosed`, this also counts while waiting to reconnect, so repeated failures back off.
    public mutating func connectFailed(_ reason: String, now: Timestamp) -> [Output] {
        guard !isRejected else { return [.close] }
        return linkLost("cannot connect: \(reason)", now: now)
    }

    /// After a rejected login, once the settings were fixed.
    public mutating func restart() {
        phase = .idle
        failedAttempts = 0
    }

    /// Sends an action on behalf of the user (Command, click-to-call, spy). The answer comes
    /// back as `.result` with the returned ActionID.
    public mutating func send(_ action: AMIAction, now: Timestamp) -> (actionID: String?, outputs: [Output]) {
        guard isLoggedIn else {
            return (nil, [.result(ActionResult(actionID: "", action: action.name, success: false, message: "not logged in to AMI",
                                               refusal: nil, headers: [], output: [], listEvents: [], final: true))])
        }
        let (id, bytes) = encode(action, purpose: .user)
        guard let bytes else {
            return (nil, [.result(ActionResult(actionID: id, action: action.name, success: false, message: "action contains a line break",
                                               refusal: nil, headers: [], output: [], listEvents: [], final: true))])
        }
        return (id, [.send(bytes)])
    }

    /// Click-to-call with the technology the user's phone was seen with when `auto`.
    /// `autoAnswer` nil: as `originateAutoAnswer` says.
    public func clickToCall(userExtension: String, number: String, autoAnswer: Bool? = nil) throws(AMIActionError) -> AMIAction {
        try AMIClickToCall(userExtension: userExtension, number: number, technology: settings.channelTechnology,
                           context: settings.originateContext, timeoutSeconds: settings.originateTimeoutSeconds,
                           numberPlan: settings.numberPlan, channel: settings.originateChannel,
                           autoAnswerHeader: autoAnswer ?? settings.originateAutoAnswer ? settings.autoAnswerHeader : nil)
            .action(technologyFallback: technologyFallback(userExtension))
    }

    public func spy(_ mode: AMISpyMode, supervisor: String, target: String) throws(AMIActionError) -> AMIAction {
        try AMISpy(mode: mode, supervisorExtension: supervisor, targetExtension: target, technology: settings.channelTechnology)
            .action(dialect: currentDialect, supervisorTechnologyFallback: technologyFallback(supervisor),
                    targetTechnologyFallback: technologyFallback(target))
    }

    private func technologyFallback(_ number: String) -> AMIChannelTechnology {
        tracker.technology(ofExtension: number) ?? (currentDialect >= .v13plus ? .pjsip : .sip)
    }

    private var currentDialect: AMIDialect { dialect ?? AMIDialect(settings.version) ?? .v13plus }

    private var isRejected: Bool {
        if case .rejected = phase { return true }
        return false
    }

    // MARK: - Frames

    private mutating func handle(_ frame: AMIFrame, now: Timestamp, outputs: inout [Output], events: inout [CallEvent]) {
        switch frame {
        case .banner(_, let version):
            guard case .awaitingBanner = phase else { return }
            dialect = AMIDialect(settings.version) ?? AMIDialect(bannerVersion: version) ?? .v13plus
            framer.droppedEvents = settings.framerDropList(dialect: dialect)
            phase = .authenticating(since: now)
            outputs.append(.status(.authenticating(currentDialect)))
            let first = settings.authentication == .md5
                ? AMIActions.challenge()
                : AMIActions.login(username: settings.username, secret: settings.secret, events: settings.eventMask)
            sendInternal(first, purpose: settings.authentication == .md5 ? .challenge : .login, outputs: &outputs)
        case .unparsed(let raw, let reason):
            events.append(tracker.unparsed(raw, reason: reason, at: now))
        case .message(let message):
            if message.isEvent {
                event(message, now: now, outputs: &outputs, events: &events)
            } else if message.isResponse {
                response(message, now: now, outputs: &outputs, events: &events)
            } else {
                events.append(tracker.unparsed(message.wireText, reason: "AMI message without Event or Response", at: now))
            }
        }
    }

    private mutating func response(_ message: AMIMessage, now: Timestamp, outputs: inout [Output], events: inout [CallEvent]) {
        guard let id = message.actionID, var entry = pending[id] else { return }
        let success = message.value("response", is: "Success") || message.value("response", is: "Follows")
            || message.value("response", is: "Pong")
        let text = message["message"]
        switch entry.purpose {
        case .challenge:
            pending[id] = nil
            guard success, let challenge = message["challenge"] else {
                reject("MD5 challenge refused: \(text ?? "no challenge in the answer")", now: now, outputs: &outputs, events: &events)
                return
            }
            sendInternal(AMIActions.md5Login(username: settings.username, secret: settings.secret, challenge: challenge, events: settings.eventMask),
                         purpose: .login, outputs: &outputs)
        case .login:
            pending[id] = nil
            guard success else {
                reject("login rejected: \(text ?? "no reason given")", now: now, outputs: &outputs, events: &events)
                return
            }
            phase = .loggedIn
            failedAttempts = 0
            lastPingAt = now
            outputs.append(.status(.connected(currentDialect)))
            events.append(agentStatus("connected", detail: "AMI \(currentDialect.rawValue) as \(settings.username)", at: now))
            resync(outputs: &outputs)
        case .ping:
            pending[id] = nil
            if id == pingActionID {
                pingActionID = nil
                pingSentAt = nil
            }
        case .resync, .user:
            let refusal = success ? nil : AMIRefusal(action: entry.name, message: text, dialect: currentDialect)
            if let refusal, entry.purpose == .resync {
                pending[id] = nil
                resyncRefusals.append(refusal)
                outputs.append(.refused(refusal))
                events.append(agentStatus(refusal.state, detail: refusal.detail, at: now))
                return
            }
            if success, startsList(message) {
                entry.collecting = true
                pending[id] = entry
                return
            }
            let isAsyncOriginate = entry.name == "Originate" && success
            outputs.append(.result(ActionResult(actionID: id, action: entry.name, success: success, message: text, refusal: refusal,
                                                headers: message.pairs.map { AMIHeader($0.key, $0.value) },
                                                output: AMICommandOutput.lines(of: message), listEvents: [], final: !isAsyncOriginate)))
            if isAsyncOriginate {
                entry.awaitingOriginateResponse = true
                pending[id] = entry
            } else {
                pending[id] = nil
            }
        }
    }

    private mutating func event(_ message: AMIMessage, now: Timestamp, outputs: inout [Output], events: inout [CallEvent]) {
        if let id = message.actionID, var entry = pending[id] {
            if entry.awaitingOriginateResponse, let placed = Self.originateOutcome(message) {
                pending[id] = nil
                outputs.append(.result(ActionResult(actionID: id, action: entry.name, success: placed,
                                                    message: message["reason"].map { "reason \($0)" }, refusal: nil, headers: [],
                                                    output: [], listEvents: [], final: true)))
                return
            }
            if entry.collecting {
                if message.value("eventlist", is: "Complete") || (message.eventName?.hasSuffix("Complete") ?? false) {
                    pending[id] = nil
                    if entry.purpose == .user {
                        outputs.append(.result(ActionResult(actionID: id, action: entry.name, success: true, message: nil,
                                                            refusal: nil, headers: [], output: [], listEvents: entry.listEvents, final: true)))
                    }
                } else if entry.purpose == .user {
                    entry.listEvents.append(message)
                    pending[id] = entry
                }
            }
        }
        events.append(contentsOf: tracker.handle(message, now: now))
        outputs.append(contentsOf: tracker.takeRecordingSearches().map(Output.searchRecording))
        if isLoggedIn, message.eventName == "FullyBooted" || message.eventName == "Reload",
           !pending.values.contains(where: { $0.purpose == .resync }) {
            resync(outputs: &outputs)
        }
    }

    /// 1.6 added `EventList: start` to list answers; 1.4 only acknowledges with `Message: Peer
    /// status list will follow` (`Channel status will follow`, ...) and still ends the list with
    /// a `...Complete` event carrying the ActionID.
    private func startsList(_ message: AMIMessage) -> Bool {
        if message.value("eventlist", is: "start") { return true }
        return currentDialect == .v1_4 && (message["message"]?.hasSuffix("will follow") ?? false)
    }

    /// Whether an async Originate placed its call, if this event is its outcome. 1.6 merged
    /// 1.4's `OriginateSuccess` / `OriginateFailure` into `OriginateResponse` with `Response:`
    /// (1.4's manager.c fast_originate names the event by the outcome).
    private static func originateOutcome(_ message: AMIMessage) -> Bool? {
        switch message.eventName {
        case "OriginateResponse": message.value("response", is: "Success")
        case "OriginateSuccess": true
        case "OriginateFailure": false
        default: nil
        }
    }

    // MARK: - Helpers

    private mutating func resync(outputs: inout [Output]) {
        resyncRefusals = []
        for action in AMIActions.resync(dialect: currentDialect, technology: settings.channelTechnology) {
            if action.name == "CoreShowChannels" || action.name == "Status" { tracker.beginChannelResync() }
            sendInternal(action, purpose: .resync, outputs: &outputs)
        }
    }

    private mutating func sendInternal(_ action: AMIAction, purpose: Purpose, outputs: inout [Output]) {
        let (_, bytes) = encode(action, purpose: purpose)
        if let bytes { outputs.append(.send(bytes)) }
    }

    private mutating func encode(_ action: AMIAction, purpose: Purpose) -> (String, [UInt8]?) {
        actionCounter += 1
        let id = "tamas-\(connectionNumber)-\(actionCounter)"
        guard let bytes = try? action.encoded(actionID: id) else { return (id, nil) }
        pending[id] = Pending(name: action.name, purpose: purpose)
        return (id, bytes)
    }

    private mutating func reject(_ reason: String, now: Timestamp, outputs: inout [Output], events: inout [CallEvent]) {
        phase = .rejected
        outputs.append(.status(.loginRejected(reason: reason)))
        outputs.append(.close)
        events.append(agentStatus("loginRejected", detail: reason, at: now))
    }

    private mutating func linkLost(_ reason: String, now: Timestamp) -> [Output] {
        phase = .waitingToReconnect
        pending = [:]
        pingActionID = nil
        pingSentAt = nil
        let delay = reconnectDelayMillis()
        failedAttempts += 1
        return [
            .events([agentStatus("linkLost", detail: reason, at: now)]),
            .status(.linkLost(reason: reason)),
            .reconnect(afterMillis: delay),
        ]
    }

    /// Exponential from 1 s, capped at 60 s (PAINPOINTS #2: an uncapped backoff grew to a
    /// day), with the upper half jittered so many agents do not reconnect in lockstep.
    private mutating func reconnectDelayMillis() -> Int64 {
        let base = min(Self.maxBackoffMillis, Int64(1000) << Int64(min(failedAttempts, 16)))
        let half = base / 2
        // A plain multiply rather than `random(in:)`, whose rejection sampling could spin on a
        // degenerate jitter source; the bias of one 64-bit draw is irrelevant here.
        let fraction = Double(jitter.next() >> 11) / Double(1 << 53)
        return half + Int64(fraction * Double(half + 1)).clamped(to: 0...half)
    }

    static let maxBackoffMillis: Int64 = 60_000

    private func agentStatus(_ state: String, detail: String, at: Timestamp) -> CallEvent {
        CallEvent(eventId: StableID.make(settings.systemKey, "ami", "agent.status", state, detail, String(at.epochMillis)),
                  type: .agentStatus, systemKey: settings.systemKey, source: SourceName.ami.rawValue, at: at,
                  state: state, detail: detail)
    }
}

extension Int64 {
    func clamped(to range: ClosedRange<Int64>) -> Int64 { Swift.min(Swift.max(self, range.lowerBound), range.upperBound) }
}
