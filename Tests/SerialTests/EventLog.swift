import SerialPort
import TestSupport

/// Collects a supervisor's events on a task so tests can wait for them with a deadline.
final class EventLog: Sendable {
    private let store: EventStore
    let consumer: Task<Void, Never>

    init(_ events: AsyncStream<SerialPortEvent>) {
        let store = EventStore()
        self.store = store
        consumer = Task {
            for await event in events { await store.append(event) }
            await store.finish()
        }
    }

    var events: [SerialPortEvent] { get async { await store.events } }
    var finished: Bool { get async { await store.finished } }

    /// All `.bytes` payloads, concatenated.
    var bytes: [UInt8] {
        get async {
            await events.flatMap { event -> [UInt8] in
                if case let .bytes(chunk) = event { return chunk }
                return []
            }
        }
    }

    /// Waits up to `timeout` for `condition`; fails with `what` and every event seen so far.
    func wait(
        for what: String, timeout: Duration = .seconds(5),
        _ condition: @escaping @Sendable ([SerialPortEvent]) -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(await events) { return }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw TestFailure("timed out after \(timeout) waiting for \(what); events so far: \(Self.summary(await events))")
    }

    func waitUntilFinished(timeout: Duration = .seconds(5)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await finished { return }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw TestFailure("the event stream did not end within \(timeout); events: \(Self.summary(await events))")
    }

    func waitForBytes(_ count: Int, timeout: Duration = .seconds(5)) async throws -> [UInt8] {
        try await wait(for: "\(count) bytes", timeout: timeout) { events in
            events.reduce(0) { total, event in
                if case let .bytes(chunk) = event { return total + chunk.count }
                return total
            } >= count
        }
        return await bytes
    }

    static func summary(_ events: [SerialPortEvent]) -> String {
        events.map { event in
            if case let .bytes(chunk) = event { return "bytes(\(chunk.count))" }
            return "\(event)"
        }.joined(separator: ", ")
    }
}

private actor EventStore {
    var events: [SerialPortEvent] = []
    var finished = false
    func append(_ event: SerialPortEvent) { events.append(event) }
    func finish() { finished = true }
}
