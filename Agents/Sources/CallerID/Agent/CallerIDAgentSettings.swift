import AgentCore
import CallerIDProtocol
import DeviceLink
import SerialPort

/// The `cid:` section of the agent's configuration file (docs/callerid.md, "Agent configuration").
public struct CallerIDAgentSettings: Sendable {
    /// The SDKs set no speed for Segal boxes; this is the agent's default, not a documented one.
    public static let defaultBaud = 115_200

    public var decoder: CallerIDSettings
    public var serial: SerialSettings

    public init(decoder: CallerIDSettings, serial: SerialSettings) {
        self.decoder = decoder
        self.serial = serial
    }

    public static func read(_ config: AgentConfig) throws -> CallerIDAgentSettings {
        let section = try config.document.section("cid")
        try section.rejectUnknownKeys(["protocol", "usageType", "recording", "ringTimeoutSeconds", "callerIDWaitRings",
                                       "modemInitString", "segalDurationFormat", "serial"])
        let protocolName = try section.string("protocol", oneOf: CallerIDProtocol.allCases.map(\.rawValue), default: "segal")
        let durationFormat = try section.string(
            "segalDurationFormat", oneOf: SegalDurationFormat.allCases.map(\.rawValue), default: SegalDurationFormat.minutesSeconds.rawValue)
        let initString = try section.string("modemInitString", default: "AT+VCID=1")
        guard initString.allSatisfy({ $0.isASCII && !$0.isNewline }) else {
            throw section.error("modemInitString", "must be one line of plain ASCII (the agent adds the CR)")
        }
        let decoder = CallerIDSettings(
            systemKey: config.system.key,
            protocol: CallerIDProtocol(rawValue: protocolName) ?? .segal,
            numberPlan: config.system.numberPlan,
            usageType: try section.string("usageType", default: ""),
            recording: try section.bool("recording", default: false),
            ringTimeoutSeconds: try section.int("ringTimeoutSeconds", default: 10, range: 2...600),
            callerIDWaitRings: try section.int("callerIDWaitRings", default: 3, range: 1...20),
            modemInitString: initString,
            segalDurationFormat: SegalDurationFormat(rawValue: durationFormat) ?? .minutesSeconds)
        let serial = try SerialSection.read(section.section("serial"), defaultBaud: defaultBaud)
        return CallerIDAgentSettings(decoder: decoder, serial: serial)
    }
}
