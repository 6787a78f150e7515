import ConnectorKit
import Foundation
import TamasEvents

/// Delivers one event to one PayamGostar endpoint through the telephony REST v1 API, as the
/// AloVoIP integration does it: CallCreate when the call is first seen, a channel per extension
/// and trunk, channel updates on answer and hang-up, CallUpdate at the end.
public struct PayamGostarDelivery: CRMConnector {
    public typealias Action = ConnectorAction<PayamGostarCallState, PayamGostarSession>

    private enum Awaiting: Hashable, Sendable {
        case nothing
        case token
        case step(PayamGostarStep)
    }

    static let authPath = "/api/v1/auth"
    static let callPath = "/api/v1/telephony/call"
    static let channelPath = "/api/v1/telephony/channel"
    /// Used when the token answer has no `expires_in`; AloVoIP's adapter signs in hourly.
    static let assumedTokenLifetimeSeconds = 3600
    /// A larger `expires_in` is taken as this: a token is renewed at least monthly whatever the server says.
    static let longestTrustedTokenLifetimeSeconds = 30 * 86_400

    public let settings: PayamGostarSettings
    public let event: CallEvent
    public private(set) var callState: PayamGostarCallState
    public private(set) var session: PayamGostarSession
    private let plan: PayamGostarCallPlan?
    private let unplannable: String?
    private var awaiting = Awaiting.nothing
    private var renewedAfterUnauthorized = false

    public init(settings: PayamGostarSettings, event: CallEvent, call: CallRecord?,
                callState: PayamGostarCallState, session: PayamGostarSession) {
        self.settings = settings
        self.event = event
        self.callState = callState
        self.session = session
        let record = call ?? CallAssembler.apply(event, to: nil)
        switch (record, record?.direction) {
        case (nil, _):
            plan = nil
            unplannable = nil
        case (let record?, nil):
            plan = nil
            unplannable = "call \(record.callId) has no direction, so PayamGostar's call type cannot be chosen"
        case (let record?, let direction?):
            plan = PayamGostarCallPlan(tsKey: event.systemKey, call: record, direction: direction, settings: settings,
                                       firstSeen: event.at)
            unplannable = nil
        }
    }

    public mutating func start(now: Timestamp) -> Action {
        if let unplannable {
            return .rejected(status: 0, reason: unplannable, bodyExcerpt: "", callState: callState, session: session)
        }
        return proceed(now: now)
    }

    public mutating func received(_ outcome: HTTPOutcome, now: Timestamp) -> Action {
        let expected = awaiting
        awaiting = .nothing
        switch expected {
        case .nothing:
            return .retry(reason: "a response arrived while no request was outstanding", afterSeconds: nil,
                          callState: callState, session: session)
        case .token:
            return receivedToken(outcome, now: now)
        case .step(let step):
            return received(outcome, for: step, now: now)
        }
    }

    private mutating func proceed(now: Timestamp) -> Action {
        guard let plan, let step = plan.nextStep(state: callState, session: session) else {
            return .done(callState: callState, session: session)
        }
        guard session.hasUsableToken(at: now, marginSeconds: settings.tokenRenewalMarginSeconds) else {
            return requestToken()
        }
        awaiting = .step(step)
        return .send(request(for: step))
    }

    private mutating func requestToken() -> Action {
        awaiting = .token
        let form = FormEncoding.encode([
            ("username", settings.userName), ("password", settings.password), ("grant_type", "password"),
        ])
        return .send(HTTPRequestPlan(
            method: .post, path: Self.authPath,
            headers: [HTTPHeader("Content-Type", "application/x-www-form-urlencoded")],
            body: form, timeoutSeconds: settings.requestTimeoutSeconds, bodyIsSecret: true))
    }

    private mutating func receivedToken(_ outcome: HTTPOutcome, now: Timestamp) -> Action {
        switch ResponseClass.of(outcome, now: now) {
        case .success:
            guard case .response(let response) = outcome,
                  let token = WireJSON.decode(AccessTokenResult.self, from: response.body), !token.accessToken.isEmpty else {
                return .retry(reason: "PayamGostar's sign-in answer has no access_token", afterSeconds: nil,
                              callState: callState, session: session)
            }
            session.accessToken = token.accessToken
            let lifetime = min(max(token.expiresIn ?? Self.assumedTokenLifetimeSeconds, 0), Self.longestTrustedTokenLifetimeSeconds)
            session.expiresAt = now.adding(seconds: lifetime)
            return proceed(now: now)
        case .transient(let reason, let after):
            return .retry(reason: "sign-in: \(reason)", afterSeconds: after, callState: callState, session: session)
        case .unauthorized, .forbidden, .invalid:
            forgetToken()
            return .authFailed(reason: Self.signInRefusal(outcome), callState: callState, session: session)
        }
    }

    /// The public client maps sign-in 401 to invalid credentials and 403 to "locked out"; an
    /// OAuth2 server answers a wrong password with 400 `invalid_grant`. None of them gets better
    /// by retrying with the same password, and any other 4xx means the address is wrong.
    private static func signInRefusal(_ outcome: HTTPOutcome) -> String {
        guard case .response(let response) = outcome else { return "PayamGostar refused the sign-in" }
        switch response.status {
        case 400, 401: return "PayamGostar refused the user name or password (HTTP \(response.status) from /api/v1/auth)"
        case 403: return "PayamGostar says this user is locked out (HTTP 403 from /api/v1/auth)"
        default: return "PayamGostar's sign-in address answered HTTP \(response.status): check the CRM address"
        }
    }

