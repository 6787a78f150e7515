import ConnectorKit
import Crypto
import Foundation
import TamasEvents

public struct WebhookSettings: Sendable, Hashable, CustomStringConvertible {
    /// Appended to the endpoint base URL; `/` posts to the base URL itself.
    public var path: String
    /// Shared with the receiver; signs every request.
    public var secret: String
    public var requestTimeoutSeconds: Int

    public init(path: String = "/", secret: String, requestTimeoutSeconds: Int = 15) {
        self.path = path
        self.secret = secret
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }

    public var description: String { "WebhookSettings(path: \(path), secret: <redacted>)" }
}

/// The JSON document a webhook receives (docs/webhook.md).
public struct WebhookPayload: Codable, Hashable, Sendable {
    public var event: CallEvent
    /// The call after this event was applied; absent for events that belong to no call.
    public var call: CallRecord?

    public init(event: CallEvent, call: CallRecord?) {
        self.event = event
        self.call = call
    }
}

/// `X-Tamas-Signature`: HMAC-SHA256 with the shared secret over `<timestamp>.<body bytes>`.
public enum WebhookSignature {
    public static let headerPrefix = "sha256="

    public static func sign(body: Data, timestamp: Int64, secret: String) -> String {
        var message = Data("\(timestamp).".utf8)
        message.append(body)
        return headerPrefix + hmacHex(message: message, secret: secret)
    }

    /// Lower-case hex HMAC-SHA256 of `message` keyed with the UTF-8 bytes of `secret`.
    public static func hmacHex(message: Data, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }
}

/// One signed POST per event; the receiver deduplicates by `Idempotency-Key` (the eventId).
public struct WebhookDelivery: CRMConnector {
    public typealias Action = ConnectorAction<NoCallState, NoSession>

    public let settings: WebhookSettings
    public let event: CallEvent
    public let call: CallRecord?
    public let callState = NoCallState()
    public let session = NoSession()
    private var sent = false

    public init(settings: WebhookSettings, event: CallEvent, call: CallRecord?, callState: NoCallState, session: NoSession) {
        self.settings = settings
        self.event = event
        self.call = call
    }

    /// Signs with `now`, so a retry carries a fresh timestamp and passes the receiver's replay window.
    public mutating func start(now: Timestamp) -> Action {
        sent = true
        let body = WireJSON.encode(WebhookPayload(event: event, call: call))
        let timestamp = now.epochSeconds
        return .send(HTTPRequestPlan(
            method: .post, path: settings.path,
            headers: [
                HTTPHeader("Content-Type", "application/json"),
                HTTPHeader("Idempotency-Key", event.eventId),
                HTTPHeader("X-Tamas-Timestamp", String(timestamp)),
                HTTPHeader("X-Tamas-Signature", WebhookSignature.sign(body: body, timestamp: timestamp, secret: settings.secret)),
            ],
            body: body, timeoutSeconds: settings.requestTimeoutSeconds))
    }

    public mutating func received(_ outcome: HTTPOutcome, now: Timestamp) -> Action {
        guard sent else {
            return .retry(reason: "a response arrived while no request was outstanding", afterSeconds: nil,
                          callState: callState, session: session)
        }
        sent = false
        switch ResponseClass.of(outcome, now: now) {
        case .success:
            return .done(callState: callState, session: session)
        case .unauthorized, .forbidden:
            let status = if case .response(let response) = outcome { response.status } else { 0 }
            return .authFailed(reason: "the webhook receiver refused our signature (HTTP \(status)): check the shared secret",
                               callState: callState, session: session)
        case .transient(let reason, let after):
            return .retry(reason: reason, afterSeconds: after, callState: callState, session: session)
        case .invalid(let status):
            let body = if case .response(let response) = outcome { response.body } else { Data() }
            return .rejected(status: status, reason: "the webhook receiver refused the event",
                             bodyExcerpt: BodyExcerpt.make(body, hiding: [settings.secret]), callState: callState, session: session)
        }
    }
}
