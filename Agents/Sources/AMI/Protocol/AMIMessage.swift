/// One AMI message (event, response or action): its header lines kept verbatim in one buffer
/// with the key and value positions, so framing costs one allocation per message, a value
/// becomes a `String` only when someone asks for it, and the exact text is still there for
/// `raw`. Keys are looked up case-insensitively because Asterisk spells the same key
/// differently across events and versions (`Uniqueid`, `UniqueID`).
public struct AMIMessage: Hashable, Sendable {
    struct Field: Hashable, Sendable {
        var keyStart: Int32
        var keyEnd: Int32
        var valueStart: Int32
        var valueEnd: Int32
    }

    var bytes: [UInt8]
    var fields: [Field]
    /// The raw text of an old-style `Response: Follows` command answer, one entry per line.
    public var followsOutput: [String]

    init(bytes: [UInt8], fields: [Field], followsOutput: [String] = []) {
        self.bytes = bytes
        self.fields = fields
        self.followsOutput = followsOutput
    }

    /// Builds a message from ordered pairs (JSON fixtures, tests).
    public init(_ pairs: [(String, String)]) {
        var bytes: [UInt8] = []
        var fields: [Field] = []
        for (key, value) in pairs {
            let keyStart = bytes.count
            bytes.append(contentsOf: key.utf8)
            let keyEnd = bytes.count
            bytes.append(contentsOf: ": ".utf8)
            let valueStart = bytes.count
            bytes.append(contentsOf: value.utf8)
            fields.append(Field(keyStart: Int32(keyStart), keyEnd: Int32(keyEnd), valueStart: Int32(valueStart), valueEnd: Int32(bytes.count)))
            bytes.append(0x0A)
        }
        self.init(bytes: bytes, fields: fields)
    }

    @inline(__always) static func lowercase(_ byte: UInt8) -> UInt8 {
        byte >= 65 && byte <= 90 ? byte | 0x20 : byte
    }

    /// The value of the first header named `key`, which must be given in lower case.
    public subscript(key: String) -> String? {
        guard let field = field(key) else { return nil }
        return Self.decode(bytes[Int(field.valueStart)..<Int(field.valueEnd)])
    }

    /// Every value of a header that may repeat (`Output:` lines, `Variable:`).
    public func values(_ key: String) -> [String] {
        var key = key
        return key.withUTF8 { name in
            fields.filter { matches($0, name) }.map { Self.decode(bytes[Int($0.valueStart)..<Int($0.valueEnd)]) }
        }
    }

    public func has(_ key: String) -> Bool { field(key) != nil }

    /// Whether the header equals `expected`, compared without building a `String`.
    public func value(_ key: String, is expected: String) -> Bool {
        guard let field = field(key) else { return false }
        var expected = expected
        return expected.withUTF8 { wanted in
            let length = Int(field.valueEnd - field.valueStart)
            guard length == wanted.count else { return false }
            var index = 0
            while index < length {
                if Self.lowercase(bytes[Int(field.valueStart) + index]) != Self.lowercase(wanted[index]) { return false }
                index += 1
            }
            return true
        }
    }

    public var eventName: String? { self["event"] }
    public var isEvent: Bool { has("event") }
    public var isResponse: Bool { has("response") }
    public var isAction: Bool { has("action") }
    public var actionID: String? { self["actionid"] }

    /// Header pairs in order, keys as sent.
    public var pairs: [(key: String, value: String)] {
        fields.map { field in
            (Self.decode(bytes[Int(field.keyStart)..<Int(field.keyEnd)]), Self.decode(bytes[Int(field.valueStart)..<Int(field.valueEnd)]))
        }
    }

    /// The message's lines exactly as received (LF-separated), for `raw` fields.
    public var wireText: String {
        var text = Self.decode(bytes[...])
        for line in followsOutput { text += line + "\n" }
        return text
    }

    private func field(_ key: String) -> Field? {
        var key = key
        return key.withUTF8 { name in
            for field in fields where matches(field, name) { return field }
            return nil
        }
    }

    @inline(__always) private func matches(_ field: Field, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        let length = Int(field.keyEnd - field.keyStart)
        guard length == name.count else { return false }
        var index = 0
        let start = Int(field.keyStart)
        while index < length {
            if Self.lowercase(bytes[start + index]) != name[index] { return false }
            index += 1
        }
        return true
    }

    static func decode(_ slice: ArraySlice<UInt8>) -> String {
        if let text = String(validating: slice, as: UTF8.self) { return text }
        return String(String.UnicodeScalarView(slice.map { Unicode.Scalar($0) }))
    }

    public static func == (lhs: AMIMessage, rhs: AMIMessage) -> Bool {
        lhs.pairs.elementsEqual(rhs.pairs, by: { $0.key.lowercased() == $1.key.lowercased() && $0.value == $1.value })
            && lhs.followsOutput == rhs.followsOutput
    }

    public func hash(into hasher: inout Hasher) {
        for pair in pairs {
            hasher.combine(pair.key.lowercased())
            hasher.combine(pair.value)
        }
        hasher.combine(followsOutput)
    }
}