    private mutating func forgetToken() {
        session.accessToken = nil
        session.expiresAt = nil
    }

    private mutating func received(_ outcome: HTTPOutcome, for step: PayamGostarStep, now: Timestamp) -> Action {
        if case .lookUpPeer(let peer) = step, case .response(let response) = outcome, response.status == 404 {
            awaiting = .step(.createPeer(peer))
            return .send(request(for: .createPeer(peer)))
        }
        switch ResponseClass.of(outcome, now: now) {
        case .success:
            guard case .response(let response) = outcome else { return proceed(now: now) }
            if let unreadable = apply(step, answer: response.body) {
                return .rejected(status: response.status, reason: unreadable, bodyExcerpt: excerpt(response.body),
                                 callState: callState, session: session)
            }
            return proceed(now: now)
        case .unauthorized:
            forgetToken()
            guard !renewedAfterUnauthorized else {
                return .authFailed(reason: "PayamGostar refused a freshly issued token (HTTP 401 on \(Self.name(of: step)))",
                                   callState: callState, session: session)
            }
            renewedAfterUnauthorized = true
            return requestToken()
        case .forbidden:
            return .authFailed(reason: "PayamGostar forbids this user \(Self.name(of: step)) (HTTP 403)",
                               callState: callState, session: session)
        case .transient(let reason, let after):
            if case .createCall = step { callState.unconfirmedCreateAttempts += 1 }
            return .retry(reason: "\(Self.name(of: step)): \(reason)", afterSeconds: after, callState: callState, session: session)
        case .invalid(let status):
            guard case .response(let response) = outcome else { return proceed(now: now) }
            return .rejected(status: status, reason: "PayamGostar refused \(Self.name(of: step))",
                             bodyExcerpt: excerpt(response.body), callState: callState, session: session)
        }
    }

    /// Records what a successful answer tells us; returns why it could not be read, if so.
    private mutating func apply(_ step: PayamGostarStep, answer body: Data) -> String? {
        switch step {
        case .lookUpPeer(let peer), .createPeer(let peer):
            session.registeredPeers.insert(PayamGostarSession.registrationKey(tsKey: event.systemKey, peer: peer))
        case .createCall(let model, let initPeer):
            guard let result = WireJSON.decode(CallCreateResult.self, from: body) else {
                callState.unconfirmedCreateAttempts += 1
                return "CallCreate succeeded but its answer has no CallId/InitChannelId"
            }
            callState.callId = result.callId
            callState.identityId = result.identityId
            callState.possibleDuplicateCalls += callState.unconfirmedCreateAttempts
            callState.unconfirmedCreateAttempts = 0
            callState.channels.append(ChannelProgress(
                peer: initPeer, callChannelId: result.initChannelId, status: model.isLive ? .ringing : .hangUp))
        case .createChannel(let model, let peer):
            guard let result = WireJSON.decode(CallChannelCreateResult.self, from: body) else {
                return "channel create succeeded but its answer has no CallChannelId"
            }
            callState.channels.append(ChannelProgress(peer: peer, callChannelId: result.callChannelId, status: model.channelStatusIndex))
        case .updateChannel(let model, let peer, let recordingRef):
            guard let index = callState.channels.firstIndex(where: { $0.peer == peer }) else { return nil }
            callState.channels[index].status = model.channelStatusIndex
            callState.channels[index].response = model.channelResponseIndex
            callState.channels[index].recordingRef = recordingRef
        case .updateCall:
            callState.closed = true
        }
        return nil
    }

    private func request(for step: PayamGostarStep) -> HTTPRequestPlan {
        let tsKey = FormEncoding.pathSegment(event.systemKey)
        switch step {
        case .lookUpPeer(let peer):
            return plan(.get, "/api/v1/telephony/\(tsKey)/peer/\(FormEncoding.pathSegment(peer.name))", body: nil as String?)
        case .createPeer(let peer):
            return plan(.post, "/api/v1/telephony/\(tsKey)/peer",
                        body: TelephonySystemPeerModel(id: nil, name: peer.name, userId: nil, telephonySystemPeerType: peer.type))
        case .createCall(let model, _):
            return plan(.post, Self.callPath, body: model)
        case .createChannel(let model, _):
            return plan(.post, Self.channelPath, body: model)
        case .updateChannel(let model, _, _):
            return plan(.put, Self.channelPath, body: model)
        case .updateCall(let model):
            return plan(.put, Self.callPath, body: model)
        }
    }

    private func plan<Body: Encodable>(_ method: HTTPMethod, _ path: String, body: Body?) -> HTTPRequestPlan {
        var headers = [HTTPHeader("Authorization", "Bearer \(session.accessToken ?? "")")]
        var bytes = Data()
        if let body {
            headers.append(HTTPHeader("Content-Type", "application/json"))
            bytes = WireJSON.encode(body)
        }
        return HTTPRequestPlan(method: method, path: path, headers: headers, body: bytes, timeoutSeconds: settings.requestTimeoutSeconds)
    }

    private func excerpt(_ body: Data) -> String {
        BodyExcerpt.make(body, hiding: [settings.password, session.accessToken ?? ""])
    }

    static func name(of step: PayamGostarStep) -> String {
        switch step {
        case .lookUpPeer(let peer): "looking up peer \(peer.name)"
        case .createPeer(let peer): "creating peer \(peer.name)"
        case .createCall: "CallCreate"
        case .createChannel(_, let peer): "creating the channel of \(peer.name)"
        case .updateChannel(_, let peer, _): "updating the channel of \(peer.name)"
        case .updateCall: "CallUpdate"
        }
    }
}
