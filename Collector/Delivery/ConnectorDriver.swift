import ConnectorKit
import Foundation
import PayamGostarConnector
import TamasEvents
import WebhookConnector
import ZammadConnector

/// How one delivery ended, with what the outbox must do about it.
enum DeliveryVerdict: Sendable, Equatable {
    case done
    case retry(reason: String, afterSeconds: Int?)
    case authFailed(reason: String)
    case rejected(status: Int, reason: String, excerpt: String)
}

/// The connector's durable values, encoded: the per-call state and the per-endpoint session.
struct DeliveryCheckpoint: Sendable, Equatable {
    var callState: Data
    var session: Data
}

/// One event for one endpoint, with the values stored after the last delivery of that call.
struct DeliveryJob: Sendable {
    var event: CallEvent
    var call: CallRecord?
    var callState: Data?
    var session: Data?
}

protocol RequestSending: Sendable {
    func send(_ plan: HTTPRequestPlan) async -> HTTPOutcome
}

/// Runs any connector's state machine to its final action over a transport, saving the
/// connector's values after every step that changed them: a call PayamGostar created is
/// remembered even if the collector dies before the delivery finishes. The final values come
/// back only when they differ from what is stored (nil: nothing to write, e.g. every webhook).
protocol DeliveryDriving: Sendable {
    func deliver(_ job: DeliveryJob, over transport: any RequestSending,
                 checkpoint: @Sendable (DeliveryCheckpoint) async throws -> Void) async throws -> (DeliveryVerdict, DeliveryCheckpoint?)
}

struct ConnectorDriver<Connector: CRMConnector>: DeliveryDriving {
    let settings: Connector.Settings
    /// A connector that keeps asking for more is a bug; the delivery is retried rather than looping forever.
    static var stepLimit: Int { 200 }

    func deliver(_ job: DeliveryJob, over transport: any RequestSending,
                 checkpoint: @Sendable (DeliveryCheckpoint) async throws -> Void) async throws -> (DeliveryVerdict, DeliveryCheckpoint?) {
        let decoder = JSONDecoder()
        let callState = try job.callState.map { try decoder.decode(Connector.CallState.self, from: $0) } ?? Connector.CallState()
        let session = try job.session.map { try decoder.decode(Connector.Session.self, from: $0) } ?? Connector.Session()
        var machine = Connector(settings: settings, event: job.event, call: job.call, callState: callState, session: session)
        var saved = try Self.encode(callState, session)
        func unsaved(_ state: Connector.CallState, _ session: Connector.Session) throws -> DeliveryCheckpoint? {
            let final = try Self.encode(state, session)
            return final == saved ? nil : final
        }
        var action = machine.start(now: Self.now())
        for _ in 0..<Self.stepLimit {
            switch action {
            case .send(let plan):
                let outcome = await transport.send(plan)
                action = machine.received(outcome, now: Self.now())
                if !action.isFinal {
                    let current = try Self.encode(machine.callState, machine.session)
                    if current != saved {
                        try await checkpoint(current)
                        saved = current
                    }
                }
            case .done(let state, let session):
                return (.done, try unsaved(state, session))
            case .retry(let reason, let after, let state, let session):
                return (.retry(reason: reason, afterSeconds: after), try unsaved(state, session))
            case .authFailed(let reason, let state, let session):
                return (.authFailed(reason: reason), try unsaved(state, session))
            case .rejected(let status, let reason, let excerpt, let state, let session):
                return (.rejected(status: status, reason: reason, excerpt: excerpt), try unsaved(state, session))
            }
        }
        return (.retry(reason: "the connector did not finish within \(Self.stepLimit) requests", afterSeconds: nil),
                try unsaved(machine.callState, machine.session))
    }

    static func now() -> Timestamp { Timestamp(date: Date()) }

    static func encode(_ state: Connector.CallState, _ session: Connector.Session) throws -> DeliveryCheckpoint {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return DeliveryCheckpoint(callState: try encoder.encode(state), session: try encoder.encode(session))
    }
}

extension EndpointConfiguration {
    /// The connector for this endpoint's kind, with its settings.
    func driver() -> any DeliveryDriving {
        let timeout = options.effectiveTimeoutSeconds
        let numberPlan = options.numberPlan ?? NumberPlan()
        switch kind {
        case .payamgostar:
            return ConnectorDriver<PayamGostarDelivery>(settings: PayamGostarSettings(
                userName: user ?? "admin", password: secret, numberPlan: numberPlan, numberFormat: options.numberFormat ?? .national,
                registerPeers: options.registerPeers ?? false, requestTimeoutSeconds: timeout))
        case .webhook:
            return ConnectorDriver<WebhookDelivery>(settings: WebhookSettings(
                path: options.path ?? "/", secret: secret, requestTimeoutSeconds: timeout))
        case .zammad:
            return ConnectorDriver<ZammadDelivery>(settings: ZammadSettings(
                token: secret, userNames: options.userNames ?? [:], numberPlan: numberPlan, numberFormat: options.numberFormat ?? .e164Digits,
                includeInternalCalls: options.includeInternalCalls ?? false, requestTimeoutSeconds: timeout))
        }
    }
}
