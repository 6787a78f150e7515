import AgentCore
import Foundation
import NIOCore
import TamasLink
import TelsaProtocol

/// `fetch-recording`: streams one recording from the Telsa folder back over the command
/// channel (docs/telsa.md, "Recording fetch"). Arguments: `ref` (from `recording.available`),
/// optional `offset` and `length` (a byte range). Bytes go out as `DataChunk`s of at most
/// 256 KiB, in order, the last one marked; the result's output is a `RecordingFetchResult`.
public struct RecordingFetchHandler: CommandHandler {
    public static let commandName = "fetch-recording"
    public static let chunkBytes = 256 * 1024
    static let contentTypes = ["wav": "audio/wav", "mp3": "audio/mpeg"]

    let root: String

    public init(root: String) {
        self.root = root
    }

    public var commandNames: Set<String> { [Self.commandName] }

    public func handle(_ command: Command, replies: CommandReplies) async -> CommandResult {
        do {
            let request = try FetchRequest(command.arguments)
            let result = try await stream(request, commandId: command.id, replies: replies)
            return CommandResult(id: command.id, ok: true, output: try result.json())
        } catch {
            return CommandResult(id: command.id, ok: false, error: "\(error)")
        }
    }

    private func stream(_ request: FetchRequest, commandId: String, replies: CommandReplies) async throws -> RecordingFetchResult {
        let path = request.ref.path
        let fileName = String(path.split(separator: "/").last ?? Substring(path))
        let format = fileName.lastIndex(of: ".").map { fileName[fileName.index(after: $0)...].lowercased() }
        guard let format, let contentType = Self.contentTypes[format] else {
            throw RecordingAccessError.refused(path: path, reason: "only .wav and .mp3 recordings are served")
        }
        let io = BlockingQueue(label: "tamas.telsa.fetch")
        let file = try await io.run { [root] in try RecordingFile.open(root: root, path: path) }
        do {
            guard file.size == request.ref.size, file.modifiedMillis == request.ref.modifiedMillis else {
                throw FetchProblem("the recording changed since it was announced (ref \(request.ref.size) bytes modified at \(request.ref.modifiedMillis) ms, now \(file.size) bytes at \(file.modifiedMillis) ms)")
            }
            guard request.offset <= file.size else {
                throw FetchProblem("offset \(request.offset) is beyond the end of the \(file.size)-byte recording")
            }
            let end = request.length.map { file.size - request.offset > $0 ? request.offset + $0 : file.size } ?? file.size
            var offset = request.offset
            repeat {
                let count = Int(min(Int64(Self.chunkBytes), end - offset))
                let bytes = try await io.run { [offset] in try file.read(at: offset, count: count) }
                let next = offset + Int64(count)
                try await replies.send(DataChunk(commandId: commandId, offset: UInt64(offset), isLast: next == end,
                                                 bytes: ByteBuffer(bytes: bytes)))
                offset = next
            } while offset < end
            _ = try? await io.run { file.close() }
            return RecordingFetchResult(size: file.size, offset: request.offset, length: end - request.offset,
                                        contentType: contentType, fileName: fileName)
        } catch {
            _ = try? await io.run { file.close() }
            throw error
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

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

struct FetchProblem: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

struct FetchRequest {
    var ref: TelsaRecordingRef
    var offset: Int64
    var length: Int64?

    init(_ arguments: [String: String]) throws {
        guard let text = arguments["ref"], !text.isEmpty else { throw FetchProblem("missing argument 'ref'") }
        guard let ref = TelsaRecordingRef(encoded: text) else {
            throw FetchProblem("'\(text)' is not a Telsa recording ref (<size>-<modified ms>/<path>)")
        }
        self.ref = ref
        offset = try Self.count("offset", arguments) ?? 0
        length = try Self.count("length", arguments)
    }

    private static func count(_ name: String, _ arguments: [String: String]) throws -> Int64? {
        guard let text = arguments[name] else { return nil }
        guard let value = Int64(text), value >= 0 else { throw FetchProblem("'\(name)' must be a whole number of bytes, not '\(text)'") }
        return value
    }
}
