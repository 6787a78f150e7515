/// Danjeh records. Known only from YasnaSDK's parser, never from a capture: `L<n>` then `@`,
/// with `hook-off`, `hook-on` or `Dialed` somewhere in the record, and otherwise (a ringing
/// line) the caller's number one character after `L<n>`. Every other shape is reported as
/// unparsed rather than guessed (docs/callerid.md).
enum DanjehRecordParser {
    static func parse(_ text: String) -> CallerIDRecord {
        let record = text.trimming(" \t")
        guard let (line, rest) = BoxLinePrefix.split(Substring(record)) else {
            return .unparsed(reason: "Danjeh record does not start with L<line number>")
        }
        let lowered = rest.lowercased()
        if lowered.contains("hook-off") { return .offHook(line: line) }
        if lowered.contains("hook-on") { return .onHook(line: line) }
        if let dialedRange = lowered.firstRange(of: "dialed") {
            let after = lowered[dialedRange.upperBound...]
            let digits = after.filter { $0.isASCIIDigit || $0 == "*" || $0 == "#" }
            let separators = after.filter { !($0.isASCIIDigit || $0 == "*" || $0 == "#") }
            guard separators.allSatisfy({ ":= ,".contains($0) }) else {
                return .unparsed(reason: "Danjeh Dialed record: the text after 'Dialed' is not digits (shape undocumented)")
            }
            return .dialed(line: line, digits: digits)
        }
        if rest.isEmpty { return .ring(line: line, count: nil) }
        guard let separator = rest.first, !separator.isASCIIDigit, !separator.isLetter else {
            return .unparsed(reason: "Danjeh caller-ID record: expected one separator after L<line>, then the number (shape undocumented)")
        }
        let number = rest.dropFirst().trimming(" ")
        guard number.allSatisfy({ $0.isASCIIDigit || $0 == "+" }) else {
            return .unparsed(reason: "Danjeh record is neither hook-off, hook-on, Dialed nor a caller number (shape undocumented)")
        }
        return number.isEmpty ? .ring(line: line, count: nil) : .callerID(line: line, number: number)
    }
}
