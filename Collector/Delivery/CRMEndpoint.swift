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
    /// PayamGostar and Zammad: the telephone system's number plan, which decides what the
    /// national form of a number is and how long an extension can be.
    public var numberPlan: NumberPlan?
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

    public init(numberFormat: NumberFormat? = nil, numberPlan: NumberPlan? = nil, registerPeers: Bool? = nil,
                userNames: [String: String]? = nil, includeInternalCalls: Bool? = nil, path: String? = nil, timeoutSeconds: Int? = nil,
                maxBackoffSeconds: Int? = nil, parallelCalls: Int? = nil) {
        self.numberFormat = numberFormat
        self.numberPlan = numberPlan
        self.registerPeers = registerPeers
        self.userNames = userNames
        self.includeInternalCalls = includeInternalCalls
        self.path = path
        self.timeoutSeconds = timeoutSeconds
        self.maxBackoffSeconds = maxBackoffSeconds
        self.parallelCalls = parallelCalls
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case numberFormat, numberPlan, registerPeers, userNames, includeInternalCalls, path, timeoutSeconds, maxBackoffSeconds,
             parallelCalls
    }

    /// The keys `NumberPlan` reads: its own decoder passes over any other, and in an operator's
    /// request a misspelt code must be refused, not dropped.
    static let numberPlanKeys = Set(Mirror(reflecting: NumberPlan()).children.compactMap(\.label))

    /// In an operator's request (`EndpointRequest.decode`) an option Tamas does not know is
    /// refused, naming it; options read back from the store are taken as they are.
    public init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        if EndpointRequest.isRequest(decoder) {
            try decoder.refuseUnknownKeys(Set(CodingKeys.allCases.map(\.stringValue)), kind: "option")
            if values.contains(.numberPlan), try !values.decodeNil(forKey: .numberPlan) {
                try values.superDecoder(forKey: .numberPlan).refuseUnknownKeys(Self.numberPlanKeys, kind: "number plan key")
            }
        }
        numberFormat = try values.decodeIfPresent(NumberFormat.self, forKey: .numberFormat)
        numberPlan = try values.decodeIfPresent(NumberPlan.self, forKey: .numberPlan)
        registerPeers = try values.decodeIfPresent(Bool.self, forKey: .registerPeers)
        userNames = try values.decodeIfPresent([String: String].self, forKey: .userNames)
        includeInternalCalls = try values.decodeIfPresent(Bool.self, forKey: .includeInternalCalls)
        path = try values.decodeIfPresent(String.self, forKey: .path)
        timeoutSeconds = try values.decodeIfPresent(Int.self, forKey: .timeoutSeconds)
        maxBackoffSeconds = try values.decodeIfPresent(Int.self, forKey: .maxBackoffSeconds)
        parallelCalls = try values.decodeIfPresent(Int.self, forKey: .parallelCalls)
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
    /// PayamGostar's user name (default `admin`); the other kinds refuse one.
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

    /// A value an operator gave that an endpoint cannot have; the description starts with the field.
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    func validated() throws -> EndpointDefinition {
        var clean = self
        clean.name = try EndpointRules.name(name)
        clean.url = try EndpointRules.url(url)
        clean.systemKeys = try EndpointRules.systemKeys(systemKeys)
        try EndpointRules.secret(secret, kind: kind)
        if let options { try EndpointRules.options(options) }
        clean.user = try EndpointRules.user(user, kind: kind)
        return clean
    }
}

/// The rules an endpoint's fields follow, the same whether they are given to `add` or to `edit`;
/// every refusal starts with the field it concerns.
enum EndpointRules {
    static func name(_ name: String) throws -> String {
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw EndpointDefinition.Invalid(description: "name: '\(name)' must be 1 to 64 letters, digits, '-', '_' or '.'")
        }
        return name
    }

    /// The address without a trailing slash, so paths append to it alike.
    static func url(_ url: String) throws -> String {
        guard let parsed = URLComponents(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = parsed.host, !host.isEmpty, parsed.query == nil, parsed.user == nil else {
            throw EndpointDefinition.Invalid(
                description: "url: the CRM address must be http://host[:port][/prefix] or https://…, without query or credentials")
        }
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// Sorted and without repeats.
    static func systemKeys(_ keys: [String]) throws -> [String] {
        guard !keys.isEmpty else { throw EndpointDefinition.Invalid(description: "systemKeys: an endpoint serves at least one system key") }
        if let bad = keys.first(where: { !SystemKey.isValid($0) }) {
            throw EndpointDefinition.Invalid(description: "systemKeys: '\(bad)': \(SystemKey.rule)")
        }
        return Array(Set(keys)).sorted()
    }

    static func secret(_ secret: String, kind: EndpointKind) throws {
        guard secret.isEmpty else { return }
        let what = switch kind {
        case .payamgostar: "password"
        case .zammad: "CTI token"
        case .webhook: "signing secret"
        }
        throw EndpointDefinition.Invalid(description: "secret: the \(what) is empty")
    }

    static func options(_ options: EndpointOptions) throws {
        if let path = options.path, !path.hasPrefix("/") {
            throw EndpointDefinition.Invalid(description: "options.path: the webhook path must start with '/', not '\(path)'")
        }
    }

    /// PayamGostar signs in as `admin` unless told otherwise; the other kinds have no user, and
    /// one given for them is refused, since the operator meant it to be used.
    static func user(_ user: String?, kind: EndpointKind) throws -> String? {
        guard kind == .payamgostar else {
            guard user == nil else {
                throw EndpointDefinition.Invalid(description: "user: only a PayamGostar endpoint signs in with a user name")
            }
            return nil
        }
        guard let user, !user.isEmpty else { return "admin" }
        return user
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
