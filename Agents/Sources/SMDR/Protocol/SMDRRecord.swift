/// Which of the documented SMDR layouts a line looks like. Informational (shown by
/// `smdr test`); the parser reads all of them with the same scanner.
public enum SMDRLayout: String, Codable, Sendable {
    /// 80 columns without cost: Date Time Ext CO Dial(25) Ring Duration Acc CD.
    case patternA = "A (80 columns, no cost)"
    /// 80 columns with cost: Date Time Ext CO Dial(20) Duration Cost Acc CD.
    case patternB = "B (80 columns, with cost)"
    /// 120 columns: Ext(5) CO(4) Dial(50) Ring Duration Cost Acc CD.
    case patternC = "C (120 columns)"
    /// KX-TA/TES/TEM824, TA616: `<incoming>`, durations ending in `"`, `....` code column.
    case style824 = "TA/TES/TEM 824 style"
}

public enum SMDRCallKind: String, Codable, Sendable {
    case incoming, outgoing, intercom
}

/// One understood SMDR call line, as printed: nothing resolved against settings yet, so the
/// same record serves `smdr test` and the decoder.
public struct SMDRRecord: Codable, Hashable, Sendable {
    /// The three date numbers in printed order; `dateFormat` says which is which.
    public var dateFields: SMDRDateFields
    /// 0-23, already converted from AM/PM.
    public var hour: Int
    public var minute: Int
    /// `*` before the time (KX-TA/TES 824 style: a transferred call).
    public var transferMark: Bool
    public var `extension`: String?
    public var coLine: String?
    public var kind: SMDRCallKind
    /// Caller number (incoming), dialed digits without the trailing `-` (outgoing), called
    /// extension (intercom). Empty when the PBX printed none.
    public var number: String
    public var callerName: String?
    public var ddi: String?
    /// Outgoing number ending in `-`: the line continues a transferred call.
    public var dialTransferred: Bool
    public var ringSec: Int?
    public var durationSec: Int?
    public var cost: String?
    public var accountCode: String?
    public var conditionCode: String?
    public var layout: SMDRLayout

    /// The incoming line only says the call is ringing (RC, or no duration and no ring time).
    public var isRingingNotice: Bool {
        kind == .incoming && durationSec == nil && (conditionCode == "RC" || conditionCode == "VR" || ringSec == nil)
    }

    /// The incoming line only says the call was answered (AN/VA with a ring time, no duration).
    public var isAnswerNotice: Bool {
        kind == .incoming && durationSec == nil && !isRingingNotice
    }
}

public struct SMDRDateFields: Codable, Hashable, Sendable {
    public var first: Int
    public var second: Int
    public var third: Int
    /// The year field was printed with four digits.
    public var fourDigitFirst: Bool

    public init(first: Int, second: Int, third: Int, fourDigitFirst: Bool) {
        self.first = first
        self.second = second
        self.third = third
        self.fourDigitFirst = fourDigitFirst
    }
}

/// What one line turned out to be.
public enum SMDRLineResult: Hashable, Sendable {
    case record(SMDRRecord)
    /// Page headers, dash rules and blank lines: understood, carry nothing.
    case layoutLine(SMDRLayoutLine)
    /// Understood, but not a call (alarm, LOG IN/OUT, hotel): reported as `line.unparsed`.
    case notACall(reason: String)
    case unparsed(reason: String)
}

public enum SMDRLayoutLine: String, Hashable, Sendable {
    case blank, header, rule
}
