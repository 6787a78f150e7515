import TamasEvents

/// A value the connector keeps between deliveries, stored durably by the outbox.
public protocol ConnectorStateValue: Codable, Hashable, Sendable {
    init()
}

/// The durable per-endpoint value of a connector that needs none.
public struct NoSession: ConnectorStateValue {
    public init() {}
}

/// The durable per-(endpoint, call) value of a connector that needs none.
public struct NoCallState: ConnectorStateValue {
    public init() {}
}

/// One delivery of one event to one CRM endpoint, as a sans-I/O state machine.
///
/// The driver (outbox, HTTP client, timers: written elsewhere) creates a machine with the
/// endpoint settings, the event, the call after the event was applied, and the two durable
/// values it stored last time, calls `start(now:)`, sends every `.send` plan and feeds back what
/// came back with `received(_:now:)` until a final action arrives, then persists the values
/// that action carries. `callState` and `session` may also be read at any time for an
/// intermediate checkpoint (e.g. right after a create succeeded).
public protocol CRMConnector: Sendable {
    associatedtype Settings: Sendable
    associatedtype CallState: ConnectorStateValue
    associatedtype Session: ConnectorStateValue

    init(settings: Settings, event: CallEvent, call: CallRecord?, callState: CallState, session: Session)

    var callState: CallState { get }
    var session: Session { get }

    mutating func start(now: Timestamp) -> ConnectorAction<CallState, Session>
    mutating func received(_ outcome: HTTPOutcome, now: Timestamp) -> ConnectorAction<CallState, Session>
}
