import AgentCore
import Foundation
import TamasEvents
import XCTest

final class SpoolTests: XCTestCase {
    func spoolPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID())/spool.sqlite").path
    }

    func bodies(_ range: Range<Int>) -> [Data] { range.map { Data("{\"n\":\($0)}".utf8) } }

    func testEventsSurviveReopeningAndLeaveOnlyWhenAcknowledged() async throws {
        let path = spoolPath()
        var spool: Spool? = try await Spool.open(SpoolSettings(path: path, capacity: 1000))
        try await spool?.append(bodies(0..<10))
        let spoolId = try XCTUnwrap(spool?.spoolId)
        spool = nil
        let reopened = try await Spool.open(SpoolSettings(path: path, capacity: 1000))
        XCTAssertEqual(reopened.spoolId, spoolId, "the same file keeps its identity")
        let count = await reopened.count
        XCTAssertEqual(count, 10)
        let firstFour = try await reopened.read(after: 0, limit: 4)
        XCTAssertEqual(firstFour.map(\.sequence), [1, 2, 3, 4])
        try await reopened.acknowledge(through: 4)
        let rest = try await reopened.read(after: 0, limit: 100)
        XCTAssertEqual(rest.map(\.sequence), Array(5...10))
        XCTAssertEqual(rest.first?.body, Data("{\"n\":4}".utf8))
        try await reopened.acknowledge(through: 10)
        try await reopened.append(bodies(0..<1))
        let next = try await reopened.read(after: 0, limit: 10)
        XCTAssertEqual(next.map(\.sequence), [11], "sequence numbers never go back within one spool")
    }

    func testAFullSpoolRefusesWithoutWritingButKeepsRoomForStatus() async throws {
        let spool = try await Spool.open(SpoolSettings(path: spoolPath(), capacity: 100))
        let accepted = try await spool.append(bodies(0..<100))
        XCTAssertTrue(accepted)
        let refused = try await spool.append(bodies(0..<1))
        XCTAssertFalse(refused)
        let status = try await spool.append(bodies(0..<1), overCapacity: true)
        XCTAssertTrue(status)
        let report = await spool.report()
        XCTAssertEqual(report.backlog, 101)
        XCTAssertEqual(report.state, "full")
        XCTAssertNotNil(report.oldestAt)
    }

    func testASourcesStateCommitsWithItsEventsAndSurvivesReopening() async throws {
        let path = spoolPath()
        var spool: Spool? = try await Spool.open(SpoolSettings(path: path, capacity: 3))
        let before = try await spool?.sourceState()
        XCTAssertNil(before)
        try await spool?.append(bodies(0..<2), sourceState: "line one")
        try await spool?.append([], sourceState: "line one\nline two")
        let sequence = await spool?.newestSequence
        XCTAssertEqual(sequence, 2, "a state alone adds no event")
        try await spool?.append(bodies(2..<3))
        let unchanged = try await spool?.sourceState()
        XCTAssertEqual(unchanged, "line one\nline two", "events without a state leave it as it was")
        let refused = try await spool?.append(bodies(3..<4), sourceState: "never")
        XCTAssertEqual(refused, false)
        let afterRefusal = try await spool?.sourceState()
        XCTAssertEqual(afterRefusal, "line one\nline two", "a full spool writes neither the events nor their state")
        spool = nil
        let reopened = try await Spool.open(SpoolSettings(path: path, capacity: 3))
        let saved = try await reopened.sourceState()
        XCTAssertEqual(saved, "line one\nline two")
    }

    /// Two agents given one spool path would both send every row and overwrite each other's
    /// saved source state: the second open is refused, naming the process that holds it, and the
    /// path is free again once the first spool is gone.
    func testASpoolOpenElsewhereIsRefusedUntilItCloses() async throws {
        let path = spoolPath()
        var first: Spool? = try await Spool.open(SpoolSettings(path: path))
        do {
            _ = try await Spool.open(SpoolSettings(path: path))
            XCTFail("a second open of the same spool must fail")
        } catch let error as SpoolInUse {
            XCTAssertEqual(error.holder, getpid())
            XCTAssertTrue(error.description.contains("in use by process \(getpid())"), error.description)
            XCTAssertTrue(error.description.contains("each agent needs a spool path of its own"), error.description)
        }
        XCTAssertNotNil(first)
        first = nil
        let reopened = try await Spool.open(SpoolSettings(path: path))
        XCTAssertFalse(reopened.spoolId.isEmpty)
    }

    func testANewSpoolFileHasANewIdentity() async throws {
        let first = try await Spool.open(SpoolSettings(path: spoolPath()))
        let second = try await Spool.open(SpoolSettings(path: spoolPath()))
        XCTAssertNotEqual(first.spoolId, second.spoolId)
    }
}
