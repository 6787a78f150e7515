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

    /// Every byte a line-based source reads passes through here, so ordinary bytes are handled
    /// a run at a time, and a line that lies wholly inside `bytes` is decoded from there
    /// without being copied into `buffer`.
    public mutating func push(_ bytes: [UInt8]) -> [Line] {
        var lines: [Line] = []
        bytes.withUnsafeBufferPointer { input in
            var index = 0
            while index < input.count {
                let byte = input[index]
                if !Self.isControl(byte) {
                    var runEnd = index + 1
                    while runEnd < input.count, !Self.isControl(input[runEnd]) { runEnd += 1 }
                    let run = UnsafeBufferPointer(rebasing: input[index..<runEnd])
                    if buffer.isEmpty, runEnd < input.count, input[runEnd] != 0x00, run.count < maxLineBytes {
                        lines.append(Line(text: Self.decode(run), truncated: false))
                        lastWasCR = input[runEnd] == 0x0D
                        index = runEnd + 1
                    } else {
                        lastWasCR = false
                        append(run, into: &lines)
                        index = runEnd
                    }
                    continue
                }
                switch byte {
                case 0x0A:
                    if lastWasCR {
                        lastWasCR = false
                    } else {
                        takeLine(into: &lines)
                    }
                case 0x0D:
                    takeLine(into: &lines)
                    lastWasCR = true
                case 0x0C:
                    takeLine(into: &lines)
                    lastWasCR = false
                default:
                    lastWasCR = false
                }
                index += 1
            }
        }
        return lines
    }

    @inline(__always) private static func isControl(_ byte: UInt8) -> Bool {
        byte == 0x0A || byte == 0x0D || byte == 0x0C || byte == 0x00
    }

    /// Adds ordinary bytes to the line being collected, cutting it at `maxLineBytes`.
    private mutating func append(_ run: UnsafeBufferPointer<UInt8>, into lines: inout [Line]) {
        var start = 0
        while start < run.count {
            let room = max(1, min(maxLineBytes - buffer.count, run.count - start))
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: run[start..<start + room]))
            start += room
            if buffer.count >= maxLineBytes { lines.append(take(truncated: true)) }
        }
    }

    /// Ends the line being collected; an empty one only counts when empty lines are kept.
    private mutating func takeLine(into lines: inout [Line]) {
        if buffer.isEmpty && !keepsEmptyLines { return }
        lines.append(take(truncated: false))
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
        bytes.withUnsafeBufferPointer { decode($0) }
    }

    static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        // `String(validating:)` is not specialized for this call and looked up type metadata on
        // every line; ASCII, nearly every line a PBX prints, is valid UTF-8 as it stands.
        if isASCII(bytes) { return String(decoding: bytes, as: UTF8.self) }
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    private static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var seen: UInt8 = 0
        for byte in bytes { seen |= byte }
        return seen < 0x80
    }
}
