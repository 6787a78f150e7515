/// One record from a caller-ID box or modem, understood or not. This is what
/// `tamas-agent cid test` shows for each record, and what the call tracker consumes.
public enum CallerIDRecord: Equatable, Sendable {
    /// The calling number, exactly as the device printed it (empty or `P`/`O` when withheld).
    case callerID(line: String, number: String)
    /// The number that was called (a modem's `DDN_NMBR`), when the line has several numbers.
    case calledNumber(line: String, number: String)
    /// A ring; `count` when the device numbers its rings (Segal `R03`).
    case ring(line: String, count: Int?)
    case offHook(line: String)
    case onHook(line: String)
    /// Digits dialed on the line: one per Segal `D` record, possibly several per Danjeh `Dialed`.
    case dialed(line: String, digits: String)
    /// Segal's end of call: the digits the box collected and its `T` field.
    case hangUp(line: String, dialed: String, duration: SegalDuration)
    /// A modem result code (`OK`, `ERROR`): the answer to a command, or a sign the modem reset.
    case modemResult(ok: Bool)
    /// Understood, and nothing to do for calls: a banner, a modem's echo of a command, caller-ID
    /// fields that events do not carry (date, name). `what` says which, for `cid test`.
    case informational(what: String)
    case unparsed(reason: String)

    public var line: String? {
        switch self {
        case .callerID(let line, _), .calledNumber(let line, _), .ring(let line, _), .offHook(let line),
             .onHook(let line), .dialed(let line, _), .hangUp(let line, _, _):
            line
        case .modemResult, .informational, .unparsed:
            nil
        }
    }
}

/// The `T<nnnn>` field of a Segal `HND` record, read with the configured format.
public struct SegalDuration: Equatable, Sendable {
    public var field: String
    public var seconds: Int
    /// Set when the field contradicts the configured reading (e.g. `T0175` read as mm:ss).
    public var doubt: String?

    public init(field: String, format: SegalDurationFormat) {
        self.field = field
        let value = Int(field) ?? 0
        switch format {
        case .seconds:
            seconds = value
            doubt = nil
        case .minutesSeconds:
            let minutes = value / 100
            let secondsPart = value % 100
            if secondsPart < 60 {
                seconds = minutes * 60 + secondsPart
                doubt = nil
            } else {
                seconds = value
                doubt = "T\(field): seconds part \(secondsPart) is not below 60, so the mm:ss reading cannot hold; read as \(value) seconds"
            }
        }
    }
}

/// Turns one framed record's text into a `CallerIDRecord` for the configured protocol.
public struct CallerIDRecordParser: Sendable {
    public let `protocol`: CallerIDProtocol
    public let segalDurationFormat: SegalDurationFormat

    public init(protocol: CallerIDProtocol, segalDurationFormat: SegalDurationFormat = .minutesSeconds) {
        self.protocol = `protocol`
        self.segalDurationFormat = segalDurationFormat
    }

    public init(settings: CallerIDSettings) {
        self.init(protocol: settings.protocol, segalDurationFormat: settings.segalDurationFormat)
    }

    /// Parses the text of one record (without its `@` or line end). A Segal banner glued to the
    /// record after it yields two records, so the result is a list.
    public func parse(_ text: String) -> [CallerIDRecord] {
        switch self.protocol {
        case .segal:
            SegalRecordParser.pieces(of: text).map { SegalRecordParser.parse($0, durationFormat: segalDurationFormat) }
        case .danjeh:
            [DanjehRecordParser.parse(text)]
        case .modem:
            [ModemLineParser.parse(text)]
        }
    }
}

/// `L<digits>` at the start of a box record: the line number and what follows it.
enum BoxLinePrefix {
    static func split(_ text: Substring) -> (line: String, rest: Substring)? {
        guard text.first == "L" else { return nil }
        let afterL = text.dropFirst()
        let digits = afterL.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 3 else { return nil }
        let line = String(digits.drop { $0 == "0" })
        guard !line.isEmpty else { return nil }
        return (line, afterL.dropFirst(digits.count))
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
