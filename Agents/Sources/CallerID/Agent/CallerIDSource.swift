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

    /// Calls in progress (a line that rang and has not hung up yet) live only in the decoder.
    /// Their records are committed with the events and handled again after a crash or restart,
    /// so the record that ends such a call still lands on the same call; the events they give
    /// again carry the same ids and are deduplicated.
    public func run(into sink: EventSink) async throws {
        var decoder = CallerIDDecoder(settings: settings.decoder)
        var savedOpenCalls = try await sink.savedSourceState() ?? ""
        func emit(_ events: [CallEvent]) async throws {
            let openCalls = decoder.openCalls().encoded
            guard openCalls != savedOpenCalls else { return try await sink.emit(events) }
            try await sink.emit(events, sourceState: openCalls)
            savedOpenCalls = openCalls
        }
        if !savedOpenCalls.isEmpty {
            let now = Timestamp.now()
            if let saved = CallerIDOpenCalls(encoded: savedOpenCalls, protocol: settings.decoder.protocol) {
                try await emit(decoder.resume(saved, now: now))
                if !saved.records.isEmpty {
                    await sink.report(
                        state: "resumed", detail: "read again \(saved.records.count) records of calls still open before the restart", at: now)
                }
            } else {
                await sink.report(
                    state: "resumeSkipped",
                    detail: "the calls open before the restart were saved for another protocol or in a form this agent cannot read; they are not resumed",
                    at: now)
            }
        }
        let link = try SerialLink(settings: settings.serial)
        try await withLinkInputs(link) { inputs in
            for await input in inputs {
                let now = Timestamp.now()
                var toDevice: [UInt8] = []
                switch input {
                case .status(let state, let detail): await sink.report(state: state, detail: detail, at: now)
                case .connected: toDevice = decoder.portOpened(now: now)
                case .disconnected: try await emit(decoder.finish(now: now))
                case .bytes(let bytes):
                    sink.noteInput()
                    try await emit(decoder.receive(bytes, now: now))
                case .tick: try await emit(decoder.tick(now: now))
                }
                toDevice += decoder.takeBytesToWrite()
                guard !toDevice.isEmpty else { continue }
                do {
                    try await link.write(toDevice)
                } catch {
                    // The port went away between the bytes and the write; the decoder sends its
                    // init string again when the port reopens.
                    await sink.report(state: "writeFailed", detail: "\(error)", at: now)
                }
            }
        }
    }
}
