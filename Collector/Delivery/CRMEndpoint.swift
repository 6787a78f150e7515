import ConnectorKit
import Foundation
import TamasEvents

/// The CRM products Tamas has a connector for.
public enum EndpointKind: String, Codable, Sendable, CaseIterable {
    case payamgostar, webhook, zammad

    /// Which stored events this kind of endpoint is sent: a webhook gets every event of its
    /// systems, PayamGostar the call events and late recordings, Zammad only call events.
    func accepts(_ type: EventType, hasCall: Bool) -> Bool {
        switch self {
        case .webhook: true
        case .payamgostar: type.isCallEvent || (type == .recordingAvailable && hasCall)
        case .zammad: type.isCallEvent
        }
    }
}

/// Kind-specific settings that are not secret (stored as JSON beside the endpoint).
public struct EndpointOptions: Codable, Hashable, Sendable {
    /// PayamGostar and Zammad: how phone numbers are written.
    public var numberFormat: NumberFormat?
    /// PayamGostar: create extensions and trunks seen in calls as peers.
    public var registerPeers: Bool?
    /// Zammad: extension → the Zammad user's name for `user[]`.
    public var userNames: [String: String]?
    /// Zammad: also send internal calls.
    public var includeInternalCalls: Bool?
    /// Webhook: appended to the base URL.
    public var path: String?
    /// Per request.
    public var timeoutSeconds: Int?
    /// The longest wait between two attempts while the CRM fails.
    public var maxBackoffSeconds: Int?
    /// Calls delivered at once; the events of one call always go one after another, in order.
    /// 1 sends everything in arrival order.
    public var parallelCalls: Int?

    public init(numberFormat: NumberFormat? = nil, registerPeers: Bool? = nil, userNames: [String: String]? = nil,
                includeInternalCalls: Bool? = nil, path: String? = nil, timeoutSeconds: Int? = nil, maxBackoffSeconds: Int? = nil,
                parallelCalls: Int? = nil) {
        self.numberFormat = numberFormat
        self.registerPeers = registerPeers
        self.userNames = userNames
        self.includeInternalCalls = includeInternalCalls
        self.path = path
        self.timeoutSeconds = timeoutSeconds
        self.maxBackoffSeconds = maxBackoffSeconds
        self.parallelCalls = parallelCalls
    }

    static let defaultTimeoutSeconds = 15
    static let defaultMaxBackoffSeconds = 60

    var effectiveTimeoutSeconds: Int { min(max(timeoutSeconds ?? Self.defaultTimeoutSeconds, 1), 300) }
    var effectiveMaxBackoffSeconds: Int { min(max(maxBackoffSeconds ?? Self.defaultMaxBackoffSeconds, 1), 3600) }

}

/// What an operator gives to add an endpoint (`POST /api/v1/crm`).
public struct EndpointDefinition: Codable, Sendable {
    public var name: String
    public var kind: EndpointKind
    public var url: String
    /// PayamGostar's user name (default `admin`); unused by the other kinds.
    public var user: String?
    /// PayamGostar's password, Zammad's CTI token or the webhook's signing secret.
    public var secret: String
    public var systemKeys: [String]
    public var options: EndpointOptions?

    public init(name: String, kind: EndpointKind, url: String, user: String?, secret: String, systemKeys: [String],
                options: EndpointOptions?) {
        self.name = name
        self.kind = kind
        self.url = url
        self.user = user
        self.secret = secret
        self.systemKeys = systemKeys
        self.options = options
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    func validated() throws -> EndpointDefinition {
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw Invalid(description: "endpoint name '\(name)' must be 1 to 64 letters, digits, '-', '_' or '.'")
        }
        guard let parsed = URLComponents(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = parsed.host, !host.isEmpty, parsed.query == nil, parsed.user == nil else {
            throw Invalid(description: "the CRM address must be http://host[:port][/prefix] or https://…, without query or credentials")
        }
        guard !systemKeys.isEmpty else { throw Invalid(description: "an endpoint serves at least one system key") }
        if let bad = systemKeys.first(where: { !SystemKey.isValid($0) }) {
            throw Invalid(description: "system key '\(bad)': \(SystemKey.rule)")
        }
        guard !secret.isEmpty else {
            throw Invalid(description: "the \(kind == .payamgostar ? "password" : kind == .zammad ? "CTI token" : "signing secret") is empty")
        }
        if let path = options?.path, !path.hasPrefix("/") { throw Invalid(description: "the webhook path must start with '/'") }
        var clean = self
        clean.systemKeys = Array(Set(systemKeys)).sorted()
        clean.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        if kind == .payamgostar, (user ?? "").isEmpty { clean.user = "admin" }
        return clean
    }
}

/// An endpoint as the workers use it: everything needed to build a connector, secret included.
struct EndpointConfiguration: Sendable {
    var id: Int64
    var name: String
    var kind: EndpointKind
    var baseURL: String
    var user: String?
    var secret: String
    /// The stored (sealed) secret this configuration was read with: an attempt that failed with
    /// it must not mark the endpoint "auth failed" after an operator already entered a new one.
    var sealedSecret: Data
    var options: EndpointOptions
    var paused: Bool
    var authFailure: String?

    /// Several calls at once only where a repeated request cannot make a second record: a webhook
    /// carries an idempotency key, but a PayamGostar CallCreate (or a Zammad newCall) whose answer
    /// is lost in a crash is sent again, and the more are in flight the more a crash can double.
    var parallelCalls: Int {
        min(max(options.parallelCalls ?? (kind == .webhook ? 4 : 1), 1), 16)
    }
}
