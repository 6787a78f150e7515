import AgentCore
import Foundation
import TamasLink
import TelsaProtocol

/// `fetch-recording`: streams one recording from the Telsa folder back over the command
/// channel (docs/telsa.md, "Recording fetch"). Arguments: `ref` (from `recording.available`),
/// optional `offset` and `length` (a byte range). Chunking and the result are `RecordingFetch`'s;
/// this handler adds the Telsa ref, the file version check and the safe local open.
public struct RecordingFetchHandler: CommandHandler {
    public static let commandName = RecordingFetch.commandName
    public static let chunkBytes = RecordingFetch.chunkBytes
    static let formats: Set<String> = ["wav", "mp3"]

    let root: String

    public init(root: String) {
        self.root = root
    }

    public var commandNames: Set<String> { [Self.commandName] }

    public func handle(_ command: Command, replies: CommandReplies) async -> CommandResult {
        do {
            let request = try RecordingFetch.Request(command.arguments)
            guard let ref = TelsaRecordingRef(encoded: request.ref) else {
                throw RecordingFetch.Problem("'\(request.ref)' is not a Telsa recording ref (<size>-<modified ms>/<path>)")
            }
            let result = try await stream(request, ref: ref, commandId: command.id, replies: replies)
            return CommandResult(id: command.id, ok: true, output: try result.json())
        } catch {
            return CommandResult(id: command.id, ok: false, error: "\(error)")
        }
    }

    private func stream(_ request: RecordingFetch.Request, ref: TelsaRecordingRef, commandId: String,
                        replies: CommandReplies) async throws -> RecordingFetchResult {
        let path = ref.path
        let fileName = String(path.split(separator: "/").last ?? Substring(path))
        guard let contentType = RecordingFetch.contentType(fileName: fileName, allowed: Self.formats) else {
            throw RecordingAccessError.refused(path: path, reason: "only .wav and .mp3 recordings are served")
        }
        let io = BlockingQueue(label: "tamas.telsa.fetch")
        let file = try await io.run { [root] in try RecordingFile.open(root: root, path: path) }
        do {
            guard file.size == ref.size, file.modifiedMillis == ref.modifiedMillis else {
                throw RecordingFetch.Problem("the recording changed since it was announced (ref \(ref.size) bytes modified at \(ref.modifiedMillis) ms, now \(file.size) bytes at \(file.modifiedMillis) ms)")
            }
            let end = try request.end(size: file.size)
            try await RecordingFetch.stream(commandId: commandId, offset: request.offset, end: end, replies: replies) { start, length, deliver in
                var offset = start
                while offset < start + length {
                    let count = Int(min(Int64(RecordingFetch.chunkBytes), start + length - offset))
                    try await deliver(try await io.run { [offset] in try file.read(at: offset, count: count) })
                    offset += Int64(count)
                }
            }
            _ = try? await io.run { file.close() }
            return RecordingFetchResult(size: file.size, offset: request.offset, length: end - request.offset,
                                        contentType: contentType, fileName: fileName)
        } catch {
            _ = try? await io.run { file.close() }
            throw error
        }
    }
}
