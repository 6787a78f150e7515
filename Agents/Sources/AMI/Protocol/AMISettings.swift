import TamasEvents

/// Which AMI dialect to speak and read. `auto` takes it from the banner's protocol version.
public enum AMIVersionSetting: String, Codable, Sendable, CaseIterable {
    case auto
    case v1_4 = "1.4"
    case v1_8 = "1.8"
    case v11 = "11"
    case v13plus = "13+"
}

/// The dialect actually in use once known.
public enum AMIDialect: String, Codable, Sendable, CaseIterable, Comparable {
    case v1_4 = "1.4"
    case v1_8 = "1.8"
    case v11 = "11"
    case v13plus = "13+"

    private var rank: Int {
        switch self {
        case .v1_4: 0
        case .v1_8: 1
        case .v11: 2
        case .v13plus: 3
        }
    }

    public static func < (lhs: AMIDialect, rhs: AMIDialect) -> Bool { lhs.rank < rhs.rank }

    /// FACTS.md section 1: 1.4 sends `1.0`, 1.8 `1.1`, 11 `1.3` (10 sent `1.2`), 12 and later `2.x` and up.
    public init?(bannerVersion: String) {
        let parts = bannerVersion.split(separator: ".")
        guard let major = parts.first.flatMap({ Int($0) }) else { return nil }
        let minor = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        switch (major, minor) {
        case (1, 0): self = .v1_4
        case (1, 1): self = .v1_8
        case (1, _): self = .v11
        default: self = major >= 2 ? .v13plus : .v1_4
        }
    }

    public init?(_ setting: AMIVersionSetting) {
        switch setting {
        case .auto: return nil
        case .v1_4: self = .v1_4
        case .v1_8: self = .v1_8
        case .v11: self = .v11
        case .v13plus: self = .v13plus
        }
    }
}

public enum AMIChannelTechnology: String, Codable, Sendable, CaseIterable {
    /// Use the technology the extension's own channels were seen with, else PJSIP on 13+ and SIP before.
    case auto
    case sip = "SIP"
    case pjsip = "PJSIP"
    case iax2 = "IAX2"
}

/// What click-to-call rings first.
public enum AMIOriginateChannel: String, Codable, Sendable, CaseIterable {
    /// The extension's phone itself, `<TECH>/<ext>`: exactly one device.
    case device
    /// `Local/<ext>@<originateContext>`: whatever the dialplan does for a call to the extension,
    /// so every phone of the user rings, follow-me and ring groups included.
    case local
}

public enum AMIAuthentication: String, Codable, Sendable, CaseIterable {
    /// `Secret:` in clear text, what every manager.conf accepts.
    case plain
    /// `Action: Challenge` then `Key: md5(challenge + secret)`; the secret never crosses the wire.
    case md5
}

/// How a channel is told to be a trunk (outside line) or an office extension.
///
/// Checked in this order: explicit trunk peers, explicit extension peers, the extension peer
/// name rule (a peer named by 3 to 5 digits, as FreePBX/Elastix/Issabel name devices), the
/// channel's first dialplan context (`from-trunk`, `from-pstn`, ... for trunks, `from-internal`
/// for phones). A channel matching nothing is a trunk: an unknown device dialing in from
/// outside is far more common than an office phone with a non-numeric name, and such phones can
/// be listed in `extensionPeers`.
public struct AMIChannelRules: Codable, Hashable, Sendable {
    /// Peer names (the part between `TECH/` and the last `-`) that are always trunks; a trailing `*` matches a prefix.
    public var trunkPeers: [String]
    /// Peer names that are always extensions; a trailing `*` matches a prefix.
    public var extensionPeers: [String]
    public var extensionDigitsMin: Int
    public var extensionDigitsMax: Int
    public var trunkContexts: [String]
    public var extensionContexts: [String]

    public init(
        trunkPeers: [String] = [], extensionPeers: [String] = [],
        extensionDigitsMin: Int = 3, extensionDigitsMax: Int = 5,
        trunkContexts: [String] = ["from-trunk", "from-pstn", "from-did-direct", "ext-did", "from-sip-external", "from-trunk-sip", "from-zaptel", "from-dahdi"],
        extensionContexts: [String] = ["from-internal", "from-internal-xfer", "ext-local", "macro-dial-one", "from-internal-noxfer"]
    ) {
        self.trunkPeers = trunkPeers
        self.extensionPeers = extensionPeers
        self.extensionDigitsMin = extensionDigitsMin
        self.extensionDigitsMax = extensionDigitsMax
        self.trunkContexts = trunkContexts
        self.extensionContexts = extensionContexts
    }

    /// The lengths a digit-only peer name of an extension can have.
    public static let extensionDigitsRange = 1...12

