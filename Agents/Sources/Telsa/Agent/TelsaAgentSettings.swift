import AgentCore
import Foundation
import TelsaProtocol

/// The `telsa:` section of an agent's configuration (docs/telsa.md, "Agent configuration").
public struct TelsaAgentSettings: Sendable {
    /// How changes in the Telsa folder are noticed.
    public enum Watch: String, Sendable, CaseIterable {
        /// inotify plus a slow full rescan; plain polling where inotify cannot work.
        case auto
        /// inotify only where it starts; refuses to start otherwise.
        case inotify
        /// A full listing every `pollIntervalSeconds`.
        case polling
    }

    /// The folder Telsa writes into (holding `record/` and, in full mode, `Archive/`).
    public var root: String
    public var watch: Watch
    public var pollIntervalSeconds: Double
    /// With inotify: the safety-net full rescan, for events the kernel dropped or never saw.
    public var rescanSeconds: Double
    public var tracker: TelsaSettings
    public var timeZone: TimeZone

    public init(root: String, watch: Watch = .auto, pollIntervalSeconds: Double = 5, rescanSeconds: Double = 60,
                tracker: TelsaSettings, timeZone: TimeZone) {
        self.root = root
        self.watch = watch
        self.pollIntervalSeconds = pollIntervalSeconds
        self.rescanSeconds = rescanSeconds
        self.tracker = tracker
        self.timeZone = timeZone
    }

    static let keys: Set<String> = ["mode", "root", "settleSeconds", "archiveSettleSeconds", "lineMapping", "trailerBytes",
                                    "timeZone", "watch", "pollIntervalSeconds", "rescanSeconds"]

    public static func read(_ config: AgentConfig) throws -> TelsaAgentSettings {
        let section = try config.document.section("telsa")
        try section.rejectUnknownKeys(keys)
        let defaults = TelsaSettings()
        let root = try section.string("root")
        guard root.hasPrefix("/") else { throw section.error("root", "must be an absolute path, not '\(root)'") }
        let zoneName = try section.string("timeZone", default: defaults.timeZoneIdentifier)
        guard let timeZone = TimeZone(identifier: zoneName) else {
            throw section.error("timeZone", "unknown time zone '\(zoneName)' (an IANA name such as Asia/Tehran)")
        }
        let mode = try section.string("mode", oneOf: TelsaMode.allCases.map(\.rawValue), default: defaults.mode.rawValue)
        let watch = try section.string("watch", oneOf: Watch.allCases.map(\.rawValue), default: Watch.auto.rawValue)
        let tracker = TelsaSettings(
            systemKey: config.system.key,
            mode: TelsaMode(rawValue: mode) ?? defaults.mode,
            settleSeconds: try section.int("settleSeconds", default: defaults.settleSeconds, range: 0...3600),
            archiveSettleSeconds: try section.int("archiveSettleSeconds", default: defaults.archiveSettleSeconds, range: 0...3600),
            lineMapping: try readLineMapping(section.section("lineMapping")),
            trailerBytes: try section.int("trailerBytes", default: defaults.trailerBytes, range: 64...1_048_576),
            timeZoneIdentifier: zoneName)
        return TelsaAgentSettings(
            root: root, watch: Watch(rawValue: watch) ?? .auto,
            pollIntervalSeconds: try section.double("pollIntervalSeconds", default: 5, range: 0.2...3600),
            rescanSeconds: try section.double("rescanSeconds", default: 60, range: 1...86400),
            tracker: tracker, timeZone: timeZone)
    }

    /// `lineMapping:` lines of `<Telsa channel>: <line>`.
    static func readLineMapping(_ section: ConfigSection) throws -> TelsaLineMapping {
        var mapping: [String: String] = [:]
        for channel in section.keys {
            guard let number = Int(channel), number >= 0 else { throw section.error(channel, "a Telsa channel must be a number") }
            let line = try section.string(channel)
            guard !line.isEmpty else { throw section.error(channel, "the line must not be empty") }
            mapping[String(number)] = line
        }
        return TelsaLineMapping(mapping)
    }
}
