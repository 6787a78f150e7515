import AgentCore
import Foundation
import Logging
import TamasEvents

/// Where the AMI client's events and state changes go: the spool (`tamas-agent ami run`) or the
/// terminal (the one-shot `ami test|originate|command`).
public protocol AMIEventOutlet: Sendable {
    func emit(_ events: [CallEvent]) async throws
    func report(state: String, detail: String, at: Timestamp) async throws
    /// An AMI event arrived (shown as the agent's last input: a link that answers Pings but
    /// sends no events shows there).
    func noteInput()
}

extension AMIEventOutlet {
    func noteInput() {}
}

/// `tamas-agent ami run`: events and state changes go to the spool.
struct SpoolOutlet: AMIEventOutlet {
    let sink: EventSink

    func emit(_ events: [CallEvent]) async throws {
        try await sink.emit(events)
    }

    func noteInput() {
        sink.noteInput()
    }

    func report(state: String, detail: String, at: Timestamp) async throws {
        await sink.report(state: state, detail: detail, at: at)
    }
}

/// The one-shot commands ship nothing: state changes go to the log (standard error), call
/// events seen during the few seconds of a test are only counted there.
struct LogOutlet: AMIEventOutlet {
    let logger: Logger

    func emit(_ events: [CallEvent]) async throws {
        logger.debug("events seen", metadata: ["count": "\(events.count)"])
    }

    func report(state: String, detail: String, at: Timestamp) async throws {
        logger.info("status", metadata: ["state": "\(state)", "detail": "\(detail)"])
    }
}

/// Decouples the socket reader from the spool (PAINPOINTS #6: a slow handler blocking the
/// reader makes Asterisk drop the link). The reader appends and returns at once; one drainer
/// writes to the outlet in batches. The bound keeps memory finite: only when the spool has
/// stalled long enough to fill it (spool full, collector unreachable) does the reader wait,
/// which is reported, because dropping events is never an option.
actor AMIEventQueue {
    enum Item: Sendable {
        case events([CallEvent])
        case status(state: String, detail: String, at: Timestamp)
    }

    let capacity: Int
    private var items: [Item] = []
    private var eventCount = 0
    private let wakeUp: AsyncStream<Void>.Continuation
    private let wakeUps: AsyncStream<Void>

    init(capacity: Int) {
        self.capacity = capacity
        (wakeUps, wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    var isFull: Bool { eventCount >= capacity }
    /// Events waiting for the drainer (the batch it is writing is no longer counted).
    var waitingEvents: Int { eventCount }

    func append(_ item: Item) {
        if case .events(let events) = item { eventCount += events.count }
        items.append(item)
        wakeUp.yield()
    }

    /// The reader's way in: returns at once unless the queue is full, and then waits for room
    /// (the only back-pressure there is), calling `whenFull` once per wait so it is never silent.
    func append(_ item: Item, whenFull: @Sendable () -> Void) async {
        var announced = false
        while isFull, !Task.isCancelled {
            if !announced {
                announced = true
                whenFull()
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        append(item)
    }

    private func takeAll() -> [Item] {
        defer {
            items = []
            eventCount = 0
        }
        return items
    }

    /// Runs until cancelled; consecutive event items are written as one batch.
    func drain(into outlet: some AMIEventOutlet) async throws {
        for await _ in wakeUps {
            var batch: [CallEvent] = []
            for item in takeAll() {
                switch item {
                case .events(let events): batch += events
                case .status(let state, let detail, let at):
                    try await outlet.emit(batch)
                    batch = []
                    try await outlet.report(state: state, detail: detail, at: at)
                }
            }
            try await outlet.emit(batch)
        }
    }
}