    /// Why `min...max` cannot be the extension digit range, or nil: with the shortest above the
    /// longest no peer name would ever be an extension, and the classifier would say so nowhere.
    public static func extensionDigitsProblem(min: Int, max: Int) -> String? {
        guard extensionDigitsRange.contains(min), extensionDigitsRange.contains(max) else {
            return "digit counts must be 1 to 12 (got \(min) and \(max))"
        }
        guard min <= max else { return "the shortest (\(min) digits) is longer than the longest (\(max))" }
        return nil
    }

    /// Missing keys take their defaults, so `{"trunkPeers": ["sipgate*"]}` keeps the default contexts.
    public init(from decoder: any Decoder) throws {
        let defaults = AMIChannelRules()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        trunkPeers = try container.decode(.trunkPeers, default: defaults.trunkPeers)
        extensionPeers = try container.decode(.extensionPeers, default: defaults.extensionPeers)
        extensionDigitsMin = try container.decode(.extensionDigitsMin, default: defaults.extensionDigitsMin)
        extensionDigitsMax = try container.decode(.extensionDigitsMax, default: defaults.extensionDigitsMax)
        trunkContexts = try container.decode(.trunkContexts, default: defaults.trunkContexts)
        extensionContexts = try container.decode(.extensionContexts, default: defaults.extensionContexts)
        if let problem = Self.extensionDigitsProblem(min: extensionDigitsMin, max: extensionDigitsMax) {
            throw DecodingError.dataCorruptedError(forKey: .extensionDigitsMax, in: container,
                                                   debugDescription: "extensionDigitsMin/extensionDigitsMax: \(problem)")
        }
    }
}

/// One Asterisk system's AMI settings (SPEC.md section 4). Every field has a default so a
/// settings file only names what differs.
public struct AMISettings: Codable, Hashable, Sendable {
    public var systemKey: String
    public var host: String
    public var port: Int
    public var username: String
    public var secret: String
    public var authentication: AMIAuthentication
    public var version: AMIVersionSetting
    /// `on`, `off` or a class list such as `call,system,agent,dialplan` (Login's `Events:`).
    public var eventMask: String
    public var originateContext: String
    public var originateTimeoutSeconds: Int
    public var originateChannel: AMIOriginateChannel
    /// Ask the user's phone to answer a click-to-call by itself, unless a request says otherwise.
    public var originateAutoAnswer: Bool
    /// The SIP header that asks for it; phones differ (docs/asterisk.md, "Actions").
    public var autoAnswerHeader: String
    public var channelTechnology: AMIChannelTechnology
    public var numberPlan: NumberPlan
    public var channelRules: AMIChannelRules
    public var recordingEnabled: Bool
    public var recordingPath: String
    /// When no channel variable names a call's recording, ask for a search of `recordingPath`
    /// by the call's ids (`AMIRecordingSearch`). Only worth it where someone lists the folder:
    /// the live agent sets it when `recordingDownload` is configured.
    public var searchRecordingsByUniqueid: Bool
    public var pingIntervalSeconds: Int
    public var pingTimeoutSeconds: Int
    /// Events the tracker has no use for, discarded by the framer right after their `Event:` line.
    public var ignoredEvents: [String]
    /// A call none of whose channels had an event for this long is closed as if hung up: its
    /// Hangup was lost (PAINPOINTS #9). 12 h is far beyond any office call (a bridged call sends
    /// nothing until its hangup, so this is also the longest call kept open) and still closes a
    /// leaked call within the working day it belongs to.
    public var staleCallHours: Int
    /// At most this many channels are tracked; beyond it the least recently active calls are
    /// closed, so a flood of channels whose Hangups never come cannot exhaust memory. Twenty
    /// thousand is about ten times the concurrent channels of the largest single Asterisk box.
    public var maxTrackedChannels: Int

    /// What busy servers send most and the tracker never reads (FOP2 tells its users to filter the same).
    public static let defaultIgnoredEvents = [
        "Newexten", "RTCPSent", "RTCPReceived", "AGIExec", "AsyncAGI", "AsyncAGIExec", "ChannelUpdate",
        "NewAccountCode", "NewCallerid", "NewConnectedLine", "Registry", "VarSet", "HangupRequest",
        "SoftHangupRequest", "DTMF", "DTMFBegin", "DTMFEnd", "MusicOnHoldStart", "MusicOnHoldStop",
        "ChanSpyStart", "ChanSpyStop", "CEL", "SuccessfulAuth", "ChallengeSent", "InvalidPassword",
        "RequestBadFormat", "SIPRinging", "UserEvent", "BridgeCreate", "BridgeDestroy", "BridgeMerge",
        "MonitorStart", "MonitorStop", "LocalOptimizationBegin", "LocalOptimizationEnd", "NewPeerAccount",
    ]

