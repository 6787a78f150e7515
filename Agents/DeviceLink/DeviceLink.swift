/// What a device connection tells the source that reads it, in order.
public enum LinkInput: Sendable, Equatable {
    /// A change worth an `agent.status` event (port lost, login rejected, ...).
    case status(state: String, detail: String)
    /// The device is ready for bytes: a port (re)opened or a login succeeded. A device that
    /// needs an init string gets it now, because it may have been reset since the last one.
    case connected
    /// The connection went away; the next `connected` starts a fresh stream.
    case disconnected
    case bytes([UInt8])
    /// One second passed: time for the decoder's `tick(now:)`.
    case tick
}

/// One way of reaching a device (a serial port, a TCP login). `run` yields inputs until the task
/// is cancelled, reconnecting on its own; the source never sees a socket or a descriptor.
public protocol DeviceLink: Sendable {
    func run(into inputs: AsyncStream<LinkInput>.Continuation) async
    /// Sends bytes to the device (a modem init string); links that cannot write ignore them.
    func write(_ bytes: [UInt8]) async throws
}

/// Runs `link` and a one-second ticker for as long as `body` consumes their merged inputs, so the
/// consumer owns its decoder alone (no locks) and sees bytes and ticks in one order.
public func withLinkInputs<Result: Sendable>(
    _ link: some DeviceLink, tickEvery interval: Duration = .seconds(1),
    _ body: (AsyncStream<LinkInput>) async throws -> Result
) async throws -> Result {
    let (inputs, continuation) = AsyncStream.makeStream(of: LinkInput.self, bufferingPolicy: .unbounded)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await link.run(into: continuation) }
        group.addTask {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                continuation.yield(.tick)
            }
        }
        defer { group.cancelAll() }
        return try await body(inputs)
    }
}
