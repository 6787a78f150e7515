import AgentCLI
import AgentCore
import CallerIDProtocol
import DeviceLink
import TamasEvents

/// `tamas-agent cid`: an Iranian caller-ID box (Segal, Danjeh) or a caller-ID modem on a serial port.
public struct CallerIDSource: AgentSource {
    public let kind = SourceName.callerid.rawValue
    public let settings: CallerIDAgentSettings

    public init(settings: CallerIDAgentSettings) {
        self.settings = settings
    }

    public func run(into sink: EventSink) async throws {
        var decoder = CallerIDDecoder(settings: settings.decoder)
        let link = try SerialLink(settings: settings.serial)
        try await withLinkInputs(link) { inputs in
            for await input in inputs {
                let now = Timestamp.now()
                var toDevice: [UInt8] = []
                switch input {
                case .status(let state, let detail): try await sink.report(state: state, detail: detail, at: now)
                case .connected: toDevice = decoder.portOpened(now: now)
                case .disconnected: try await sink.emit(decoder.finish(now: now))
                case .bytes(let bytes):
                    sink.noteInput()
                    try await sink.emit(decoder.receive(bytes, now: now))
                case .tick: try await sink.emit(decoder.tick(now: now))
                }
                toDevice += decoder.takeBytesToWrite()
                guard !toDevice.isEmpty else { continue }
                do {
                    try await link.write(toDevice)
                } catch {
                    // The port went away between the bytes and the write; the decoder sends its
                    // init string again when the port reopens.
                    try await sink.report(state: "writeFailed", detail: "\(error)", at: now)
                }
            }
        }
    }
}
