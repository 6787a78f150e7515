import Foundation

/// What the framer recognized in the byte stream.
public enum AMIFrame: Hashable, Sendable {
    /// `Asterisk Call Manager/2.10.6`: `version` is the part after the slash.
    case banner(line: String, version: String)
    case message(AMIMessage)
    /// Bytes that are not AMI: kept (cut to `AMIFramer.reportedBytes`) with the reason.
    case unparsed(raw: String, reason: String)
}

/// Splits AMI bytes, in any fragmentation, into the banner and messages.
///
/// Memory is bounded: a line longer than `maxLineBytes` or a message longer than
/// `maxMessageBytes` is reported and the rest of that message skipped. Events named in
/// `droppedEvents` are skipped right after their `Event:` line without building anything,
/// because on a busy server most of the stream is VarSet/Newexten/RTCP that nobody reads.
public struct AMIFramer: Sendable {
    public static let reportedBytes = 512
    public let maxLineBytes: Int
    public let maxMessageBytes: Int
    public var droppedEvents: Set<String>
    /// How many events were discarded by name (for the benchmark and status reports).
    public private(set) var droppedEventCount = 0

    private enum Mode: Sendable {
        case headers
        case skipping
        /// Old `Response: Follows` answer: raw output until `--END COMMAND--`.
        case follows(ended: Bool)
    }

    private var mode = Mode.headers
    private var partialLine: [UInt8] = []
    private var discardingLongLine = false
    private var bytes: [UInt8] = []
    private var fields: [AMIMessage.Field] = []
    private var followsOutput: [String] = []
    private var messageSize = 0

    public init(maxLineBytes: Int = 16 * 1024, maxMessageBytes: Int = 256 * 1024, droppedEvents: Set<String> = []) {
        self.maxLineBytes = max(64, maxLineBytes)
        self.maxMessageBytes = max(self.maxLineBytes, maxMessageBytes)
        self.droppedEvents = droppedEvents
        bytes.reserveCapacity(1024)
        fields.reserveCapacity(24)
    }

    /// Forgets any half-received message (a new connection starts clean).
    public mutating func reset() {
        mode = .headers
        partialLine.removeAll(keepingCapacity: true)
        discardingLongLine = false
        clearMessage()
    }

    public mutating func push(_ input: [UInt8]) -> [AMIFrame] {
        var frames: [AMIFrame] = []
        input.withUnsafeBufferPointer { buffer in
            var start = 0
            let count = buffer.count
            while start < count {
                guard let newline = Self.indexOfNewline(buffer, from: start) else {
                    appendPartial(UnsafeBufferPointer(rebasing: buffer[start..<count]), into: &frames)
                    return
                }
                if partialLine.isEmpty, !discardingLongLine {
                    line(UnsafeBufferPointer(rebasing: buffer[start..<newline]), into: &frames)
                } else {
                    appendPartial(UnsafeBufferPointer(rebasing: buffer[start..<newline]), into: &frames)
                    let wasDiscarding = discardingLongLine
                    discardingLongLine = false
                    if !wasDiscarding {
                        let whole = partialLine
                        partialLine.removeAll(keepingCapacity: true)
                        whole.withUnsafeBufferPointer { line($0, into: &frames) }
                    }
                }
                start = newline + 1
            }
        }
        return frames
    }

    /// End of input: a message that lacks only its closing blank line is still delivered.
    public mutating func finish() -> [AMIFrame] {
        var frames: [AMIFrame] = []
        if !partialLine.isEmpty, !discardingLongLine {
            let whole = partialLine
            partialLine.removeAll()
            whole.withUnsafeBufferPointer { line($0, into: &frames) }
        }
        switch mode {
        case .headers:
            line(UnsafeBufferPointer(start: nil, count: 0), into: &frames)
        case .follows:
            frames.append(.message(AMIMessage(bytes: bytes, fields: fields, followsOutput: followsOutput)))
        case .skipping:
            break
        }
        reset()
        return frames
    }

