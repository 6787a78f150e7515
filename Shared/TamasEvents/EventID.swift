/// Stable identifiers derived from the input, so the same line or AMI message always yields
/// the same `eventId`/`callId` and the collector's (systemKey, eventId) uniqueness catches
/// resends, restarts and two agents reading the same PBX.
///
/// FNV-1a over 128 bits: deterministic across processes and platforms (Swift's `Hasher` is
/// seeded per process), cheap enough for a million lines a second, and wide enough that a
/// collision within one system's lifetime is not a practical concern for non-adversarial input.
public enum StableID {
    /// Hashes `parts` with a separator byte that cannot occur in UTF-8 text, so that
    /// ("ab", "c") and ("a", "bc") differ.
    public static func make(_ parts: [String]) -> String {
        var builder = Builder()
        for part in parts { builder.append(part) }
        return builder.id
    }

    public static func make(_ parts: String...) -> String { make(parts) }

    /// The same hash fed one part at a time, for hot paths that should not build an array, and
    /// so a common first part (a system key) can be hashed once and the state copied.
    public struct Builder: Sendable {
        private var low: UInt64 = 0x62b8_2175_6295_c58d
        private var high: UInt64 = 0x6c62_272e_07bb_0142
        private var hasParts = false

        public init() {}

        public mutating func append(_ part: String) {
            if hasParts { mix(0xFF) }
            hasParts = true
            var text = part
            text.withUTF8 { bytes in
                for byte in bytes { mix(byte) }
            }
        }

        /// Hashes `digest` exactly as `append(digest.id)` would, without making the string.
        public mutating func append(_ digest: Digest) {
            if hasParts { mix(0xFF) }
            hasParts = true
            mixHex(digest.high)
            mixHex(digest.low)
        }

        /// The state is kept in locals for the 16 steps: mixed into the stored properties, each
        /// step loaded what the previous one had just stored, which about doubled the time of
        /// an event id's 32 hex digits.
        private mutating func mixHex(_ value: UInt64) {
            var low = self.low
            var high = self.high
            for index in 0..<16 {
                let nibble = UInt8(truncatingIfNeeded: value >> UInt64(60 - 4 * index)) & 0xF
                Self.mix(Digest.hexDigit(nibble), low: &low, high: &high)
            }
            self.low = low
            self.high = high
        }

        @inline(__always) private mutating func mix(_ byte: UInt8) { Self.mix(byte, low: &low, high: &high) }

        /// FNV-1a step. The 128-bit prime is 2^88 + 0x13B, so the product needs one widening
        /// multiply by 0x13B and a shift instead of a general 128-bit multiply.
        @inline(__always) private static func mix(_ byte: UInt8, low: inout UInt64, high: inout UInt64) {
            low ^= UInt64(byte)
            let product = low.multipliedFullWidth(by: 0x13B)
            high = product.high &+ high &* 0x13B &+ (low &<< 24)
            low = product.low
        }

        public var id: String { digest.id }

        public var digest: Digest { Digest(high: high, low: low) }
    }

    /// A finished id as its 128 bits, for code that keeps ids (compares them, hashes them
    /// further) and needs the 32-character text only for the few it puts into an event.
    public struct Digest: Hashable, Sendable {
        public var high: UInt64
        public var low: UInt64

        public init(high: UInt64, low: UInt64) {
            self.high = high
            self.low = low
        }

        /// The id as text: 32 lower-case hex digits, high half first.
        public var id: String {
            String(unsafeUninitializedCapacity: 32) { buffer in
                Self.writeHex(high, into: buffer, at: 0)
                Self.writeHex(low, into: buffer, at: 16)
                return 32
            }
        }

        private static func writeHex(_ value: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int) {
            var remaining = value
            for index in stride(from: start + 15, through: start, by: -1) {
                buffer[index] = hexDigit(UInt8(truncatingIfNeeded: remaining & 0xF))
                remaining >>= 4
            }
        }

        @inline(__always) static func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x57 + nibble }
    }

    /// An id as an event holds it: the text read from the wire, or the digest a source hashed,
    /// written out as text only when something reads it.
    enum Value: Equatable, Sendable {
        case text(String)
        case digest(Digest)

        var text: String {
            switch self {
            case .text(let text): text
            case .digest(let digest): digest.id
            }
        }

        static func == (lhs: Value, rhs: Value) -> Bool {
            if case .digest(let left) = lhs, case .digest(let right) = rhs { return left == right }
            return lhs.text == rhs.text
        }
    }
}
