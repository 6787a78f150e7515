import TamasEvents

/// Which wire protocol the box or modem on the serial port speaks.
public enum CallerIDProtocol: String, Codable, Sendable, CaseIterable {
    /// Oj Segal (POSwareSystems) boxes: `L<line><code>…@` records.
    case segal
    /// Danjeh boxes: `L<line>…@` records with `hook-off`, `hook-on`, `Dialed`; only partly documented.
    case danjeh
    /// A voice/data modem in `AT+VCID=1` caller-ID mode (`RING`, `DATE =`, `TIME =`, `NMBR =`, `NAME =`).
    case modem
}

/// How to read the four digits after `T` in a Segal `HND` record (see docs/callerid.md).
public enum SegalDurationFormat: String, Codable, Sendable, CaseIterable {
    /// `T0257` = 2 min 57 s. The default: every value seen so far has its last two digits below 60.
    case minutesSeconds
    /// `T0257` = 257 s, the reading of the YasnaSDK code.
    case seconds
}

public struct CallerIDSettings: Codable, Hashable, Sendable {
    public var systemKey: String
    public var `protocol`: CallerIDProtocol
    public var numberPlan: NumberPlan
    /// Segal's "usage type" from the original settings dialog. Its values and effect are not
    /// documented anywhere we found, so it is carried as an opaque word and changes nothing.
    public var usageType: String
    /// The original product's "recording" (Telsa) setting, kept for parity with its settings
    /// dialog. The agent accepts it from its configuration, but nothing uses it yet: not the
    /// decoder, the agent or the collector. Recordings are linked to calls whenever a Telsa
    /// agent sends them for the same system key.
    public var recording: Bool
    /// A ringing call whose last ring (or caller-ID record) is older than this has stopped
    /// ringing without being answered. YasnaSDK uses a 10 s timer for the same purpose.
    public var ringTimeoutSeconds: Int
    /// A call that reaches this many rings without caller ID is announced without a number
    /// (caller ID normally arrives between the first and the third ring).
    public var callerIDWaitRings: Int
    /// Sent to a modem when the port opens and whenever the modem seems to have lost it.
    public var modemInitString: String
    public var segalDurationFormat: SegalDurationFormat

    public init(
        systemKey: String = "callerid", protocol: CallerIDProtocol = .segal, numberPlan: NumberPlan = NumberPlan(),
        usageType: String = "", recording: Bool = false, ringTimeoutSeconds: Int = 10, callerIDWaitRings: Int = 3,
        modemInitString: String = "AT+VCID=1", segalDurationFormat: SegalDurationFormat = .minutesSeconds
    ) {
        self.systemKey = systemKey
        self.protocol = `protocol`
        self.numberPlan = numberPlan
        self.usageType = usageType
        self.recording = recording
        self.ringTimeoutSeconds = ringTimeoutSeconds
        self.callerIDWaitRings = callerIDWaitRings
        self.modemInitString = modemInitString
        self.segalDurationFormat = segalDurationFormat
    }

    private enum CodingKeys: String, CodingKey {
        case systemKey, `protocol`, numberPlan, usageType, recording, ringTimeoutSeconds, callerIDWaitRings
        case modemInitString, segalDurationFormat
    }

    /// Every key is optional in a settings file; what is missing takes the default above.
    public init(from decoder: Decoder) throws {
        let defaults = CallerIDSettings()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        systemKey = try container.decodeIfPresent(String.self, forKey: .systemKey) ?? defaults.systemKey
        self.protocol = try container.decodeIfPresent(CallerIDProtocol.self, forKey: .protocol) ?? defaults.protocol
        numberPlan = try container.decodeIfPresent(NumberPlan.self, forKey: .numberPlan) ?? defaults.numberPlan
        usageType = try container.decodeIfPresent(String.self, forKey: .usageType) ?? defaults.usageType
        recording = try container.decodeIfPresent(Bool.self, forKey: .recording) ?? defaults.recording
        ringTimeoutSeconds = try container.decodeIfPresent(Int.self, forKey: .ringTimeoutSeconds) ?? defaults.ringTimeoutSeconds
        callerIDWaitRings = try container.decodeIfPresent(Int.self, forKey: .callerIDWaitRings) ?? defaults.callerIDWaitRings
        modemInitString = try container.decodeIfPresent(String.self, forKey: .modemInitString) ?? defaults.modemInitString
        segalDurationFormat = try container.decodeIfPresent(SegalDurationFormat.self, forKey: .segalDurationFormat)
            ?? defaults.segalDurationFormat
    }
}