    public init(
        systemKey: String = "asterisk", host: String = "127.0.0.1", port: Int = 5038,
        username: String = "", secret: String = "", authentication: AMIAuthentication = .plain,
        version: AMIVersionSetting = .auto, eventMask: String = "on",
        originateContext: String = "from-internal", originateTimeoutSeconds: Int = 30,
        originateChannel: AMIOriginateChannel = .device, originateAutoAnswer: Bool = false,
        autoAnswerHeader: String = AMIAutoAnswer.defaultHeader,
        channelTechnology: AMIChannelTechnology = .auto, numberPlan: NumberPlan = NumberPlan(),
        channelRules: AMIChannelRules = AMIChannelRules(), recordingEnabled: Bool = true,
        recordingPath: String = "/var/spool/asterisk/monitor", searchRecordingsByUniqueid: Bool = false,
        pingIntervalSeconds: Int = 20, pingTimeoutSeconds: Int = 10,
        ignoredEvents: [String] = AMISettings.defaultIgnoredEvents,
        staleCallHours: Int = 12, maxTrackedChannels: Int = 20_000
    ) {
        self.systemKey = systemKey
        self.host = host
        self.port = port
        self.username = username
        self.secret = secret
        self.authentication = authentication
        self.version = version
        self.eventMask = eventMask
        self.originateContext = originateContext
        self.originateTimeoutSeconds = originateTimeoutSeconds
        self.originateChannel = originateChannel
        self.originateAutoAnswer = originateAutoAnswer
        self.autoAnswerHeader = autoAnswerHeader
        self.channelTechnology = channelTechnology
        self.numberPlan = numberPlan
        self.channelRules = channelRules
        self.recordingEnabled = recordingEnabled
        self.recordingPath = recordingPath
        self.searchRecordingsByUniqueid = searchRecordingsByUniqueid
        self.pingIntervalSeconds = pingIntervalSeconds
        self.pingTimeoutSeconds = pingTimeoutSeconds
        self.ignoredEvents = ignoredEvents
        self.staleCallHours = staleCallHours
        self.maxTrackedChannels = maxTrackedChannels
    }

    /// Missing keys take their defaults, so `{"host": "10.0.0.5", "secret": "x"}` is a valid file.
    public init(from decoder: Decoder) throws {
        let defaults = AMISettings()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        systemKey = try container.decode(.systemKey, default: defaults.systemKey)
        host = try container.decode(.host, default: defaults.host)
        port = try container.decode(.port, default: defaults.port)
        username = try container.decode(.username, default: defaults.username)
        secret = try container.decode(.secret, default: defaults.secret)
        authentication = try container.decode(.authentication, default: defaults.authentication)
        version = try container.decode(.version, default: defaults.version)
        eventMask = try container.decode(.eventMask, default: defaults.eventMask)
        originateContext = try container.decode(.originateContext, default: defaults.originateContext)
        originateTimeoutSeconds = try container.decode(.originateTimeoutSeconds, default: defaults.originateTimeoutSeconds)
        originateChannel = try container.decode(.originateChannel, default: defaults.originateChannel)
        originateAutoAnswer = try container.decode(.originateAutoAnswer, default: defaults.originateAutoAnswer)
        autoAnswerHeader = try container.decode(.autoAnswerHeader, default: defaults.autoAnswerHeader)
        channelTechnology = try container.decode(.channelTechnology, default: defaults.channelTechnology)
        numberPlan = try container.decode(.numberPlan, default: defaults.numberPlan)
        channelRules = try container.decode(.channelRules, default: defaults.channelRules)
        recordingEnabled = try container.decode(.recordingEnabled, default: defaults.recordingEnabled)
        recordingPath = try container.decode(.recordingPath, default: defaults.recordingPath)
        searchRecordingsByUniqueid = try container.decode(.searchRecordingsByUniqueid, default: defaults.searchRecordingsByUniqueid)
        pingIntervalSeconds = try container.decode(.pingIntervalSeconds, default: defaults.pingIntervalSeconds)
        pingTimeoutSeconds = try container.decode(.pingTimeoutSeconds, default: defaults.pingTimeoutSeconds)
        ignoredEvents = try container.decode(.ignoredEvents, default: defaults.ignoredEvents)
        staleCallHours = try container.decode(.staleCallHours, default: defaults.staleCallHours)
        maxTrackedChannels = try container.decode(.maxTrackedChannels, default: defaults.maxTrackedChannels)
    }

    /// The events the framer may drop: the configured list, minus VarSet while recordings are
    /// looked up (MIXMONITOR_FILENAME and CALLFILENAME arrive as VarSet), minus Newexten on 1.4,
    /// whose Newchannel does not say what number a phone dialed.
    public func framerDropList(dialect: AMIDialect?) -> Set<String> {
        var names = Set(ignoredEvents)
        if recordingEnabled { names.remove("VarSet") }
        if (dialect ?? AMIDialect(version)) == .v1_4 { names.remove("Newexten") }
        return names
    }
}
