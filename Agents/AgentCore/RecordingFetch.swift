import Foundation
import NIOCore
import TamasLink

/// What every agent that serves `fetch-recording` shares (docs/telsa.md, "Recording fetch";
/// docs/asterisk.md, "Recording download"): the arguments, the chunking of the byte range into
/// `DataChunk`s and the result. Where the bytes come from (a local folder, SFTP, FTP) is the
/// source's business.
public enum RecordingFetch {
    public static let commandName = "fetch-recording"
    public static let chunkBytes = 256 * 1024

    /// `ref` (from `recording.available`), `offset` (default 0) and `length` (default: to the end).
    public struct Request: Sendable, Equatable {
        public var ref: String
        public var offset: Int64
        public var length: Int64?

        public init(_ arguments: [String: String]) throws(Problem) {
            guard let ref = arguments["ref"], !ref.isEmpty else { throw Problem("missing argument 'ref'") }
            self.ref = ref
            offset = try Self.count("offset", arguments) ?? 0
            length = try Self.count("length", arguments)
        }

        private static func count(_ name: String, _ arguments: [String: String]) throws(Problem) -> Int64? {
            guard let text = arguments[name] else { return nil }
            guard let value = Int64(text), value >= 0 else { throw Problem("'\(name)' must be a whole number of bytes, not '\(text)'") }
            return value
        }

        /// The end (exclusive) of the asked range in a file of `size` bytes; a range past the end stops at the end.
        public func end(size: Int64) throws(Problem) -> Int64 {
            guard offset <= size else { throw Problem("offset \(offset) is beyond the end of the \(size)-byte recording") }
            guard let length else { return size }
            return size - offset > length ? offset + length : size
        }
    }

    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String

        public init(_ description: String) {
            self.description = description
        }
    }

    /// The content type of a recording by its file extension, nil for files that are not recordings.
    public static func contentType(fileName: String, allowed: Set<String>) -> String? {
        guard let dot = fileName.lastIndex(of: ".") else { return nil }
        let format = fileName[fileName.index(after: dot)...].lowercased()
        guard allowed.contains(format) else { return nil }
        return ["wav": "audio/wav", "mp3": "audio/mpeg", "gsm": "audio/x-gsm"][format] ?? "application/octet-stream"
    }

    /// Sends `offset..<end` of a recording as `DataChunk`s of at most `chunkBytes`, in file
    /// order, exactly one of them (the last) marked `isLast`; an empty range sends one empty last
    /// chunk. `read(offset, length, deliver)` produces the bytes of the range in order, in pieces
    /// of any size, and returns when it has delivered them all; one chunk at a time is held.
    public static func stream(
        commandId: String, offset start: Int64, end: Int64, replies: CommandReplies,
        read: (_ offset: Int64, _ length: Int64, _ deliver: @escaping @Sendable ([UInt8]) async throws -> Void) async throws -> Void
    ) async throws {
        guard end > start else {
            try await replies.send(DataChunk(commandId: commandId, offset: UInt64(start), isLast: true, bytes: ByteBuffer()))
            return
        }
        let pending = ChunkAssembler(commandId: commandId, start: start, end: end, replies: replies)
        try await read(start, end - start) { bytes in try await pending.append(bytes) }
        let reached = await pending.received
        guard reached == end else {
            throw Problem("the recording ended at byte \(reached), before the end of the range (\(end)): it changed while it was read")
        }
    }

    private actor ChunkAssembler {
        let commandId: String
        let end: Int64
        let replies: CommandReplies
        private var position: Int64
        private var buffer: [UInt8] = []
        var received: Int64 { position + Int64(buffer.count) }

        init(commandId: String, start: Int64, end: Int64, replies: CommandReplies) {
            self.commandId = commandId
            self.end = end
            self.replies = replies
            position = start
        }

        func append(_ bytes: [UInt8]) async throws {
            let room = Int(end - position) - buffer.count
            buffer += bytes.prefix(max(room, 0))
            while buffer.count >= RecordingFetch.chunkBytes || (!buffer.isEmpty && position + Int64(buffer.count) == end) {
                let count = min(buffer.count, RecordingFetch.chunkBytes)
                let next = position + Int64(count)
                try await replies.send(DataChunk(commandId: commandId, offset: UInt64(position), isLast: next == end,
                                                 bytes: ByteBuffer(bytes: buffer[..<count])))
                buffer.removeFirst(count)
                position = next
            }
        }
    }
}

/// The output of a successful `fetch-recording`, as JSON.
public struct RecordingFetchResult: Codable, Equatable, Sendable {
    /// The whole file's size, whatever range was asked for.
    public var size: Int64
    /// The range sent: the first byte and how many bytes.
    public var offset: Int64
    public var length: Int64
    public var contentType: String
    public var fileName: String

    public init(size: Int64, offset: Int64, length: Int64, contentType: String, fileName: String) {
        self.size = size
        self.offset = offset
        self.length = length
        self.contentType = contentType
        self.fileName = fileName
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
