import Foundation

/// Reads the JSON Tamas writes for events and call records several times faster than
/// `JSONDecoder`, whose Codable machinery was the largest item in the collector's ingest profile.
///
/// It accepts only a strict subset of JSON: objects with the known keys, strings, plain integers,
/// `null`, string arrays. Anything else (an unknown key, a fraction, a duplicate key, bad UTF-8,
/// a syntax error) makes it answer nil, and callers then use `JSONDecoder`, which stays the
/// reference for every edge case and for the error message a user sees. So the fast path can
/// only ever agree with Foundation or step aside; `FastJSONTests` checks that by differential fuzzing.
struct FastJSONReader {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    static func read<Value>(_ data: Data, _ body: (inout FastJSONReader) -> Value?) -> Value? {
        data.withUnsafeBytes { raw in
            var reader = FastJSONReader(raw)
            guard let value = body(&reader), reader.atEnd() else { return nil }
            return value
        }
    }

    // MARK: Grammar

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// Whitespace then the end of input: trailing bytes make the whole document invalid.
    mutating func atEnd() -> Bool {
        skipWhitespace()
        return index == bytes.count
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// Calls `field` with each key's position in `keys`, the reader at its value; `field` answers
    /// false to give up. An unknown key gives up, and so does a key seen twice: which of two
    /// values Foundation keeps is not ours to guess.
    mutating func object(keys: FieldKeys, _ field: (inout FastJSONReader, Int) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "{")) else { return false }
        if consume(UInt8(ascii: "}")) { return true }
        var seen: UInt64 = 0
        repeat {
            guard let key = string(), let position = keys.positions[key],
                  seen & (1 << position) == 0, consume(UInt8(ascii: ":")) else { return false }
            seen |= 1 << position
            guard field(&self, position) else { return false }
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "}"))
    }

    /// True and consumed when the next value is `null`.
    mutating func null() -> Bool {
        skipWhitespace()
        guard bytes.count - index >= 4, bytes[index] == UInt8(ascii: "n"), bytes[index + 1] == UInt8(ascii: "u"),
              bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "l") else { return false }
        index += 4
        return true
    }

    mutating func string() -> String? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = index
        var highBits: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let content = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                index += 1
                // ASCII needs no validation, and `String(validating:)` costs more than the rest of the read.
                return highBits < 0x80 ? String(decoding: content, as: UTF8.self) : String(validating: content, as: UTF8.self)
            }
            highBits |= byte
            if byte == UInt8(ascii: "\\") { return escapedString(from: start) }
            if byte < 0x20 { return nil }
            index += 1
        }
        return nil
    }

    private mutating func escapedString(from start: Int) -> String? {
        var unescaped = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: unescaped, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): unescaped.append(escape)
                case UInt8(ascii: "b"): unescaped.append(0x08)
                case UInt8(ascii: "f"): unescaped.append(0x0C)
                case UInt8(ascii: "n"): unescaped.append(0x0A)
                case UInt8(ascii: "r"): unescaped.append(0x0D)
                case UInt8(ascii: "t"): unescaped.append(0x09)
                case UInt8(ascii: "u"):
                    guard let scalar = unicodeEscape() else { return nil }
                    unescaped.append(contentsOf: String(Character(scalar)).utf8)
                default: return nil
                }
            case ..<0x20:
                return nil
            default:
                unescaped.append(byte)
            }
        }
        return nil
    }

    /// `XXXX` after `\u`, with a following `\uXXXX` low surrogate when the first is a high one.
    /// Lone surrogates give up.
    private mutating func unicodeEscape() -> Unicode.Scalar? {
        guard let first = hex4() else { return nil }
        guard (0xD800...0xDBFF).contains(first) else { return Unicode.Scalar(first) }
        guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else { return nil }
        index += 2
        guard let second = hex4(), (0xDC00...0xDFFF).contains(second) else { return nil }
        return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
    }

    private mutating func hex4() -> UInt32? {
        guard bytes.count - index >= 4 else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// A plain integer: optional minus, no leading zero, no fraction or exponent, in range.
    mutating func int() -> Int? {
        skipWhitespace()
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        let start = index
        var magnitude = 0
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            let (shifted, overflowA) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = shifted.addingReportingOverflow(Int(bytes[index] - UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { return nil }
            magnitude = sum
            index += 1
        }
        let digits = index - start
        guard digits > 0, !(digits > 1 && bytes[start] == UInt8(ascii: "0")) else { return nil }
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) { return nil }
        return negative ? -magnitude : magnitude
    }

    mutating func stringArray() -> [String]? {
        guard consume(UInt8(ascii: "[")) else { return nil }
        var values: [String] = []
        if consume(UInt8(ascii: "]")) { return values }
        repeat {
            guard let value = string() else { return nil }
            values.append(value)
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "]")) ? values : nil
    }

    mutating func timestamp() -> Timestamp? {
        string().flatMap(Timestamp.init(iso8601:))
    }

    mutating func raw<Value: RawRepresentable>(_: Value.Type) -> Value? where Value.RawValue == String {
        string().flatMap(Value.init(rawValue:))
    }

    // MARK: Optional fields

    /// Reads an optional field: `null` leaves it nil (as `decodeIfPresent` does); any other
    /// value must parse, or the whole read gives up.
    mutating func optional<Value>(_ target: inout Value?, _ read: (inout FastJSONReader) -> Value?) -> Bool {
        if null() { return true }
        guard let value = read(&self) else { return false }
        target = value
        return true
    }

    private static let recordingLinkKeys = FieldKeys(["ref", "agent", "url"])

    mutating func recordingLink() -> RecordingLink? {
        var ref: String?
        var agent: String?
        var url: String?
        let complete = object(keys: Self.recordingLinkKeys) { reader, key in
            switch key {
            case 0: reader.optional(&ref) { $0.string() }
            case 1: reader.optional(&agent) { $0.string() }
            default: reader.optional(&url) { $0.string() }
            }
        }
        guard complete, let ref else { return nil }
        return RecordingLink(ref: ref, agent: agent, url: url)
    }
}

/// The keys a decoder knows, numbered in the order given.
struct FieldKeys: Sendable {
    let positions: [String: Int]

    init(_ names: [String]) {
        precondition(names.count <= 64, "a field mask holds 64 keys")
        positions = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
    }
}
