/// A telephone system's numbering settings (SPEC.md: release code, country code, city code)
/// and the normalization of EVENTS.md's table.
///
/// Decoding takes the default of `init` for every missing key, so a settings file names only
/// what differs from it.
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

    private enum CodingKeys: String, CodingKey {
        case releaseCode, countryCode, cityCode, nationalPrefix, internationalPrefix, maxExtensionLength
    }

    /// What `maxExtensionLength` may be in any settings file: outside it a plan would take no
    /// number, or nearly every number, for an extension.
    public static let maxExtensionLengths = 1...9

    /// Why `value` cannot be one of the plan's codes (release, country, city, prefixes), or nil
    /// when it can: ASCII digits, possibly none. Every settings reader applies this one rule.
    public static func codeProblem(_ value: String) -> String? {
        value.allSatisfy(\.isASCII) && value.allSatisfy(\.isNumber) ? nil : "must be digits only, not '\(value)'"
    }

    /// Rejects what the agent's `system:` section rejects, so a plan is equally valid whichever
    /// way it was configured. Errors carry the key's coding path (`numberPlan.countryCode`).
    public init(from decoder: any Decoder) throws {
        let defaults = NumberPlan()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func digits(_ key: CodingKeys, _ fallback: String) throws -> String {
            guard let value = try container.decodeIfPresent(String.self, forKey: key) else { return fallback }
            if let problem = Self.codeProblem(value) {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: problem)
            }
            return value
        }
        releaseCode = try digits(.releaseCode, defaults.releaseCode)
        countryCode = try digits(.countryCode, defaults.countryCode)
        cityCode = try digits(.cityCode, defaults.cityCode)
        nationalPrefix = try digits(.nationalPrefix, defaults.nationalPrefix)
        internationalPrefix = try digits(.internationalPrefix, defaults.internationalPrefix)
        maxExtensionLength = try container.decodeIfPresent(Int.self, forKey: .maxExtensionLength) ?? defaults.maxExtensionLength
        let range = Self.maxExtensionLengths
        guard range.contains(maxExtensionLength) else {
            throw DecodingError.dataCorruptedError(
                forKey: .maxExtensionLength, in: container,
                debugDescription: "must be between \(range.lowerBound) and \(range.upperBound), not \(maxExtensionLength)")
        }
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
        var text = raw
        if let handled = text.withUTF8({ normalizeASCII($0, direction: direction) }) { return handled }
        let scanned = Self.scanCharacters(raw)
        guard case .digits(var digits, let plus) = scanned else {
            if case .unchanged(let trimmed) = scanned { return trimmed }
            return nil
        }
        if plus { return "+" + digits }
        if direction == .internal || digits.count <= maxExtensionLength { return digits }

        if direction == .outbound,
           dialedWithReleaseCode(digits, release: releaseCode, national: nationalPrefix,
                                 international: internationalPrefix, zero: "0") {
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

    /// `normalize` in one pass over the bytes of an ASCII number with an ASCII plan (nearly
    /// every number a PBX prints), making one String: the Character path below counts,
    /// compares and concatenates Characters, which was most of a line's normalization. In
    /// ASCII a Character is a byte (CR LF aside, which neither path accepts inside a number),
    /// so the result is the same. nil (not handled) sends anything else to the Character path;
    /// `.some(nil)` is "no number".
    private func normalizeASCII(_ bytes: UnsafeBufferPointer<UInt8>, direction: Direction) -> String?? {
        var seen: UInt8 = 0
        for byte in bytes { seen |= byte }
        guard seen < 0x80 else { return nil }
        var lower = 0
        var upper = bytes.count
        while lower < upper, Self.isTrimmable(bytes[lower]) { lower += 1 }
        while upper > lower, Self.isTrimmable(bytes[upper - 1]) { upper -= 1 }
        let trimmed = UnsafeBufferPointer(rebasing: bytes[lower..<upper])
        var plus = false
        var digitCount = 0
        for (index, byte) in trimmed.enumerated() {
            switch byte {
            case 0x30...0x39: digitCount += 1
            case 0x2B where index == 0: plus = true
            case 0x20, 0x2D, 0x28, 0x29, 0x2E, 0x2F, 0x09: continue
            default:
                // Every withheld word but "" has a letter, and a letter is never a separator,
                // so this is the general path's letter test and its not-plain-digits case.
                let text = String(decoding: trimmed, as: UTF8.self)
                return .some(Self.withheld.contains(text.lowercased()) ? nil : text)
            }
        }
        if digitCount == 0 { return .some(nil) }
        if !plus, direction != .internal, digitCount > maxExtensionLength {
            guard Self.isASCII(releaseCode), Self.isASCII(internationalPrefix), Self.isASCII(nationalPrefix),
                  Self.isASCII(countryCode), Self.isASCII(cityCode) else { return nil }
        }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: digitCount) { buffer -> String? in
            var count = 0
            for byte in trimmed where byte &- 0x30 < 10 {
                buffer[count] = byte
                count += 1
            }
            let digits = UnsafeBufferPointer(buffer)
            if plus { return Self.number(plus: true, digits[...]) }
            if direction == .internal || digits.count <= maxExtensionLength { return Self.number(plus: false, digits[...]) }
            var number = digits[...]
            if direction == .outbound,
               dialedWithReleaseCode(number, release: releaseCode.utf8, national: nationalPrefix.utf8,
                                     international: internationalPrefix.utf8, zero: UInt8(ascii: "0")) {
                number = number.dropFirst(releaseCode.utf8.count)
            }
            let international = internationalPrefix.utf8
            if !international.isEmpty, number.starts(with: international) {
                return Self.number(plus: true, number.dropFirst(international.count))
            }
            let national = nationalPrefix.utf8
            if !national.isEmpty, number.starts(with: national) {
                return Self.number(plus: true, country: countryCode, number.dropFirst(national.count))
            }
            if number.count <= maxExtensionLength || cityCode.isEmpty { return Self.number(plus: false, number) }
            return Self.number(plus: true, country: countryCode, city: cityCode, number)
        }
    }

    /// Digits after the national prefix of every national number, for countries whose plan is
    /// closed (fixed length). Only Iran: every national number in the Iranian SMDR samples
    /// (`09192128583`, `02614301566`, `02177461847`, `09155150730`) has 10. Other countries'
    /// lengths are not in the fixtures, and open plans (Germany, Austria) have none.
    private static let nationalNumberLengths: [String: Int] = ["98": 10]

    /// Whether an outgoing number begins with the release code dialed to seize the line, so
    /// that code is to be stripped (docs/smdr.md "Release code"). Generic so that the byte and
    /// Character paths take one rule: they must give the same result.
    ///
    /// Some PBXs print the release code in front of the number (EVENTS.md: `988776655`), others
    /// print the number as it went out on the line (the Panasonic samples: `09192128583`). When
    /// the release code is also how a national or international number begins (`0` with
    /// national prefix `0`), a leading `0` can be either, and only the number's shape tells.
    private func dialedWithReleaseCode<Digits: Collection, Code: Collection>(
        _ digits: Digits, release: Code, national: Code, international: Code, zero: Digits.Element
    ) -> Bool where Code.Element == Digits.Element, Digits.Element: Equatable {
        guard !release.isEmpty, digits.starts(with: release) else { return false }
        let rest = digits.dropFirst(release.count)
        // What remains would be an extension or short code: the code is part of the number.
        guard rest.count > maxExtensionLength else { return false }
        let asPrinted = DialedNumber(digits, national: national, international: international, zero: zero)
        // Begun by neither prefix, or by one nothing valid follows (`000…`): as printed it is
        // no national or international number, so the leading code was dialed for the line.
        if asPrinted.kind == .local || !asPrinted.isWellFormed { return true }
        let asPrintedFits = hasThePlansLength(asPrinted)
        if asPrintedFits == true { return false }
        let stripped = DialedNumber(rest, national: national, international: international, zero: zero)
        if hasThePlansLength(stripped) == true { return true }
        // As printed it would have a length the plan has no number of; when nothing says,
        // the number is taken as printed, the form every real sample shows.
        return asPrintedFits == false
    }

    /// Whether a number has the length of this country's numbers of its kind, or nil when
    /// nothing says: international numbers, countries without a known length, local numbers
    /// without a city code.
    private func hasThePlansLength(_ number: DialedNumber) -> Bool? {
        guard let nationalLength = Self.nationalNumberLengths[countryCode] else { return nil }
        switch number.kind {
        case .international: return nil
        case .national: return number.significantDigits == nationalLength
        case .local: return cityCode.isEmpty ? nil : number.significantDigits == nationalLength - cityCode.count
        }
    }

    /// The shape of dialed digits: which prefix they begin with and what follows it.
    private struct DialedNumber {
        enum Kind { case international, national, local }
        let kind: Kind
        /// Digits after the prefix.
        let significantDigits: Int
        /// Something follows the prefix and it does not begin with `0`: no country code does,
        /// and where `0` is the national prefix no area code does either.
        let isWellFormed: Bool

        init<Digits: Collection, Code: Collection>(_ digits: Digits, national: Code, international: Code, zero: Digits.Element)
        where Code.Element == Digits.Element, Digits.Element: Equatable {
            let prefix: Int
            if !international.isEmpty, digits.starts(with: international) {
                (kind, prefix) = (.international, international.count)
            } else if !national.isEmpty, digits.starts(with: national) {
                (kind, prefix) = (.national, national.count)
            } else {
                (kind, prefix) = (.local, 0)
            }
            let significant = digits.dropFirst(prefix)
            significantDigits = significant.count
            isWellFormed = significant.first.map { $0 != zero } ?? false
        }
    }

    /// `+` when `plus`, the country and city codes, then the digits, as one String.
    private static func number(plus: Bool, country: String = "", city: String = "",
                               _ digits: Slice<UnsafeBufferPointer<UInt8>>) -> String {
        let first = country.utf8
        let second = city.utf8
        return String(unsafeUninitializedCapacity: (plus ? 1 : 0) + first.count + second.count + digits.count) { buffer in
            var count = 0
            if plus {
                buffer[0] = UInt8(ascii: "+")
                count = 1
            }
            for byte in first {
                buffer[count] = byte
                count += 1
            }
            for byte in second {
                buffer[count] = byte
                count += 1
            }
            for byte in digits {
                buffer[count] = byte
                count += 1
            }
            return count
        }
    }

    private static func isASCII(_ text: String) -> Bool { !text.utf8.contains { $0 >= 0x80 } }

    /// What a number is before the plan's prefixes are applied.
    private enum Scan {
        /// Absent or withheld.
        case none
        /// Not plain digits: passed on trimmed.
        case unchanged(String)
        /// The digits without separators, and whether a `+` led them.
        case digits(String, plus: Bool)
    }

    private static func scanCharacters(_ raw: String) -> Scan {
        let trimmed = raw.trimmingWhitespace()
        if withheld.contains(trimmed.lowercased()) { return .none }
        var digits = ""
        digits.reserveCapacity(trimmed.utf8.count)
        var plus = false
        for (index, character) in trimmed.enumerated() {
            switch character {
            case "0"..."9": digits.append(character)
            case "+" where index == 0: plus = true
            case " ", "-", "(", ")", ".", "/", "\t": continue
            default: return .unchanged(trimmed)
            }
        }
        return digits.isEmpty ? .none : .digits(digits, plus: plus)
    }

    /// `Character.isWhitespace` or NUL, for ASCII.
    private static func isTrimmable(_ byte: UInt8) -> Bool { byte == 0x20 || byte &- 0x09 < 5 || byte == 0 }

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
