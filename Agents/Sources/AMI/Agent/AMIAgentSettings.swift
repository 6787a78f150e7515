import AMIProtocol
import AgentCore
import Foundation
import RemoteFiles
import TamasEvents
import TamasLink

/// The `ami:` section of the agent configuration: `AMISettings` plus what only the live agent
/// needs (when a silent link counts as quiet, where spy actions are audited).
public struct AMIAgentSettings: Sendable {
    public var ami: AMISettings
    /// No AMI event for this long while Pings are answered: the agent reports `quiet`.
    public var quietAfterSeconds: Int
    /// One JSON line per spy/whisper/barge: who, on whom, when, requested by whom.
    public var spyAuditLog: String
    /// How recordings are fetched from the Asterisk server; nil when downloads are off.
    public var recordingDownload: RemoteFilesSettings?
    /// How long after a hangup the recording folder is first searched for a call no channel
    /// variable named a recording for, and the wait before each of the retries: Asterisk may
    /// still be closing (or FreePBX converting) the file when the hangup arrives.
    public var recordingSearchDelaySeconds: Double

    public init(ami: AMISettings, quietAfterSeconds: Int = 300, spyAuditLog: String, recordingDownload: RemoteFilesSettings? = nil,
                recordingSearchDelaySeconds: Double = 10) {
        self.ami = ami
        self.quietAfterSeconds = quietAfterSeconds
        self.spyAuditLog = spyAuditLog
        self.recordingDownload = recordingDownload
        self.recordingSearchDelaySeconds = recordingSearchDelaySeconds
    }

    static let keys: Set<String> = [
        "host", "port", "username", "secret", "secretFile", "authentication", "version", "eventMask",
        "originateContext", "originateTimeoutSeconds", "originateChannel", "originateAutoAnswer", "autoAnswerHeader",
        "channelTechnology", "trunkPeers", "extensionPeers",
        "extensionDigitsMin", "extensionDigitsMax", "trunkContexts", "extensionContexts", "recordingEnabled",
        "recordingPath", "ignoredEvents", "pingIntervalSeconds", "pingTimeoutSeconds", "quietAfterSeconds", "spyAuditLog",
        "recordingDownload", "recordingSearchDelaySeconds", "staleCallHours", "maxTrackedChannels",
    ]

