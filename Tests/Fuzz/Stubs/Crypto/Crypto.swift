// Fuzzing stub for swift-crypto: only Insecure.MD5.hash is used by AMIProtocol (AMIActions.md5Key).
// Not a real MD5 (deterministic 16-byte fold); good enough to exercise the callers.
public enum Insecure {
    public enum MD5 {
        public static func hash(data: [UInt8]) -> [UInt8] {
            var h: UInt64 = 0xcbf29ce484222325
            var g: UInt64 = 0x84222325cbf29ce4
            for b in data { h = (h ^ UInt64(b)) &* 0x100000001b3; g = (g &+ UInt64(b)) &* 0x9E3779B97F4A7C15 }
            return (0..<8).map { UInt8(truncatingIfNeeded: h >> ($0 * 8)) } + (0..<8).map { UInt8(truncatingIfNeeded: g >> ($0 * 8)) }
        }
    }
}
