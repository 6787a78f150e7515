/// A telephone system's numbering settings (SPEC.md: release code, country code, city code)
/// and the normalization of EVENTS.md's table.
public struct NumberPlan: Codable, Hashable, Sendable {
    /// Digit(s) dialed to seize an outside line (`9`, `0`); stripped from outgoing numbers.
    public var releaseCode: String
    /// Without `+` or leading zeros, e.g. `98`.
    public var countryCode: String
    /// Without the national prefix, e.g. `21`; empty when unknown.
    public var cityCode: String
    /// Dialed before an area code inside the country (`0` in Iran and most of Europe/Asia).
    public var nationalPrefix: String
    /// Dialed before a country code (`00`).
    public var internationalPrefix: String
    /// Numbers with at most this many digits are extensions or short codes and are left as is.
    public var maxExtensionLength: Int

    public init(releaseCode: String = "", countryCode: String = "98", cityCode: String = "",
                nationalPrefix: String = "0", internationalPrefix: String = "00", maxExtensionLength: Int = 5) {
        self.releaseCode = releaseCode
        self.countryCode = countryCode
        self.cityCode = cityCode
        self.nationalPrefix = nationalPrefix
        self.internationalPrefix = internationalPrefix
        self.maxExtensionLength = maxExtensionLength
    }

    /// Words caller-ID devices and PBXs print instead of a number; all mean "no number".
    static let withheld: Set<String> = [
        "", "<unknown>", "unknown", "anonymous", "p", "o", "private", "restricted", "withheld",
        "unavailable", "out of area", "<out of area>", "<private>", "<anonymous>",
    ]

    /// The normalized number, or nil when the number is absent or withheld.
    ///
    /// Numbers that are not plain digits (a SIP URI, letters) come back trimmed but otherwise
    /// unchanged: rewriting what we do not understand would hide it from the CRM user.
    public func normalize(_ raw: String, direction: Direction) -> String? {
        let trimmed = raw.trimmingWhitespace()
        if Self.withheld.contains(trimmed.lowercased()) { return nil }
        var digits = ""
        digits.reserveCapacity(trimmed.utf8.count)
        var plus = false
        for (index, character) in trimmed.enumerated() {
            switch character {
            case "0"..."9": digits.append(character)
            case "+" where index == 0: plus = true
            case " ", "-", "(", ")", ".", "/", "\t": continue
            default: return trimmed
            }
        }
        if digits.isEmpty { return nil }
        if plus { return "+" + digits }
        if direction == .internal || digits.count <= maxExtensionLength { return digits }

        if direction == .outbound, !releaseCode.isEmpty, digits.hasPrefix(releaseCode),
           digits.count - releaseCode.count > maxExtensionLength {
            digits.removeFirst(releaseCode.count)
        }
        if !internationalPrefix.isEmpty, digits.hasPrefix(internationalPrefix) {
            return "+" + digits.dropFirst(internationalPrefix.count)
        }
        if !nationalPrefix.isEmpty, digits.hasPrefix(nationalPrefix) {
            return "+" + countryCode + digits.dropFirst(nationalPrefix.count)
        }
        if digits.count <= maxExtensionLength { return digits }
        if cityCode.isEmpty { return digits }
        return "+" + countryCode + cityCode + digits
    }

    /// The national form a CRM user types (`09121234567`) for an E.164 number of this country;
    /// other countries get the international prefix form (`0044...`). Extensions pass through.
    public func national(_ normalized: String) -> String {
        guard normalized.hasPrefix("+") else { return normalized }
        let digits = normalized.dropFirst()
        if digits.hasPrefix(countryCode) { return nationalPrefix + digits.dropFirst(countryCode.count) }
        return internationalPrefix + digits
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace || first == "\0" { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace || last == "\0" { scalars.removeLast() }
        return String(scalars)
    }
}
