import AgentCore
import Foundation
import Logging
import RemoteFiles
import TamasLink

/// `fetch-recording` for Asterisk: the ref is the absolute path that `recording.available`
/// named; the file is read from the PBX over SFTP or FTP (`ami.recordingDownload`), one
/// connection per command, and streamed as `RecordingFetch` chunks. Arguments and result are
/// the Telsa agent's (docs/telsa.md, "Recording fetch").
struct AMIRecordingFetchHandler: CommandHandler {
    let download: RemoteFilesSettings?
    let root: String
    let logger: Logger

    var commandNames: Set<String> { [RecordingFetch.commandName] }

    func handle(_ command: Command, replies: CommandReplies) async -> CommandResult {
        do {
            let request = try RecordingFetch.Request(command.arguments)
            let path = try AMIRecordingPath.resolve(ref: request.ref, root: root)
            guard let download else {
                throw RecordingFetch.Problem("recording download is off: set ami.recordingDownload (protocol sftp or ftp) in the agent's config")
            }
            let store = try await RemoteFiles.connect(download)
            do {
                let result = try await stream(request, path: path, from: store, commandId: command.id, replies: replies)
                await store.close()
                logger.info("recording sent", metadata: ["path": "\(path)", "offset": "\(result.offset)", "bytes": "\(result.length)"])
                return CommandResult(id: command.id, ok: true, output: try result.json())
            } catch {
                await store.close()
                throw error
            }
        } catch {
            logger.warning("recording fetch failed", metadata: ["ref": "\(command.arguments["ref"] ?? "")", "error": "\(error)"])
            return CommandResult(id: command.id, ok: false, error: "\(error)")
        }
    }

    private func stream(_ request: RecordingFetch.Request, path: String, from store: any RemoteFileStore, commandId: String,
                        replies: CommandReplies) async throws -> RecordingFetchResult {
        let file = try await store.stat(path: path)
        guard file.kind == .file else {
            throw RecordingFetch.Problem("refused '\(path)': not a plain file (\(file.kind == .symbolicLink ? "a symbolic link" : "a folder or device"))")
        }
        let end = try request.end(size: file.size)
        try await RecordingFetch.stream(commandId: commandId, offset: request.offset, end: end, replies: replies) { offset, length, deliver in
            try await store.read(path: path, offset: offset, length: length, chunkBytes: RecordingFetch.chunkBytes, deliver: deliver)
        }
        return RecordingFetchResult(size: file.size, offset: request.offset, length: end - request.offset,
                                    contentType: RecordingFetch.contentType(fileName: file.name, allowed: AMIRecordingPath.formats) ?? "application/octet-stream",
                                    fileName: file.name)
    }
}
