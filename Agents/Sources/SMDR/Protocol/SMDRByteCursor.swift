enum Byte {
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let formFeed: UInt8 = 0x0C
    static let nul: UInt8 = 0x00
    static let slash: UInt8 = 0x2F
    static let colon: UInt8 = 0x3A
    static let apostrophe: UInt8 = 0x27
    static let quote: UInt8 = 0x22
    static let star: UInt8 = 0x2A
    static let dash: UInt8 = 0x2D
    static let equals: UInt8 = 0x3D
    static let dot: UInt8 = 0x2E
    static let plus: UInt8 = 0x2B
    static let hash: UInt8 = 0x23
    static let lessThan: UInt8 = 0x3C
    static let greaterThan: UInt8 = 0x3E

    @inline(__always) static func isBlank(_ byte: UInt8) -> Bool {
        byte == space || byte == tab || byte == nul || byte == formFeed || byte == 0x0D || byte == 0x0A
    }

    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }
    @inline(__always) static func isUpper(_ byte: UInt8) -> Bool { byte &- 0x41 < 26 }
    @inline(__always) static func isLower(_ byte: UInt8) -> Bool { byte &- 0x61 < 26 }
    @inline(__always) static func isLetter(_ byte: UInt8) -> Bool { isUpper(byte) || isLower(byte) }
    @inline(__always) static func lower(_ byte: UInt8) -> UInt8 { isUpper(byte) ? byte | 0x20 : byte }
}