    /// `memchr` is vectorized by the C library: on a busy server this scan is most of the framing cost.
    private static func indexOfNewline(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard let base = buffer.baseAddress, start < buffer.count,
              let found = memchr(base + start, 0x0A, buffer.count - start) else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    private mutating func appendPartial(_ chunk: UnsafeBufferPointer<UInt8>, into frames: inout [AMIFrame]) {
        guard !discardingLongLine else { return }
        partialLine.append(contentsOf: chunk)
        if partialLine.count > maxLineBytes {
            frames.append(.unparsed(raw: Self.text(partialLine.prefix(Self.reportedBytes)), reason: "AMI line longer than \(maxLineBytes) bytes; the message it belongs to was skipped"))
            partialLine.removeAll(keepingCapacity: true)
            discardingLongLine = true
            clearMessage()
            mode = .skipping
        }
    }

    private mutating func line(_ raw: UnsafeBufferPointer<UInt8>, into frames: inout [AMIFrame]) {
        var end = raw.count
        while end > 0, raw[end - 1] == 0x0D { end -= 1 }
        let line = UnsafeBufferPointer(rebasing: raw[0..<end])
        switch mode {
        case .skipping:
            if line.isEmpty { mode = .headers }
        case .follows(let ended):
            followsLine(line, ended: ended, into: &frames)
        case .headers:
            headerLine(line, into: &frames)
        }
    }

    private mutating func headerLine(_ line: UnsafeBufferPointer<UInt8>, into frames: inout [AMIFrame]) {
        if line.isEmpty {
            if !fields.isEmpty { frames.append(.message(AMIMessage(bytes: bytes, fields: fields))) }
            clearMessage()
            return
        }
        if fields.isEmpty, Self.hasPrefix(line, Self.bannerPrefix) {
            let text = Self.text(line)
            let version = text.split(separator: "/", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
            frames.append(.banner(line: text, version: version.trimmingSpaces()))
            return
        }
        guard let colon = line.firstIndex(of: 0x3A) else {
            frames.append(.unparsed(raw: Self.text(line.prefix(Self.reportedBytes)), reason: "AMI line without 'Key: Value' separator"))
            return
        }
        var keyEnd = colon
        while keyEnd > 0, line[keyEnd - 1] == 0x20 { keyEnd -= 1 }
        var valueStart = colon + 1
        while valueStart < line.count, line[valueStart] == 0x20 || line[valueStart] == 0x09 { valueStart += 1 }
        var valueEnd = line.count
        while valueEnd > valueStart, line[valueEnd - 1] == 0x20 { valueEnd -= 1 }
        let keyBytes = UnsafeBufferPointer(rebasing: line[0..<keyEnd])

        if fields.isEmpty, !droppedEvents.isEmpty, Self.equalsLowercased(keyBytes, Self.eventKey) {
            let name = Self.text(UnsafeBufferPointer(rebasing: line[valueStart..<valueEnd]))
            if droppedEvents.contains(name) {
                droppedEventCount += 1
                mode = .skipping
                return
            }
        }
        messageSize += line.count + 2
        if messageSize > maxMessageBytes {
            var shown = bytes
            shown.append(contentsOf: line)
            frames.append(.unparsed(raw: Self.text(shown.prefix(Self.reportedBytes)), reason: "AMI message longer than \(maxMessageBytes) bytes; skipped"))
            clearMessage()
            mode = .skipping
            return
        }
        let lineStart = bytes.count
        bytes.append(contentsOf: line)
        bytes.append(0x0A)
        fields.append(AMIMessage.Field(keyStart: Int32(lineStart), keyEnd: Int32(lineStart + keyEnd),
                                       valueStart: Int32(lineStart + valueStart), valueEnd: Int32(lineStart + valueEnd)))
        if Self.equalsLowercased(keyBytes, Self.responseKey),
           Self.equalsLowercased(UnsafeBufferPointer(rebasing: line[valueStart..<valueEnd]), Self.followsValue) {
            mode = .follows(ended: false)
        }
    }

    private mutating func followsLine(_ line: UnsafeBufferPointer<UInt8>, ended: Bool, into frames: inout [AMIFrame]) {
        if ended {
            if line.isEmpty {
                frames.append(.message(AMIMessage(bytes: bytes, fields: fields, followsOutput: followsOutput)))
                clearMessage()
                mode = .headers
            } else {
                frames.append(.unparsed(raw: Self.text(line.prefix(Self.reportedBytes)), reason: "text after --END COMMAND-- before the blank line"))
            }
            return
        }
        if followsOutput.isEmpty, let colon = line.firstIndex(of: 0x3A) {
            let key = UnsafeBufferPointer(rebasing: line[0..<colon])
            if Self.equalsLowercased(key, Self.actionIDKey) || Self.equalsLowercased(key, Self.privilegeKey) {
                mode = .headers
                headerLine(line, into: &frames)
                mode = .follows(ended: false)
                return
            }
        }
        messageSize += line.count + 2
        if messageSize > maxMessageBytes {
            frames.append(.unparsed(raw: Self.text(followsOutput.joined(separator: "\n").utf8.prefix(Self.reportedBytes)), reason: "AMI command output longer than \(maxMessageBytes) bytes; skipped"))
            clearMessage()
            mode = .skipping
            return
        }
        if Self.hasSuffix(line, Self.endCommand) {
            let before = UnsafeBufferPointer(rebasing: line[0..<(line.count - Self.endCommand.count)])
            if !before.isEmpty { followsOutput.append(Self.text(before)) }
            mode = .follows(ended: true)
            return
        }
        followsOutput.append(Self.text(line))
    }

    private mutating func clearMessage() {
        bytes.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
        followsOutput.removeAll(keepingCapacity: true)
        messageSize = 0
    }

    private static let bannerPrefix = Array("Asterisk Call Manager".utf8)
    private static let eventKey = Array("event".utf8)
    private static let responseKey = Array("response".utf8)
    private static let followsValue = Array("follows".utf8)
    private static let actionIDKey = Array("actionid".utf8)
    private static let privilegeKey = Array("privilege".utf8)
    private static let endCommand = Array("--END COMMAND--".utf8)

    private static func equalsLowercased(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercased: [UInt8]) -> Bool {
        guard bytes.count == lowercased.count else { return false }
        for index in 0..<bytes.count where AMIMessage.lowercase(bytes[index]) != lowercased[index] { return false }
        return true
    }

    private static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ prefix: [UInt8]) -> Bool {
        guard bytes.count >= prefix.count else { return false }
        for index in 0..<prefix.count where bytes[index] != prefix[index] { return false }
        return true
    }

    private static func hasSuffix(_ bytes: UnsafeBufferPointer<UInt8>, _ suffix: [UInt8]) -> Bool {
        guard bytes.count >= suffix.count else { return false }
        let offset = bytes.count - suffix.count
        for index in 0..<suffix.count where bytes[offset + index] != suffix[index] { return false }
        return true
    }

    static func text<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
}

extension String {
    func trimmingSpaces() -> String {
        var view = Substring(self)
        while view.first == " " || view.first == "\t" { view.removeFirst() }
        while view.last == " " || view.last == "\t" { view.removeLast() }
        return String(view)
    }
}
