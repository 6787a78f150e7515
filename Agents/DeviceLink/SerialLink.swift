import SerialPort

/// A serial port kept open by `SerialPortSupervisor`: the one serial path every serial source
/// (SMDR, caller ID) shares. Unplug and replug are reported with the supervisor's own words
/// (`portOpened`, `portLost`, `portUnavailable`, `portReopened`) and the port is reopened on its own.
public final class SerialLink: DeviceLink {
    public let settings: SerialSettings
    private let supervisor: SerialPortSupervisor

    public init(settings: SerialSettings) throws(SerialError) {
        self.settings = settings
        supervisor = try SerialPortSupervisor(settings: settings)
    }

    public func run(into inputs: AsyncStream<LinkInput>.Continuation) async {
        defer { supervisor.stop() }
        for await event in supervisor.events {
            if let status = event.agentStatus {
                inputs.yield(.status(state: status.state, detail: status.detail))
            }
            switch event {
            case .opened, .reopened: inputs.yield(.connected)
            case .lost: inputs.yield(.disconnected)
            case .bytes(let bytes): inputs.yield(.bytes(bytes))
            case .openFailed: break
            }
        }
    }

    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        try supervisor.write(bytes)
    }
}
