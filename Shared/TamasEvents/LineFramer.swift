/// Splits a byte stream into lines the way serial devices and PBX ports send them: LF, CR, or
/// CR+LF (never an empty line between CR and LF), form feed as a line break, NUL ignored.
/// Bytes are decoded as ISO-8859-1 when they are not valid UTF-8, so no input is ever lost to
/// a decoding error. A line longer than `maxLineBytes` is cut and handed out flagged, so a
/// device that never sends a line end cannot grow memory without bound.
public struct LineFramer: Sendable {
    public struct Line: Equatable, Sendable {
        public var text: String
        /// The line hit `maxLineBytes` before any line end.
        public var truncated: Bool
    }

    public let maxLineBytes: Int
    /// Hand out empty lines too, for formats where line numbers are part of error messages.
    public let keepsEmptyLines: Bool
    private var buffer: [UInt8] = []
    private var lastWasCR = false

    public init(maxLineBytes: Int = 4096, keepsEmptyLines: Bool = false) {
        self.maxLineBytes = maxLineBytes
        self.keepsEmptyLines = keepsEmptyLines
    }

    public mutating func push(_ bytes: [UInt8]) -> [Line] {
        var lines: [Line] = []
        for byte in bytes {
            switch byte {
            case 0x0A:
                if lastWasCR { lastWasCR = false; continue }
                lines.append(take(truncated: false))
            case 0x0D:
                lastWasCR = true
                lines.append(take(truncated: false))
                continue
            case 0x0C:
                lines.append(take(truncated: false))
            case 0x00:
                break
            default:
                buffer.append(byte)
                if buffer.count >= maxLineBytes { lines.append(take(truncated: true)) }
            }
            lastWasCR = false
        }
        return keepsEmptyLines ? lines : lines.filter { !$0.text.isEmpty || $0.truncated }
    }

    /// What is left without a line end (at EOF).
    public mutating func flush() -> [Line] {
        lastWasCR = false
        guard !buffer.isEmpty else { return [] }
        return [take(truncated: false)]
    }

    private mutating func take(truncated: Bool) -> Line {
        defer { buffer.removeAll(keepingCapacity: true) }
        return Line(text: Self.decode(buffer), truncated: truncated)
    }

    public static func decode(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
}
