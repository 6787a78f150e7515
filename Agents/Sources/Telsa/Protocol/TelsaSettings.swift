import Foundation

/// How the Telsa software was installed (SPEC.md, "Recording with Telsa").
public enum TelsaMode: String, Codable, Sendable, CaseIterable {
    /// "THW": recordings stay in `record/`; a file is complete once it stops changing.
    case folder
    /// Recordings are written to `record/` and moved to `Archive/<line>/…` when the call ends.
    case full
}

/// Telsa channel → PBX / caller-ID box line. Lines wired in a different order were the
/// original product's biggest support problem, so the mapping is explicit; a channel that is
/// not listed keeps its own number.
public struct TelsaLineMapping: Codable, Hashable, Sendable {
    public var channelToLine: [String: String]

    public init(_ channelToLine: [String: String] = [:]) {
        self.channelToLine = channelToLine
    }

    public func line(forChannel channel: Int) -> String {
        channelToLine[String(channel)] ?? String(channel)
    }

    public init(from decoder: Decoder) throws {
        channelToLine = try decoder.singleValueContainer().decode([String: String].self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(channelToLine)
    }
}

public struct TelsaSettings: Codable, Hashable, Sendable {
    public var systemKey: String
    public var mode: TelsaMode
    /// Folder mode: a file whose size and modification time stayed the same for this long is complete.
    public var settleSeconds: Int
    /// Full mode: how long a file under `Archive/` must stay unchanged; 0 announces it at first
    /// sight, right for Telsa's own move inside one folder tree (a rename is atomic).
    public var archiveSettleSeconds: Int
    public var lineMapping: TelsaLineMapping
    /// How many bytes from the end of a file the adapter reads for the trailer.
    public var trailerBytes: Int
    /// The recorder PC's time zone: trailer times are its local wall clock.
    public var timeZoneIdentifier: String

    public init(systemKey: String = "telsa", mode: TelsaMode = .full, settleSeconds: Int = 15, archiveSettleSeconds: Int = 0,
                lineMapping: TelsaLineMapping = TelsaLineMapping(), trailerBytes: Int = 4096,
                timeZoneIdentifier: String = "Asia/Tehran") {
        self.systemKey = systemKey
        self.mode = mode
        self.settleSeconds = settleSeconds
        self.archiveSettleSeconds = archiveSettleSeconds
        self.lineMapping = lineMapping
        self.trailerBytes = trailerBytes
        self.timeZoneIdentifier = timeZoneIdentifier
    }

    private enum CodingKeys: String, CodingKey {
        case systemKey, mode, settleSeconds, archiveSettleSeconds, lineMapping, trailerBytes, timeZoneIdentifier
    }

    /// Every key is optional in a settings file; what is missing takes the default above.
    public init(from decoder: Decoder) throws {
        let defaults = TelsaSettings()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        systemKey = try container.decodeIfPresent(String.self, forKey: .systemKey) ?? defaults.systemKey
        mode = try container.decodeIfPresent(TelsaMode.self, forKey: .mode) ?? defaults.mode
        settleSeconds = try container.decodeIfPresent(Int.self, forKey: .settleSeconds) ?? defaults.settleSeconds
        archiveSettleSeconds = try container.decodeIfPresent(Int.self, forKey: .archiveSettleSeconds) ?? defaults.archiveSettleSeconds
        lineMapping = try container.decodeIfPresent(TelsaLineMapping.self, forKey: .lineMapping) ?? defaults.lineMapping
        trailerBytes = try container.decodeIfPresent(Int.self, forKey: .trailerBytes) ?? defaults.trailerBytes
        timeZoneIdentifier = try container.decodeIfPresent(String.self, forKey: .timeZoneIdentifier) ?? defaults.timeZoneIdentifier
    }

    var timeZone: TimeZone { TimeZone(identifier: timeZoneIdentifier) ?? TimeZone(secondsFromGMT: 0) ?? .current }
}
