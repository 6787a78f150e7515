import ConnectorKit
import TamasEvents

public struct PayamGostarSettings: Sendable, Hashable, CustomStringConvertible {
    public var userName: String
    public var password: String
    public var numberPlan: NumberPlan
    /// `PhoneNumber` as PayamGostar users store it: national (`0912…`) unless the endpoint says otherwise.
    public var numberFormat: NumberFormat
    /// Create extensions and trunks seen in calls as PayamGostar peers (off: peers are entered by hand
    /// or PayamGostar's own "register new lines" does it).
    public var registerPeers: Bool
    public var requestTimeoutSeconds: Int
    /// A token is renewed this long before PayamGostar said it expires.
    public var tokenRenewalMarginSeconds: Int

    public init(userName: String, password: String, numberPlan: NumberPlan = NumberPlan(), numberFormat: NumberFormat = .national,
                registerPeers: Bool = false, requestTimeoutSeconds: Int = 15, tokenRenewalMarginSeconds: Int = 60) {
        self.userName = userName
        self.password = password
        self.numberPlan = numberPlan
        self.numberFormat = numberFormat
        self.registerPeers = registerPeers
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.tokenRenewalMarginSeconds = tokenRenewalMarginSeconds
    }

    public var description: String {
        "PayamGostarSettings(userName: \(userName), password: <redacted>, numberFormat: \(numberFormat.rawValue), registerPeers: \(registerPeers))"
    }
}

/// An extension or trunk as PayamGostar names it.
public struct PeerKey: Codable, Hashable, Sendable {
    public var name: String
    public var type: TelephonySystemPeerType

    public init(name: String, type: TelephonySystemPeerType) {
        self.name = name
        self.type = type
    }
}

/// What PayamGostar has been told about one channel of the call.
public struct ChannelProgress: Codable, Hashable, Sendable {
    public var peer: PeerKey
    public var callChannelId: Int64
    public var status: ChannelStatus
    public var response: ChannelResponse?
    /// The ref of the recording PayamGostar was given for this channel. What was sent may be a
    /// link minted at send time, which differs on every send; the ref says whether it is news.
    public var recordingRef: String?

    public init(peer: PeerKey, callChannelId: Int64, status: ChannelStatus, response: ChannelResponse? = nil,
                recordingRef: String? = nil) {
        self.peer = peer
        self.callChannelId = callChannelId
        self.status = status
        self.response = response
        self.recordingRef = recordingRef
    }

    /// `recordedFileName`: the name states stored before links existed, when the ref was what was sent.
    enum CodingKeys: String, CodingKey {
        case peer, callChannelId, status, response, recordingRef = "recordedFileName"
    }
}

/// Per (endpoint, call): PayamGostar's own ids for our call, so every later event and every
/// retry updates the call it created instead of creating another.
public struct PayamGostarCallState: ConnectorStateValue {
    public var callId: Int64?
    public var identityId: String?
    public var channels: [ChannelProgress]
    public var closed: Bool
    /// CallCreate attempts whose answer never arrived (timeout, reset, 5xx): PayamGostar may have
    /// created the call anyway, and it offers no lookup by SourceId to find out.
    public var unconfirmedCreateAttempts: Int
    /// How many calls PayamGostar may hold for this one beyond the one we track; shown to operators.
    public var possibleDuplicateCalls: Int

    public init() {
        channels = []
        closed = false
        unconfirmedCreateAttempts = 0
        possibleDuplicateCalls = 0
    }

    func channel(for peer: PeerKey) -> ChannelProgress? { channels.first { $0.peer == peer } }
}

/// Per endpoint: the bearer token (a secret: never printed) and the peers already registered.
public struct PayamGostarSession: ConnectorStateValue, CustomStringConvertible {
    public var accessToken: String?
    public var expiresAt: Timestamp?
    /// `<TsKey>/<peer type>/<name>` of peers known to exist in PayamGostar.
    public var registeredPeers: Set<String>

    public init() {
        registeredPeers = []
    }

    func hasUsableToken(at now: Timestamp, marginSeconds: Int) -> Bool {
        guard let accessToken, !accessToken.isEmpty, let expiresAt else { return false }
        return now.adding(seconds: marginSeconds) < expiresAt
    }

    static func registrationKey(tsKey: String, peer: PeerKey) -> String {
        "\(tsKey)/\(peer.type == .extension ? "Extension" : "Trunk")/\(peer.name)"
    }

    public var description: String {
        "PayamGostarSession(token: \(accessToken == nil ? "none" : "<redacted>"), expiresAt: \(expiresAt?.iso8601 ?? "-"), registeredPeers: \(registeredPeers.sorted()))"
    }
}
