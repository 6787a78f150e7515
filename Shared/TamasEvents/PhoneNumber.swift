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

    /// The range the agent's `system:` section allows (AgentConfig): outside it a plan would
    /// take no number, or nearly every number, for an extension.
    private static let maxExtensionLengths = 1...9

    /// Rejects what the agent's `system:` section rejects, so a plan is equally valid whichever
    /// way it was configured. Errors carry the key's coding path (`numberPlan.countryCode`).
    public init(from decoder: any Decoder) throws {
        let defaults = NumberPlan()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func digits(_ key: CodingKeys, _ fallback: String) throws -> String {
            guard let value = try container.decodeIfPresent(String.self, forKey: key) else { return fallback }
            guard value.allSatisfy(\.isASCII), value.allSatisfy(\.isNumber) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "must be digits only, not '\(value)'")
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
        let scanned = text.withUTF8 { Self.scanASCII($0) } ?? Self.scanCharacters(raw)
        guard case .digits(var digits, let plus) = scanned else {
            if case .unchanged(let trimmed) = scanned { return trimmed }
            return nil
        }
        if plus { return "+" + digits }
        if let applied = applyASCII(to: digits, direction: direction) { return applied }
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

    /// The prefix rules below on bytes, for ASCII digits and an ASCII plan (every real one):
    /// Character counting, `hasPrefix` and concatenation were most of a line's normalization.
    /// In ASCII a Character is a byte, so the result is the same; nil hands anything else to
    /// the String version.
    private func applyASCII(to digits: String, direction: Direction) -> String? {
        var text = digits
        return text.withUTF8 { all -> String? in
            guard Self.isASCII(all), Self.isASCII(releaseCode), Self.isASCII(internationalPrefix),
                  Self.isASCII(nationalPrefix), Self.isASCII(countryCode), Self.isASCII(cityCode) else { return nil }
            if direction == .internal || all.count <= maxExtensionLength { return digits }
            var number = all[...]
            let release = releaseCode.utf8
            if direction == .outbound, !release.isEmpty, number.starts(with: release),
               number.count - release.count > maxExtensionLength {
                number = number.dropFirst(release.count)
            }
            let international = internationalPrefix.utf8
            if !international.isEmpty, number.starts(with: international) {
                return Self.plusNumber(countryCode: "", number.dropFirst(international.count))
            }
            let national = nationalPrefix.utf8
            if !national.isEmpty, number.starts(with: national) {
                return Self.plusNumber(countryCode: countryCode, number.dropFirst(national.count))
            }
            if number.count <= maxExtensionLength || cityCode.isEmpty {
                return number.count == all.count ? digits : String(decoding: number, as: UTF8.self)
            }
            return Self.plusNumber(countryCode: countryCode + cityCode, number)
        }
    }

    private static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool { !bytes.contains { $0 >= 0x80 } }

    private static func isASCII(_ text: String) -> Bool { !text.utf8.contains { $0 >= 0x80 } }

    /// `+`, the country (and city) code, then the digits.
    private static func plusNumber(countryCode: String, _ digits: Slice<UnsafeBufferPointer<UInt8>>) -> String {
        let code = countryCode.utf8
        return String(unsafeUninitializedCapacity: 1 + code.count + digits.count) { buffer in
            buffer[0] = UInt8(ascii: "+")
            var count = 1
            for byte in code {
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

    /// The same scan on bytes for ASCII input, which is nearly every number a PBX prints;
    /// nil sends anything else through `scanCharacters`. In ASCII every Character is one byte
    /// (CR LF aside, which is rejected either way) and only letters can spell a withheld word.
    private static func scanASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Scan? {
        var lower = 0
        var upper = bytes.count
        for byte in bytes where byte >= 0x80 { return nil }
        while lower < upper, isTrimmable(bytes[lower]) { lower += 1 }
        while upper > lower, isTrimmable(bytes[upper - 1]) { upper -= 1 }
        let trimmed = UnsafeBufferPointer(rebasing: bytes[lower..<upper])
        if trimmed.contains(where: { ($0 | 0x20) &- 0x61 < 26 }) {
            let text = String(decoding: trimmed, as: UTF8.self)
            return withheld.contains(text.lowercased()) ? Scan.none : .unchanged(text)
        }
        var plus = false
        var separators = 0
        for (index, byte) in trimmed.enumerated() {
            switch byte {
            case 0x30...0x39: continue
            case 0x2B where index == 0: plus = true
            case 0x20, 0x2D, 0x28, 0x29, 0x2E, 0x2F, 0x09: separators += 1
            default: return .unchanged(String(decoding: trimmed, as: UTF8.self))
            }
        }
        let digitCount = trimmed.count - separators - (plus ? 1 : 0)
        if digitCount == 0 { return Scan.none }
        if digitCount == trimmed.count { return .digits(String(decoding: trimmed, as: UTF8.self), plus: false) }
        let digits = String(unsafeUninitializedCapacity: digitCount) { buffer in
            var count = 0
            for byte in trimmed where byte &- 0x30 < 10 {
                buffer[count] = byte
                count += 1
            }
            return count
        }
        return .digits(digits, plus: plus)
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