/// A read position over one line's bytes; `end` excludes trailing blanks. Every read is
/// bounds-checked, so no input can make it trap.
struct SMDRByteCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int
    let end: Int

    var peek: UInt8? { position < end ? bytes[position] : nil }

    func peek(at offset: Int) -> UInt8? {
        let index = position + offset
        return index < end ? bytes[index] : nil
    }

    var atDoubleSpace: Bool { peek == Byte.space && peek(at: 1) == Byte.space }

    mutating func advance() { position += 1 }

    mutating func skipSpaces() { position = spaceEnd(from: position) }

    func spaceEnd(from index: Int) -> Int {
        var cursor = index
        while cursor < end, bytes[cursor] == Byte.space || bytes[cursor] == Byte.tab { cursor += 1 }
        return cursor
    }

    func token(at index: Int) -> Range<Int>? {
        guard index < end else { return nil }
        var cursor = index
        while cursor < end, bytes[cursor] != Byte.space, bytes[cursor] != Byte.tab { cursor += 1 }
        return index..<cursor
    }

    func peekToken() -> Range<Int>? { token(at: position) }

    func find(_ byte: UInt8, within limit: Int) -> Int? {
        var cursor = position
        while cursor < min(end, position + limit) {
            if bytes[cursor] == byte { return cursor }
            cursor += 1
        }
        return nil
    }

    // MARK: - Line classes

    func isDashRule() -> Bool {
        guard end - position >= 10 else { return false }
        for index in position..<end where bytes[index] != Byte.dash && bytes[index] != Byte.equals { return false }
        return true
    }

    func startsWithWord(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard end - position >= count else { return false }
        let pointer = word.utf8Start
        for offset in 0..<count where Byte.lower(bytes[position + offset]) != pointer[offset] { return false }
        return true
    }

    /// `word` (upper case) appears as a whole token anywhere in the line.
    func containsWord(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        let pointer = word.utf8Start
        var start = 0
        while start < end {
            start = spaceEnd(from: start)
            guard let token = token(at: start) else { return false }
            if token.count == count, (0..<count).allSatisfy({ bytes[token.lowerBound + $0] == pointer[$0] }) { return true }
            start = token.upperBound
        }
        return false
    }

    // MARK: - Fields

    /// `dd/dd/dd`, with optional space padding after each slash (`1/ 6/05`) and a four-digit
    /// first field for year-first dates.
    mutating func readDate() -> SMDRDateFields? {
        guard let (first, firstDigits) = readNumber(maxDigits: 4), firstDigits != 3, peek == Byte.slash else { return nil }
        advance()
        skipSpaces()
        guard let (second, _) = readNumber(maxDigits: 2), peek == Byte.slash else { return nil }
        advance()
        skipSpaces()
        guard let (third, thirdDigits) = readNumber(maxDigits: 4), thirdDigits == 2 || thirdDigits == 4,
              peek == nil || peek == Byte.space else { return nil }
        return SMDRDateFields(first: first, second: second, third: third, fourDigitFirst: firstDigits == 4)
    }

    /// `h:mm` or `hh:mm`, 24-hour, or followed directly by AM/PM.
    mutating func readTime() -> (hour: Int, minute: Int)? {
        guard let (hour, _) = readNumber(maxDigits: 2), peek == Byte.colon else { return nil }
        advance()
        guard let (minute, minuteDigits) = readNumber(maxDigits: 2), minuteDigits == 2, minute <= 59 else { return nil }
        if let marker = peek, Byte.lower(marker) == 0x61 || Byte.lower(marker) == 0x70, let m = peek(at: 1), Byte.lower(m) == 0x6D {
            position += 2
            guard (1...12).contains(hour), peek == nil || peek == Byte.space else { return nil }
            let isPM = Byte.lower(marker) == 0x70
            return (hour % 12 + (isPM ? 12 : 0), minute)
        }
        guard hour <= 23, peek == nil || peek == Byte.space else { return nil }
        return (hour, minute)
    }

    private mutating func readNumber(maxDigits: Int) -> (Int, Int)? {
        var value = 0
        var digits = 0
        while digits < maxDigits, let byte = peek, Byte.isDigit(byte) {
            value = value * 10 + Int(byte - 0x30)
            digits += 1
            advance()
        }
        return digits == 0 ? nil : (value, digits)
    }

    // MARK: - Token shapes

    func isDigits(_ range: Range<Int>) -> Bool {
        guard !range.isEmpty else { return false }
        for index in range where !Byte.isDigit(bytes[index]) { return false }
        return true
    }

    /// Digits, or a `D` (doorphone), `T` (TIE) or `*` (verified code) prefix before digits.
    func isExtensionLike(_ range: Range<Int>) -> Bool {
        guard (1...6).contains(range.count) else { return false }
        let first = bytes[range.lowerBound]
        if first == 0x44 || first == 0x54 || first == Byte.star { return isDigits(range.lowerBound + 1..<range.upperBound) }
        return isDigits(range)
    }

    /// Ring time `0'05` / `12'30`.
    func isRing(_ range: Range<Int>) -> Bool {
        let count = range.count
        guard count == 4 || count == 5 else { return false }
        let base = range.lowerBound
        return bytes[range.upperBound - 3] == Byte.apostrophe && isDigits(base..<range.upperBound - 3)
            && isDigits(range.upperBound - 2..<range.upperBound)
    }

    func ringSeconds(_ range: Range<Int>) -> Int {
        number(range.lowerBound..<range.upperBound - 3) * 60 + number(range.upperBound - 2..<range.upperBound)
    }

    /// Duration `00:01'44`, optionally followed by `"` (824 style).
    func isDuration(_ range: Range<Int>) -> Bool {
        var upper = range.upperBound
        if range.count == 9, bytes[upper - 1] == Byte.quote { upper -= 1 }
        guard upper - range.lowerBound == 8 else { return false }
        let base = range.lowerBound
        return bytes[base + 2] == Byte.colon && bytes[base + 5] == Byte.apostrophe && isDigits(base..<base + 2)
            && isDigits(base + 3..<base + 5) && isDigits(base + 6..<base + 8)
            && number(base + 3..<base + 5) <= 59 && number(base + 6..<base + 8) <= 59
    }

    func durationSeconds(_ range: Range<Int>) -> Int {
        let base = range.lowerBound
        return number(base..<base + 2) * 3600 + number(base + 3..<base + 5) * 60 + number(base + 6..<base + 8)
    }

    func isDots(_ range: Range<Int>) -> Bool {
        guard range.count >= 2 else { return false }
        for index in range where bytes[index] != Byte.dot { return false }
        return true
    }

    /// `EU00000.00`, `00560.00EU`, `00560.00EUR`: digits with one decimal point and an optional
    /// currency code of up to three capitals on one side.
    func isCost(_ range: Range<Int>) -> Bool {
        var lower = range.lowerBound
        var upper = range.upperBound
        var prefix = 0
        while lower < upper, Byte.isUpper(bytes[lower]) { lower += 1; prefix += 1 }
        var suffix = 0
        while upper > lower, Byte.isUpper(bytes[upper - 1]) { upper -= 1; suffix += 1 }
        guard prefix <= 3, suffix <= 3, prefix == 0 || suffix == 0, upper - lower >= 3 else { return false }
        var dots = 0
        for index in lower..<upper {
            if bytes[index] == Byte.dot { dots += 1 } else if !Byte.isDigit(bytes[index]) { return false }
        }
        return dots == 1 && bytes[lower] != Byte.dot && bytes[upper - 1] != Byte.dot
    }

    /// TR, FW, NA, RC, AN, VR, VA, RM, D0-D4 and `*D0`; unknown two-letter codes are kept too,
    /// since the set grew with every model.
    func isConditionCode(_ range: Range<Int>) -> Bool {
        var lower = range.lowerBound
        if bytes[lower] == Byte.star { lower += 1 }
        guard range.upperBound - lower == 2 else { return false }
        return Byte.isUpper(bytes[lower]) && (Byte.isUpper(bytes[lower + 1]) || Byte.isDigit(bytes[lower + 1]))
    }

    /// Outgoing digits with the Dial Number symbols: `P` pause, `F` EFA, `=` host PBX, `.`
    /// secret, `X` privacy, `*`/`#`, and a final `-` for a transferred call.
    func isDialString(_ range: Range<Int>) -> Bool {
        var sawDigit = false
        for index in range {
            let byte = bytes[index]
            if Byte.isDigit(byte) { sawDigit = true; continue }
            switch byte {
            case 0x50, 0x46, 0x58, Byte.equals, Byte.dot, Byte.star, Byte.hash: continue
            case Byte.dash where index == range.upperBound - 1: continue
            default: return false
            }
        }
        return sawDigit
    }

    func hasPrefixLetters(_ word: StaticString, in range: Range<Int>) -> Bool {
        let count = word.utf8CodeUnitCount
        guard range.count >= count else { return false }
        let pointer = word.utf8Start
        for offset in 0..<count where Byte.lower(bytes[range.lowerBound + offset]) != pointer[offset] { return false }
        return true
    }

    /// The digits (with an optional leading `+`) that end `range`.
    func trailingNumber(in range: Range<Int>) -> Range<Int> {
        var lower = range.upperBound
        while lower > range.lowerBound, Byte.isDigit(bytes[lower - 1]) { lower -= 1 }
        if lower > range.lowerBound, lower < range.upperBound, bytes[lower - 1] == Byte.plus { lower -= 1 }
        return lower..<range.upperBound
    }

    func trimmed(_ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper, bytes[lower] == Byte.space { lower += 1 }
        while upper > lower, bytes[upper - 1] == Byte.space { upper -= 1 }
        return lower..<upper
    }

    /// The letters of `range`, lower-cased and with everything else left out, are `word`
    /// (lower case): `<  In put >` says `input`.
    func letters(in range: Range<Int>, are word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        let pointer = word.utf8Start
        var matched = 0
        for index in range where Byte.isLetter(bytes[index]) {
            guard matched < count, Byte.lower(bytes[index]) == pointer[matched] else { return false }
            matched += 1
        }
        return matched == count
    }

    /// The letters of `range`, lower-cased and with everything else left out, end with `word`.
    func letters(in range: Range<Int>, endWith word: StaticString) -> Bool {
        let pointer = word.utf8Start
        var remaining = word.utf8CodeUnitCount
        for index in range.reversed() where Byte.isLetter(bytes[index]) {
            guard remaining > 0 else { return true }
            remaining -= 1
            guard Byte.lower(bytes[index]) == pointer[remaining] else { return false }
        }
        return remaining == 0
    }

    func number(_ range: Range<Int>) -> Int {
        var value = 0
        for index in range { value = value * 10 + Int(bytes[index] &- 0x30) }
        return value
    }

    func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// The dialed digits without pause (`P`) marks, which are timing, not digits.
    func text(withoutPauses range: Range<Int>) -> String {
        var hasPause = false
        for index in range where bytes[index] == 0x50 { hasPause = true }
        guard hasPause else { return text(range) }
        var kept: [UInt8] = []
        for index in range where bytes[index] != 0x50 { kept.append(bytes[index]) }
        return String(decoding: kept, as: UTF8.self)
    }
}
