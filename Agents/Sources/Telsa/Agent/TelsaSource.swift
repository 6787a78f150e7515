import AgentCore
import Logging
import TamasEvents

/// `tamas-agent telsa`: announces the recordings of a Telsa recorder's folder and serves them
/// on request over the command channel.
public struct TelsaSource: AgentSource {
    public let kind = SourceName.telsa.rawValue
    public let settings: TelsaAgentSettings
    let logger: Logger

    public init(settings: TelsaAgentSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public var commandHandlers: [CommandHandler] { [RecordingFetchHandler(root: settings.root)] }

    public func run(into sink: EventSink) async throws {
        let watch = TelsaFolderWatch(settings: settings, logger: logger)
        try await watch.run(TelsaFolderWatch.Output(
            emit: { recordings in
                if !recordings.isEmpty { sink.noteInput() }
                try await sink.emit(recordings)
            },
            report: { await sink.report(state: $0, detail: $1) }))
    }
}
