@testable import AMIAgent
import Foundation
import TamasEvents
import XCTest

/// The queue between the AMI socket reader and the spool (PAINPOINTS #6: a slow handler must
/// not block the reader). With the consumer stalled, the reader keeps appending until the
/// bound; then, and only then, it waits, says so once, and loses nothing.
final class AMIEventQueueTests: XCTestCase {
    /// An outlet whose writes hang until `release()`, recording what it was given.
    actor StalledOutlet: AMIEventOutlet {
        private(set) var received: [String] = []
        private var open = false
        private var waiting: [CheckedContinuation<Void, Never>] = []

        func emit(_ events: [CallEvent]) async throws {
            guard !events.isEmpty else { return }
            if !open { await withCheckedContinuation { waiting.append($0) } }
            received += events.map(\.eventId)
        }

        func report(state: String, detail: String, at: Timestamp) async throws {
            received.append("status " + state)
        }

        func release() {
            open = true
            for continuation in waiting { continuation.resume() }
            waiting = []
        }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func increment() { lock.withLock { value += 1 } }
        var count: Int { lock.withLock { value } }
    }

    static func event(_ number: Int) -> CallEvent {
        CallEvent(eventId: "e\(number)", type: .agentStatus, systemKey: "office", source: "ami",
                  at: Timestamp(epochMillis: 1_764_150_000_000 + Int64(number)), state: "x")
    }

    /// Appends events as the reader does; returns when the append came back.
    static func append(_ numbers: [Int], to queue: AMIEventQueue, counting warnings: Counter) async -> ContinuousClock.Instant {
        await queue.append(.events(numbers.map(event))) { warnings.increment() }
        return ContinuousClock.now
    }

    func testAStalledConsumerNeverBlocksTheReaderBeforeTheBoundAndNothingIsLostAfterIt() async throws {
        let queue = AMIEventQueue(capacity: 10)
        let outlet = StalledOutlet()
        let drainer = Task { try await queue.drain(into: outlet) }
        defer { drainer.cancel() }
        let fullWarnings = Counter()

        // The first event wakes the drainer, which takes it and hangs in the stalled outlet.
        _ = await Self.append([0], to: queue, counting: fullWarnings)
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        for number in 1...10 {
            _ = await Self.append([number], to: queue, counting: fullWarnings)
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(1), "ten appends while the consumer is stalled return at once")
        let waiting = await queue.waitingEvents
        XCTAssertEqual(waiting, 10)
        XCTAssertEqual(fullWarnings.count, 0, "not full until the bound")
        let isFull = await queue.isFull
        XCTAssertTrue(isFull)

        // One more: the bound is reached, so the reader waits, and says so once.
        async let blockedAppendReturnedAt = Self.append([11, 12], to: queue, counting: fullWarnings)
        try await Task.sleep(for: .milliseconds(300))
        XCTAssertEqual(fullWarnings.count, 1)
        let stillWaiting = await queue.waitingEvents
        XCTAssertEqual(stillWaiting, 10, "memory stays bounded while the consumer is stalled")
        let releasedAt = ContinuousClock.now
        await outlet.release()
        let appendedAt = await blockedAppendReturnedAt
        XCTAssertGreaterThanOrEqual(appendedAt, releasedAt, "the overflowing append waited for the consumer")
        XCTAssertEqual(fullWarnings.count, 1, "one warning per wait, not one per retry")

        for _ in 0..<100 {
            if await outlet.received.count == 13 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let received = await outlet.received
        XCTAssertEqual(received, (0...12).map { "e\($0)" }, "nothing dropped, order kept")
    }
}
