import AgentCore
import Logging
import TamasEvents

/// `tamas-agent ami run`: calls, extension states and recordings from an Asterisk server's AMI.
public struct AMISource: AgentSource {
    public let kind = SourceName.ami.rawValue
    let client: AMIClient
    let audit: SpyAuditLog
    let recordings: AMIRecordingFetchHandler
    let logger: Logger

    public init(settings: AMIAgentSettings, logger: Logger) {
        client = AMIClient(settings: settings, logger: logger)
        audit = SpyAuditLog(path: settings.spyAuditLog, logger: logger)
        recordings = AMIRecordingFetchHandler(download: settings.recordingDownload, root: settings.ami.recordingPath, logger: logger)
        self.logger = logger
    }

    public func run(into sink: EventSink) async throws {
        try await client.run(into: SpoolOutlet(sink: sink))
    }

    public var commandHandlers: [CommandHandler] {
        [AMICommandHandler(client: client, audit: audit, logger: logger), recordings]
    }
}
