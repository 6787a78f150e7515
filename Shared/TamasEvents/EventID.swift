/// Stable identifiers derived from the input, so the same line or AMI message always yields
/// the same `eventId`/`callId` and the collector's (systemKey, eventId) uniqueness catches
/// resends, restarts and two agents reading the same PBX.
///
/// FNV-1a over 128 bits: deterministic across processes and platforms (Swift's `Hasher` is
/// seeded per process), cheap enough for a million lines a second, and wide enough that a
/// collision within one system's lifetime is not a practical concern for non-adversarial input.
public enum StableID {
    private static let offsetBasis: UInt128 = 0x6c62272e07bb014262b821756295c58d
    private static let prime: UInt128 = 0x0000000001000000000000000000013B

    /// Hashes `parts` with a separator byte that cannot occur in UTF-8 text, so that
    /// ("ab", "c") and ("a", "bc") differ.
    public static func make(_ parts: [String]) -> String {
        var hash = offsetBasis
        for (index, part) in parts.enumerated() {
            if index > 0 {
                hash ^= 0xFF
                hash = hash &* prime
            }
            for byte in part.utf8 {
                hash ^= UInt128(byte)
                hash = hash &* prime
            }
        }
        return hex(hash)
    }

    public static func make(_ parts: String...) -> String { make(parts) }

    private static let digits = Array("0123456789abcdef".utf8)

    private static func hex(_ value: UInt128) -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var remaining = value
        for index in stride(from: 31, through: 0, by: -1) {
            bytes[index] = digits[Int(remaining & 0xF)]
            remaining >>= 4
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
