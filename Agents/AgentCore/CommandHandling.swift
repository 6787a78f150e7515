import TamasLink

/// Something that executes commands arriving from the collector (click-to-call, spy, recording
/// fetch, ...). Each source registers what it supports; unknown names get a clear error result.
public protocol CommandHandler: Sendable {
    var commandNames: Set<String> { get }
    func handle(_ command: Command, replies: CommandReplies) async -> CommandResult
}

/// How a handler streams bytes back (a recording) before its final result.
public struct CommandReplies: Sendable {
    let sendData: @Sendable (DataChunk) async throws -> Void

    public init(sendData: @escaping @Sendable (DataChunk) async throws -> Void) {
        self.sendData = sendData
    }

    public func send(_ chunk: DataChunk) async throws {
        try await sendData(chunk)
    }
}
