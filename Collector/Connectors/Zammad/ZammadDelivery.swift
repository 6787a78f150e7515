import ConnectorKit
import Foundation
import TamasEvents

public struct ZammadSettings: Sendable, Hashable, CustomStringConvertible {
    /// The instance-specific token of Zammad's generic CTI endpoint `/api/v1/cti/{token}`: a secret.
    public var token: String
    /// Extension → Zammad user's real name, sent as `user` (who was rung / who dialled).
    public var userNames: [String: String]
    public var numberPlan: NumberPlan
    /// Zammad's own examples use E.164 digits without `+`.
    public var numberFormat: NumberFormat
    /// Zammad's caller log knows only in/out; internal calls are sent as `out` when this is on.
    public var includeInternalCalls: Bool
    public var requestTimeoutSeconds: Int

    public init(token: String, userNames: [String: String] = [:], numberPlan: NumberPlan = NumberPlan(),
                numberFormat: NumberFormat = .e164Digits, includeInternalCalls: Bool = false, requestTimeoutSeconds: Int = 15) {
        self.token = token
        self.userNames = userNames
        self.numberPlan = numberPlan
        self.numberFormat = numberFormat
        self.includeInternalCalls = includeInternalCalls
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }

    public var description: String { "ZammadSettings(token: <redacted>, users: \(userNames.count), numberFormat: \(numberFormat.rawValue))" }
}

/// Which CTI events Zammad already has for this call: Zammad creates a second log entry for a
/// repeated `newCall` and fails an `answer`/`hangup` whose `newCall` it never saw.
public struct ZammadCallState: ConnectorStateValue {
    public var sentNewCall = false
    public var sentAnswer = false
    public var sentHangup = false

    public init() {}
}

public enum ZammadCTIEvent: String, Hashable, Sendable {
    case newCall, answer, hangup
}

/// Zammad's generic CTI push API: `newCall`, `answer`, `hangup` as form fields.
public struct ZammadDelivery: CRMConnector {
    public typealias Action = ConnectorAction<ZammadCallState, NoSession>

    public let settings: ZammadSettings
    public let event: CallEvent
    public private(set) var callState: ZammadCallState
    public let session = NoSession()
    private let call: CallRecord?
    private var awaiting: ZammadCTIEvent?

    public init(settings: ZammadSettings, event: CallEvent, call: CallRecord?, callState: ZammadCallState, session: NoSession) {
        self.settings = settings
        self.event = event
        self.call = call ?? CallAssembler.apply(event, to: nil)
        self.callState = callState
    }

    public mutating func start(now: Timestamp) -> Action {
        guard let call else { return .done(callState: callState, session: session) }
        guard let direction = call.direction else {
            return .rejected(status: 0, reason: "call \(call.callId) has no direction; Zammad needs in or out",
                             bodyExcerpt: "", callState: callState, session: session)
        }
        if direction == .internal, !settings.includeInternalCalls { return .done(callState: callState, session: session) }
        return next(call: call, direction: direction)
    }

    public mutating func received(_ outcome: HTTPOutcome, now: Timestamp) -> Action {
        guard let sent = awaiting, let call, let direction = call.direction else {
            return .retry(reason: "a response arrived while no request was outstanding", afterSeconds: nil,
                          callState: callState, session: session)
        }
        awaiting = nil
        switch ResponseClass.of(outcome, now: now) {
        case .success:
            switch sent {
            case .newCall: callState.sentNewCall = true
            case .answer: callState.sentAnswer = true
            case .hangup: callState.sentHangup = true
            }
            return next(call: call, direction: direction)
        case .unauthorized, .forbidden:
            return .authFailed(reason: "Zammad refused the CTI token (\(sent.rawValue)): check the CTI endpoint token",
                               callState: callState, session: session)
        case .transient(let reason, let after):
            return .retry(reason: "\(sent.rawValue): \(reason)", afterSeconds: after, callState: callState, session: session)
        case .invalid(let status):
            let body = if case .response(let response) = outcome { response.body } else { Data() }
            return .rejected(status: status, reason: "Zammad refused \(sent.rawValue)",
                             bodyExcerpt: BodyExcerpt.make(body, hiding: [settings.token]), callState: callState, session: session)
        }
    }

    /// A call first seen late (an SMDR outgoing line is known only at its end) still gets every
    /// event Zammad needs, in order: newCall, answer when it was answered, hangup.
    private mutating func next(call: CallRecord, direction: Direction) -> Action {
        let cti: ZammadCTIEvent
        if !callState.sentNewCall {
            cti = .newCall
        } else if !callState.sentAnswer, call.phase >= .answered, call.answeredAt != nil || call.disposition == .answered {
            cti = .answer
        } else if !callState.sentHangup, call.phase == .ended {
            cti = .hangup
        } else {
            return .done(callState: callState, session: session)
        }
        awaiting = cti
        return .send(HTTPRequestPlan(
            method: .post, path: "/api/v1/cti/\(FormEncoding.pathSegment(settings.token))",
            headers: [HTTPHeader("Content-Type", "application/x-www-form-urlencoded")],
            body: FormEncoding.encode(fields(cti, call: call, direction: direction)),
            timeoutSeconds: settings.requestTimeoutSeconds, pathForLogs: "/api/v1/cti/<token>"))
    }

    func fields(_ cti: ZammadCTIEvent, call: CallRecord, direction: Direction) -> [(String, String)] {
        var fields: [(String, String)] = [
            ("event", cti.rawValue),
            ("from", number(call.from)),
            ("to", number(call.to)),
            ("direction", direction == .inbound ? "in" : "out"),
            ("callId", call.callId),
        ]
        let users: [String] = switch (cti, direction) {
        case (.newCall, .inbound): call.extensions.compactMap { settings.userNames[$0] }
        case (_, .inbound): [call.answeredBy].compactMap { $0.flatMap { settings.userNames[$0] } }
        default: [call.extension ?? call.extensions.first].compactMap { $0.flatMap { settings.userNames[$0] } }
        }
        fields += users.map { ("user[]", $0) }
        if cti != .newCall, let answeredBy = call.answeredBy, direction == .inbound {
            fields.append(("answeringNumber", answeredBy))
        }
        if cti == .hangup { fields.append(("cause", Self.cause(of: call))) }
        return fields
    }

    private func number(_ normalized: String?) -> String {
        guard let normalized else { return "anonymous" }
        return settings.numberFormat.format(normalized, plan: settings.numberPlan)
    }

    /// Zammad's hangup causes (generic CTI docs) for our dispositions.
    static func cause(of call: CallRecord) -> String {
        switch call.disposition {
        case .answered?: call.transferredTo == nil ? "normalClearing" : "forwarded"
        case .missed?, .cancelled?: "cancel"
        case .busy?: "busy"
        case .noAnswer?: "noAnswer"
        case .failed?: "congestion"
        case nil: call.answeredAt == nil ? "cancel" : "normalClearing"
        }
    }
}
