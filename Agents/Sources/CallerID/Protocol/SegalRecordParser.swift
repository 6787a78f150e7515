/// Oj Segal records (docs/callerid.md has the table and the evidence for each code).
enum SegalRecordParser {
    static let banner = "www.POSwareSystems.com"

    /// The banner is sent as `@www.POSwareSystems.com`, so after framing on `@` it may be glued
    /// to the front of the next record when no line end follows it.
    static func pieces(of text: String) -> [String] {
        let trimmed = text.trimming(" \t")
        guard trimmed.hasPrefix(banner) else { return [trimmed] }
        let rest = trimmed.dropFirst(banner.count).trimming(" \t")
        return rest.isEmpty ? [banner] : [banner, rest]
    }

    static func parse(_ record: String, durationFormat: SegalDurationFormat) -> CallerIDRecord {
        if record == banner { return .informational(what: "Segal banner (POSwareSystems)") }
        guard let (line, rest) = BoxLinePrefix.split(Substring(record)) else {
            return .unparsed(reason: "Segal record does not start with L<line number>")
        }
        guard let code = rest.first else { return .unparsed(reason: "Segal record has a line number but no code") }
        let value = rest.dropFirst()
        switch code {
        case "C":
            let number = value.trimming(" ")
            guard number.allSatisfy({ $0.isASCIIDigit || $0 == "+" }) else {
                return .unparsed(reason: "Segal caller-ID record (C) holds something other than digits")
            }
            return .callerID(line: line, number: number)
        case "R":
            guard !value.isEmpty, value.count <= 3, value.allSatisfy(\.isASCIIDigit), let count = Int(value) else {
                return .unparsed(reason: "Segal ring record (R) without a ring count of 1 to 3 digits")
            }
            return .ring(line: line, count: count)
        case "D":
            guard !value.isEmpty, value.allSatisfy({ $0.isASCIIDigit || $0 == "*" || $0 == "#" }) else {
                return .unparsed(reason: "Segal dial record (D) without a dialed digit")
            }
            return .dialed(line: line, digits: String(value))
        case "H":
            if value == "F" { return .offHook(line: line) }
            if value.hasPrefix("ND:") { return parseHangUp(line: line, value.dropFirst(3), durationFormat: durationFormat) }
            return .unparsed(reason: "Segal hook record: only HF (off-hook) and HND:<number> T<mmss> (hang-up) are known")
        default:
            return .unparsed(reason: "Segal code '\(code)' is not one of the known C, R, HF, D, HND")
        }
    }

    /// `HND:<dialed digits> T<four digits>`; the digits may be empty (`HND: T0000`).
    private static func parseHangUp(line: String, _ value: Substring, durationFormat: SegalDurationFormat) -> CallerIDRecord {
        let malformed = CallerIDRecord.unparsed(reason: "Segal hang-up record not in the form HND:<number> T<4 digits>")
        guard let tIndex = value.lastIndex(of: "T") else { return malformed }
        let dialed = value[..<tIndex].trimming(" ")
        let field = value[value.index(after: tIndex)...].trimming(" ")
        guard dialed.allSatisfy({ $0.isASCIIDigit || $0 == "*" || $0 == "#" }),
              field.count == 4, field.allSatisfy(\.isASCIIDigit)
        else { return malformed }
        return .hangUp(line: line, dialed: dialed, duration: SegalDuration(field: field, format: durationFormat))
    }
}

extension StringProtocol {
    func trimming(_ set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