    /// Reads `ami:`; numbering (release code, country and city code) and the system key come from `system:`.
    public static func read(_ config: AgentConfig) throws -> AMIAgentSettings {
        let section = try config.document.section("ami")
        try section.rejectUnknownKeys(keys)
        let defaults = AMISettings()
        let rules = AMIChannelRules()
        func list(_ key: String, _ fallback: [String]) throws -> [String] {
            section.has(key) ? try section.stringList(key) : fallback
        }
        func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ fallback: T) throws -> T where T.RawValue == String {
            let text = try section.string(key, oneOf: T.allCases.map(\.rawValue), default: fallback.rawValue)
            return T(rawValue: text) ?? fallback
        }
        let digitsMin = try section.int("extensionDigitsMin", default: rules.extensionDigitsMin, range: AMIChannelRules.extensionDigitsRange)
        let digitsMax = try section.int("extensionDigitsMax", default: rules.extensionDigitsMax, range: AMIChannelRules.extensionDigitsRange)
        if let problem = AMIChannelRules.extensionDigitsProblem(min: digitsMin, max: digitsMax) {
            throw section.error("extensionDigitsMax", problem)
        }
        let originateChannel: AMIOriginateChannel = try choice("originateChannel", defaults.originateChannel)
        let autoAnswerHeader = try section.string("autoAnswerHeader", default: defaults.autoAnswerHeader)
        if let problem = AMIAutoAnswer.problem(autoAnswerHeader) { throw section.error("autoAnswerHeader", problem) }
        let originateAutoAnswer = try section.bool("originateAutoAnswer", default: defaults.originateAutoAnswer)
        if originateAutoAnswer, originateChannel == .local {
            throw section.error("originateAutoAnswer", "needs originateChannel: device; " + AMIAutoAnswer.notThroughLocal)
        }
        let channelTechnology: AMIChannelTechnology = try choice("channelTechnology", defaults.channelTechnology)
        if originateAutoAnswer, channelTechnology == .iax2 {
            throw section.error("originateAutoAnswer", "auto-answer is a SIP header; IAX2 phones cannot be asked for it")
        }
        let settings = AMISettings(
            systemKey: config.system.key,
            host: try section.string("host", default: defaults.host),
            port: try section.int("port", default: defaults.port, range: 1...65535),
            username: try section.string("username"),
            secret: try readSecret(section),
            authentication: try choice("authentication", defaults.authentication),
            version: try choice("version", defaults.version),
            eventMask: try section.string("eventMask", default: defaults.eventMask),
            originateContext: try section.string("originateContext", default: defaults.originateContext),
            originateTimeoutSeconds: try section.int("originateTimeoutSeconds", default: defaults.originateTimeoutSeconds, range: 5...300),
            originateChannel: originateChannel, originateAutoAnswer: originateAutoAnswer, autoAnswerHeader: autoAnswerHeader,
            channelTechnology: channelTechnology,
            numberPlan: config.system.numberPlan,
            channelRules: AMIChannelRules(
                trunkPeers: try list("trunkPeers", rules.trunkPeers), extensionPeers: try list("extensionPeers", rules.extensionPeers),
                extensionDigitsMin: digitsMin, extensionDigitsMax: digitsMax,
                trunkContexts: try list("trunkContexts", rules.trunkContexts),
                extensionContexts: try list("extensionContexts", rules.extensionContexts)),
            recordingEnabled: try section.bool("recordingEnabled", default: defaults.recordingEnabled),
            recordingPath: try section.string("recordingPath", default: defaults.recordingPath),
            pingIntervalSeconds: try section.int("pingIntervalSeconds", default: defaults.pingIntervalSeconds, range: 1...3600),
            pingTimeoutSeconds: try section.int("pingTimeoutSeconds", default: defaults.pingTimeoutSeconds, range: 1...600),
            ignoredEvents: try list("ignoredEvents", defaults.ignoredEvents),
            staleCallHours: try section.int("staleCallHours", default: defaults.staleCallHours, range: 1...168),
            maxTrackedChannels: try section.int("maxTrackedChannels", default: defaults.maxTrackedChannels, range: 100...1_000_000))
        let spoolFolder = URL(fileURLWithPath: config.spool.path).deletingLastPathComponent().path
        return AMIAgentSettings(
            ami: settings,
            quietAfterSeconds: try section.int("quietAfterSeconds", default: 300, range: 1...86_400),
            spyAuditLog: try section.string("spyAuditLog", default: spoolFolder + "/ami-spy-audit.log"),
            recordingDownload: try AMIRecordingDownloadSettings.read(section.section("recordingDownload"), amiHost: settings.host,
                                                                    dataFolder: spoolFolder),
            recordingSearchDelaySeconds: try section.double("recordingSearchDelaySeconds", default: 10, range: 0...600))
    }

    /// The AMI secret, inline (then the config file must be private) or from its own private file.
    static func readSecret(_ section: ConfigSection) throws -> String {
        if let inline = try section.optionalString("secret") {
            if Secrets.isExposed(path: section.file) {
                throw section.error("secret", "this file holds the AMI secret but others can read it: chmod 600 \(section.file)")
            }
            return inline
        }
        guard let secretFile = try section.optionalString("secretFile") else {
            throw section.error("secret", "is required (or secretFile): the AMI user's secret from manager.conf")
        }
        guard let text = try? String(contentsOfFile: secretFile, encoding: .utf8) else {
            throw section.error("secretFile", "cannot read \(secretFile)")
        }
        if Secrets.isExposed(path: secretFile) {
            throw section.error("secretFile", "\(secretFile) can be read by others: chmod 600 it")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
