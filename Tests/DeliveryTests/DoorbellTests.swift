@testable import CRMDelivery
import Synchronization
import XCTest

/// The doorbell an idle delivery lane sleeps on. Every wait here could last an hour: a wait
/// that ends proves a ring (or the cancellation) ended it, not a poll.
final class DoorbellTests: XCTestCase {
    private let anHour = Duration.seconds(3600)

    func testARingBetweenTakingTheTicketAndWaitingIsNotLost() async {
        let doorbell = Doorbell()
        let ticket = doorbell.ticket(for: 7)
        doorbell.ring(endpointId: 7)
        let waitHour = anHour
        let ended = await finishes(within: .seconds(30)) { await doorbell.wait(after: ticket, atMost: waitHour) }
        XCTAssertTrue(ended, "the ring came after the lane looked at the store and before it waited: the wait must not start")
    }

    /// A lane's loop (ticket, look, wait) against a producer on another task that queues one item
    /// and rings as soon as the lane took the previous one: the rings fall before the ticket,
    /// between the look and the wait (the lane yields there as a store read would), and during
    /// the wait. However they fall, the lane gets every item without a poll.
    func testALaneThatLooksThenWaitsSeesEveryRingWhereverItFalls() async {
        let doorbell = Doorbell()
        let queued = Counter()
        let taken = Counter()
        let items = 2000
        let waitHour = anHour
        let consumed = await finishes(within: .seconds(60)) {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for item in 1...items {
                        queued.value.store(item, ordering: .sequentiallyConsistent)
                        doorbell.ring(endpointId: 1)
                        while taken.value.load(ordering: .sequentiallyConsistent) < item, !Task.isCancelled { await Task.yield() }
                    }
                }
                group.addTask {
                    while taken.value.load(ordering: .sequentiallyConsistent) < items, !Task.isCancelled {
                        let ticket = doorbell.ticket(for: 1)
                        let available = queued.value.load(ordering: .sequentiallyConsistent)
                        if available > taken.value.load(ordering: .sequentiallyConsistent) {
                            taken.value.store(available, ordering: .sequentiallyConsistent)
                            continue
                        }
                        if Bool.random() { await Task.yield() }
                        await doorbell.wait(after: ticket, atMost: waitHour)
                    }
                }
            }
        }
        XCTAssertTrue(consumed, "a ring was lost: the lane slept with \(taken.value.load(ordering: .relaxed)) of \(items) items taken")
    }

    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// A lane backing off waits for edits only: new rows ring and leave it waiting, an edit
    /// (before or during its wait) ends the wait, and a plain wait still ends on either.
    func testAnEditEndsAWaitForEditsAndARingDoesNot() async {
        let doorbell = Doorbell()
        let waitHour = anHour
        let ticket = doorbell.ticket(for: 3)
        doorbell.ring(endpointId: 3)
        let endedByRing = await finishes(within: .milliseconds(300)) { await doorbell.waitForEdit(after: ticket, atMost: waitHour) }
        XCTAssertFalse(endedByRing, "new rows ended a wait for edits")
        let waiting = Task { await doorbell.waitForEdit(after: ticket, atMost: waitHour) }
        try? await Task.sleep(for: .milliseconds(50))
        doorbell.ring(endpointId: 3)
        doorbell.endpointEdited(3)
        let endedByEdit = await finishes(within: .seconds(30)) { await waiting.value }
        XCTAssertTrue(endedByEdit, "an edit during the wait did not end it")
        let editedBefore = await finishes(within: .seconds(30)) { await doorbell.waitForEdit(after: ticket, atMost: waitHour) }
        XCTAssertTrue(editedBefore, "an edit after the ticket and before the wait was lost")
        let plain = await finishes(within: .seconds(30)) { await doorbell.wait(after: ticket, atMost: waitHour) }
        XCTAssertTrue(plain)
    }

    func testARingWakesOnlyTheLanesOfItsEndpoint() async {
        let doorbell = Doorbell()
        let ringing = doorbell.ticket(for: 1)
        let other = doorbell.ticket(for: 2)
        let otherWoke = Flag()
        let waitHour = anHour
        let otherLane = Task {
            await doorbell.wait(after: other, atMost: waitHour)
            otherWoke.set()
        }
        doorbell.ring(endpointId: 1)
        let woke = await finishes(within: .seconds(30)) { await doorbell.wait(after: ringing, atMost: waitHour) }
        XCTAssertTrue(woke)
        XCTAssertEqual(doorbell.ticket(for: 2), other, "endpoint 2's bell did not ring")
        XCTAssertFalse(otherWoke.isSet, "endpoint 2 has nothing new")
        otherLane.cancel()
    }

    func testAnEditWakesTheLanesAndTellsThemToReadTheEndpointAgain() async {
        let doorbell = Doorbell()
        let before = doorbell.ticket(for: 3)
        doorbell.ring(endpointId: 3)
        XCTAssertEqual(doorbell.ticket(for: 3).edits, before.edits, "new outbox rows are no edit")
        let waitHour = anHour
        let ticket = doorbell.ticket(for: 3)
        let waiting = Task { await doorbell.wait(after: ticket, atMost: waitHour) }
        doorbell.endpointEdited(3)
        let woke = await finishes(within: .seconds(30)) { await waiting.value }
        XCTAssertTrue(woke)
        XCTAssertNotEqual(doorbell.ticket(for: 3).edits, before.edits)
    }

    func testCancellingTheWaitingTaskEndsTheWait() async {
        let doorbell = Doorbell()
        let waitHour = anHour
        let alreadyCancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await doorbell.wait(after: doorbell.ticket(for: 1), atMost: waitHour)
        }
        let endedBeforeWaiting = await finishes(within: .seconds(30)) { await alreadyCancelled.value }
        XCTAssertTrue(endedBeforeWaiting, "a task cancelled before it waits does not wait")

        let started = Flag()
        let waiting = Task {
            started.set()
            await doorbell.wait(after: doorbell.ticket(for: 1), atMost: waitHour)
        }
        _ = await becomesTrue(within: .seconds(30)) { started.isSet }
        try? await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        let endedWhileWaiting = await finishes(within: .seconds(30)) { await waiting.value }
        XCTAssertTrue(endedWhileWaiting, "cancellation ends a wait in progress")
    }

    func testTheWaitEndsWhenItsTimeoutPassesWithoutARing() async {
        let doorbell = Doorbell()
        let ticket = doorbell.ticket(for: 1)
        let ended = await finishes(within: .seconds(30)) { await doorbell.wait(after: ticket, atMost: .milliseconds(20)) }
        XCTAssertTrue(ended)
    }
}
