import TamasEvents

/// The Panasonic models the `model` setting names. The model decides two things the lines do
/// not say: whether the printed time is the call's start or its end, and which date order an
/// ambiguous date (`02/11/11`) is read in when `dateFormat` is `auto`.
public enum SMDRModel: String, Codable, Sendable, CaseIterable {
    case auto
    case kxTDA100 = "KX-TDA100", kxTDA200 = "KX-TDA200", kxTDA600 = "KX-TDA600"
    case kxTDE100 = "KX-TDE100", kxTDE200 = "KX-TDE200", kxTDE600 = "KX-TDE600"
    case kxTEM824 = "KX-TEM824", kxTES824 = "KX-TES824", kxTA824 = "KX-TA824"
    case kxNS300 = "KX-NS300", kxNS500 = "KX-NS500", kxNS700 = "KX-NS700", kxNS1000 = "KX-NS1000"
    case kxNSX = "KX-NSX"
    case kxTD816 = "KX-TD816", kxTA616 = "KX-TA616"

    /// FACTS.md: the time is the end on KX-TDA200 and KX-TD816 and the start on KX-TES824,
    /// KX-TEA308 and KX-TA616. The TDA/TDE/NS families share one SMDR design; TA824 and TEM824
    /// share the TES824 design (same `<incoming>`, `"` and `....` layout).
    public var printedTime: SMDRPrintedTime? {
        switch self {
        case .auto: nil
        case .kxTEM824, .kxTES824, .kxTA824, .kxTA616: .start
        default: .end
        }
    }

    var defaultDateOrder: SMDRDateOrder? {
        switch self {
        case .auto: nil
        case .kxTEM824, .kxTES824, .kxTA824, .kxTA616: .monthDayYear
        default: .dayMonthYear
        }
    }
}

/// Whether the time column is when the call began or when it ended.
public enum SMDRPrintedTime: String, Codable, Sendable {
    case start, end
}

public enum SMDRDateOrder: String, Codable, Sendable, CaseIterable {
    case auto
    case dayMonthYear = "dd/mm/yy"
    case monthDayYear = "mm/dd/yy"
    case yearMonthDay = "yy/mm/dd"
}

/// Everything the SMDR decoder needs to know about one PBX. Every field has a default, so a
/// settings file only names what differs.
public struct SMDRSettings: Codable, Hashable, Sendable {
    public var systemKey: String
    public var model: SMDRModel
    public var dateFormat: SMDRDateOrder
    /// IANA identifier of the zone the PBX clock runs in (`Asia/Tehran`).
    public var timeZone: String
    public var numberPlan: NumberPlan
    /// DISA and ring-group extensions: hidden from incoming calls, which are attributed to the
    /// extension that really answered.
    public var ignoredExtensions: [String]
    /// Drop outgoing and intercom lines whose printed duration is 00:00'00 (dial attempts).
    public var ignoreZeroDuration: Bool
    /// How long an unanswered ring-group call is held for more member lines or an answer
    /// before it is reported missed: arrival time (tick) or PBX time, whichever passes first.
    public var groupWindowSeconds: Int
    /// Slack added to the printed minute when deciding whether two lines belong to one call.
    public var groupToleranceSeconds: Int
    /// How long (PBX time) an ended call stays linkable to a late answer or transfer leg.
    public var linkRetentionSeconds: Int

    public init(systemKey: String = "pbx", model: SMDRModel = .auto, dateFormat: SMDRDateOrder = .auto,
                timeZone: String = "UTC", numberPlan: NumberPlan = NumberPlan(), ignoredExtensions: [String] = [],
                ignoreZeroDuration: Bool = false, groupWindowSeconds: Int = 600, groupToleranceSeconds: Int = 30,
                linkRetentionSeconds: Int = 4 * 3600) {
        self.systemKey = systemKey
        self.model = model
        self.dateFormat = dateFormat
        self.timeZone = timeZone
        self.numberPlan = numberPlan
        self.ignoredExtensions = ignoredExtensions
        self.ignoreZeroDuration = ignoreZeroDuration
        self.groupWindowSeconds = groupWindowSeconds
        self.groupToleranceSeconds = groupToleranceSeconds
        self.linkRetentionSeconds = linkRetentionSeconds
    }

    private enum CodingKeys: String, CodingKey {
        case systemKey, model, dateFormat, timeZone, numberPlan, ignoredExtensions, ignoreZeroDuration
        case groupWindowSeconds, groupToleranceSeconds, linkRetentionSeconds
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = SMDRSettings()
        systemKey = try container.decodeIfPresent(String.self, forKey: .systemKey) ?? defaults.systemKey
        model = try container.decodeIfPresent(SMDRModel.self, forKey: .model) ?? defaults.model
        dateFormat = try container.decodeIfPresent(SMDRDateOrder.self, forKey: .dateFormat) ?? defaults.dateFormat
        timeZone = try container.decodeIfPresent(String.self, forKey: .timeZone) ?? defaults.timeZone
        numberPlan = try container.decodeIfPresent(NumberPlan.self, forKey: .numberPlan) ?? defaults.numberPlan
        ignoredExtensions = try container.decodeIfPresent([String].self, forKey: .ignoredExtensions) ?? defaults.ignoredExtensions
        ignoreZeroDuration = try container.decodeIfPresent(Bool.self, forKey: .ignoreZeroDuration) ?? defaults.ignoreZeroDuration
        groupWindowSeconds = try container.decodeIfPresent(Int.self, forKey: .groupWindowSeconds) ?? defaults.groupWindowSeconds
        groupToleranceSeconds = try container.decodeIfPresent(Int.self, forKey: .groupToleranceSeconds)
            ?? defaults.groupToleranceSeconds
        linkRetentionSeconds = try container.decodeIfPresent(Int.self, forKey: .linkRetentionSeconds)
            ?? defaults.linkRetentionSeconds
    }
}
