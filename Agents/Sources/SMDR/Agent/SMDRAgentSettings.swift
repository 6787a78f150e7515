import AgentCore
import DeviceLink
import Foundation
import SMDRProtocol
import SerialPort
import TamasLink

/// The `smdr:` section of the agent's configuration file (docs/smdr.md, "Agent configuration").
public struct SMDRAgentSettings: Sendable {
    public enum Connection: Sendable {
        case serial(SerialSettings)
        case tcp(SMDRTCPSettings)
    }

    public var decoder: SMDRSettings
    public var connection: Connection

    public init(decoder: SMDRSettings, connection: Connection) {
        self.decoder = decoder
        self.connection = connection
    }

    public static func read(_ config: AgentConfig) throws -> SMDRAgentSettings {
        let section = try config.document.section("smdr")
        try section.rejectUnknownKeys(["model", "dateFormat", "timeZone", "ignoredExtensions", "ignoreZeroDuration",
                                       "groupWindowSeconds", "groupToleranceSeconds", "linkRetentionSeconds",
                                       "connection", "serial", "tcp"])
        let model = try section.string("model", oneOf: SMDRModel.allCases.map(\.rawValue), default: SMDRModel.auto.rawValue)
        let dateFormat = try section.string("dateFormat", oneOf: SMDRDateOrder.allCases.map(\.rawValue),
                                            default: SMDRDateOrder.auto.rawValue)
        // The agent runs beside the PBX, so the machine's zone is the likeliest to match its clock.
        let timeZone = try section.string("timeZone", default: TimeZone.current.identifier)
        guard TimeZone(identifier: timeZone) != nil else {
            throw section.error("timeZone", "unknown time zone '\(timeZone)' (use an IANA name such as Asia/Tehran)")
        }
        let decoder = SMDRSettings(
            systemKey: config.system.key,
            model: SMDRModel(rawValue: model) ?? .auto,
            dateFormat: SMDRDateOrder(rawValue: dateFormat) ?? .auto,
            timeZone: timeZone,
            numberPlan: config.system.numberPlan,
            ignoredExtensions: try section.stringList("ignoredExtensions"),
            ignoreZeroDuration: try section.bool("ignoreZeroDuration", default: false),
            groupWindowSeconds: try section.int("groupWindowSeconds", default: 600, range: 1...86_400),
            groupToleranceSeconds: try section.int("groupToleranceSeconds", default: 30, range: 0...3_600),
            linkRetentionSeconds: try section.int("linkRetentionSeconds", default: 4 * 3_600, range: 60...7 * 86_400))
        let connection: Connection
        switch try section.string("connection", oneOf: ["serial", "tcp"], default: section.has("tcp") ? "tcp" : "serial") {
        case "tcp":
            if section.has("serial") { throw section.error("serial", "connection is tcp: remove the serial section") }
            connection = .tcp(try SMDRTCPSettings.read(section.section("tcp")))
        default:
            if section.has("tcp") { throw section.error("tcp", "connection is serial: remove the tcp section") }
            connection = .serial(try SerialSection.read(section.section("serial")))
        }
        return SMDRAgentSettings(decoder: decoder, connection: connection)
    }

    public func makeLink() throws -> any DeviceLink {
        switch connection {
        case .serial(let settings): try SerialLink(settings: settings)
        case .tcp(let settings): SMDRTCPLink(settings: settings)
        }
    }
}

/// Where a networked PBX prints SMDR (KX-NS500/NSX, TDE/TDA with a LAN card) and how long to wait.
public struct SMDRTCPSettings: Sendable {
    public static let defaultPassword = "PCCSMDR"

    public var host: String
    public var port: Int
    public var password: String
    /// No byte for this long and the connection is presumed dead (a PBX rebooted behind a NAT
    /// says nothing): reconnect. 0 turns it off. SMDR is silent while nobody calls, so the
    /// default is long enough for a quiet office hour; TCP keepalive catches a vanished peer too.
    public var idleTimeoutSeconds: Int
    /// After `Rejected`: a wrong password does not fix itself, so wait this long before trying again.
    public var retryAfterRejectSeconds: Int

    public init(host: String, port: Int = 2300, password: String = SMDRTCPSettings.defaultPassword,
                idleTimeoutSeconds: Int = 3_600, retryAfterRejectSeconds: Int = 300) {
        self.host = host
        self.port = port
        self.password = password
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.retryAfterRejectSeconds = retryAfterRejectSeconds
    }

    static func read(_ section: ConfigSection) throws -> SMDRTCPSettings {
        try section.rejectUnknownKeys(["host", "port", "password", "idleTimeoutSeconds", "retryAfterRejectSeconds"])
        let password = try section.string("password", default: defaultPassword)
        if password != defaultPassword, Secrets.isExposed(path: section.file) {
            throw section.error("password", "this file holds the SMDR password but others can read it: chmod 600 \(section.file)")
        }
        return SMDRTCPSettings(
            host: try section.string("host"),
            port: try section.int("port", default: 2300, range: 1...65_535),
            password: password,
            idleTimeoutSeconds: try section.int("idleTimeoutSeconds", default: 3_600, range: 0...7 * 86_400),
            retryAfterRejectSeconds: try section.int("retryAfterRejectSeconds", default: 300, range: 10...86_400))
    }
}
