/// Lines of a modem in `AT+VCID=1` mode, including the variants NCID quotes (no spaces around
/// `=`, `NBR`/`DDN_NMBR`, France Telecom Kortex's `CID RING` … `END MSG`). A modem has one
/// line, reported as line "1".
enum ModemLineParser {
    static let line = "1"

    static func parse(_ text: String) -> CallerIDRecord {
        let trimmed = text.trimming(" \t")
        let upper = trimmed.uppercased()
        switch upper {
        case "RING", "CID RING": return .ring(line: line, count: nil)
        case "OK": return .modemResult(ok: true)
        case "ERROR": return .modemResult(ok: false)
        case "CALLING MSG", "END MSG": return .informational(what: "modem caller-ID block marker \(trimmed)")
        default: break
        }
        if upper.hasPrefix("AT") { return .informational(what: "modem echo of command \(trimmed)") }
        guard let equals = trimmed.firstIndex(of: "=") else {
            return .unparsed(reason: "not a caller-ID modem line (RING, OK, ERROR or NAME = value)")
        }
        let key = trimmed[..<equals].trimming(" ").uppercased()
        let value = trimmed[trimmed.index(after: equals)...].trimming(" ")
        switch key {
        case "NMBR", "NBR":
            return .callerID(line: line, number: value)
        case "DDN_NMBR", "DDN":
            return .calledNumber(line: line, number: value)
        case "NAME":
            return .informational(what: "caller name \(value) (events carry no name field)")
        case "DATE":
            return isClockReading(value, firstRange: 1...12, secondRange: 1...31)
                ? .informational(what: "caller-ID date MMDD \(value) (the agent's clock is used instead)")
                : .unparsed(reason: "DATE value is not MMDD")
        case "TIME":
            return isClockReading(value, firstRange: 0...23, secondRange: 0...59)
                ? .informational(what: "caller-ID time HHMM \(value) (the agent's clock is used instead)")
                : .unparsed(reason: "TIME value is not HHMM")
        case "DATE TIME":
            return .informational(what: "caller-ID date and time \(value) (the agent's clock is used instead)")
        case "MESG":
            return .unparsed(reason: "MESG: a caller-ID parameter the modem could not decode (hex tag, length, data, checksum)")
        default:
            return .unparsed(reason: "unknown caller-ID field \(key)")
        }
    }

    private static func isClockReading(_ value: String, firstRange: ClosedRange<Int>, secondRange: ClosedRange<Int>) -> Bool {
        guard value.count == 4, value.allSatisfy(\.isASCIIDigit),
              let first = Int(value.prefix(2)), let second = Int(value.suffix(2)) else { return false }
        return firstRange.contains(first) && secondRange.contains(second)
    }
}
