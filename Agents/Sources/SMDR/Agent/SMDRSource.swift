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

    public func run(into sink: EventSink) async throws {
        var decoder = SMDRDecoder(settings: settings.decoder)
        try await withLinkInputs(try settings.makeLink()) { inputs in
            for await input in inputs {
                let now = Timestamp.now()
                switch input {
                case .status(let state, let detail): try await sink.report(state: state, detail: detail, at: now)
                case .bytes(let bytes):
                    sink.noteInput()
                    try await sink.emit(decoder.receive(bytes, now: now))
                case .tick: try await sink.emit(decoder.tick(now: now))
                case .connected, .disconnected: break
                }
            }
        }
    }
}
