import TamasEvents

/// Cuts the byte stream into record texts. Segal and Danjeh end a record with `@` (the capture
/// shows `@` then blank lines, and YasnaSDK reads records up to `@`), so `@`, CR and LF all end
/// a record and nothing waits for a line end. Modems send lines.
public struct RecordFramer: Sendable {
    public struct Record: Equatable, Sendable {
        public var text: String
        public var truncated: Bool
    }

    public static let maxRecordBytes = 256

    private let endsAtSign: Bool
    private var lineFramer = LineFramer(maxLineBytes: RecordFramer.maxRecordBytes)
    private var buffer: [UInt8] = []

    public init(protocol: CallerIDProtocol) {
        endsAtSign = `protocol` != .modem
    }

    public mutating func push(_ bytes: [UInt8]) -> [Record] {
        guard endsAtSign else {
            return lineFramer.push(bytes).map { Record(text: $0.text, truncated: $0.truncated) }
        }
        var records: [Record] = []
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "@"), 0x0D, 0x0A:
                if !buffer.isEmpty { records.append(take(truncated: false)) }
            case 0x00:
                continue
            default:
                buffer.append(byte)
                if buffer.count >= Self.maxRecordBytes { records.append(take(truncated: true)) }
            }
        }
        return records.filter { $0.truncated || !$0.text.allSatisfy { $0 == " " || $0 == "\t" } }
    }

    /// Whatever was left without a terminator when the input ended.
    public mutating func flush() -> Record? {
        guard endsAtSign else {
            return lineFramer.flush().first.map { Record(text: $0.text, truncated: false) }
        }
        guard !buffer.isEmpty else { return nil }
        return take(truncated: false)
    }

    private mutating func take(truncated: Bool) -> Record {
        defer { buffer.removeAll(keepingCapacity: true) }
        return Record(text: LineFramer.decode(buffer), truncated: truncated)
    }
}
