import AgentCLI
import AgentCore
import DeviceLink
import SMDRProtocol
import TamasEvents

/// `tamas-agent smdr`: a Panasonic PBX's call log, from its serial port or its TCP port 2300.
public struct SMDRSource: AgentSource {
    public let kind = SourceName.smdr.rawValue
    public let settings: SMDRAgentSettings

    public init(settings: SMDRAgentSettings) {
        self.settings = settings
    }

    /// Lines of calls still waiting for their outcome (a ring group nobody answered yet, an RC
    /// line before its end line) live only in the decoder. They are committed with the events
    /// and read again after a crash or restart, so the line that settles such a call still lands
    /// on the same call; the events they produce again carry the same ids and are deduplicated.
    public func run(into sink: EventSink) async throws {
        var decoder = SMDRDecoder(settings: settings.decoder)
        var savedOpenLines = try await sink.savedSourceState() ?? ""
        if !savedOpenLines.isEmpty {
            let now = Timestamp.now()
            let lines = savedOpenLines.split(separator: "\n").map(String.init)
            try await sink.emit(lines.flatMap { decoder.receive(line: $0, now: now) })
            await sink.report(state: "resumed", detail: "read again \(lines.count) lines of calls still open before the restart", at: now)
        }
        func emit(_ events: [CallEvent]) async throws {
            let openLines = decoder.openCallLines().joined(separator: "\n")
            guard openLines != savedOpenLines else { return try await sink.emit(events) }
            try await sink.emit(events, sourceState: openLines)
            savedOpenLines = openLines
        }
        try await withLinkInputs(try settings.makeLink()) { inputs in
            for await input in inputs {
                let now = Timestamp.now()
                switch input {
                case .status(let state, let detail): await sink.report(state: state, detail: detail, at: now)
                case .bytes(let bytes):
                    sink.noteInput()
                    try await emit(decoder.receive(bytes, now: now))
                case .tick: try await emit(decoder.tick(now: now))
                case .connected, .disconnected: break
                }
            }
        }
    }
}
