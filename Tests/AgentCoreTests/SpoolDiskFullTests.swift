import AgentCore
import Foundation
import Logging
import TamasEvents
import TestSupport
import XCTest

/// A spool on a disk that fills up: the source is held back, the state says why, and once
/// there is room every event is there. Runs on a real 4 MiB tmpfs (the tests run as root).
final class SpoolDiskFullTests: XCTestCase {
    private var mountPoint: URL?

    override func setUpWithError() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("spool-disk-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let mount = try runToolAllowingFailure("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", folder.path])
        guard mount.status == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (mount exited \(mount.status): \(mount.error)); the disk-full path needs one")
        }
        mountPoint = folder
    }

    override func tearDown() {
        guard let mountPoint else { return }
        _ = try? runToolAllowingFailure("/bin/umount", [mountPoint.path])
    }

    func events(_ range: Range<Int>) -> [CallEvent] {
        let at = Timestamp(date: Date())
        return range.map { index in
            CallEvent(eventId: "e\(index)", type: .lineUnparsed, systemKey: "K1", source: "jsonl", at: at,
                      raw: String(repeating: "x", count: 2000) + " \(index)", reason: "filler")
        }
    }

    func testAFullDiskHoldsTheSourceBackAndLosesNothingOnceThereIsRoom() async throws {
        let folder = try XCTUnwrap(mountPoint)
        let filler = folder.appendingPathComponent("filler")
        let spool = try await Spool.open(SpoolSettings(path: folder.appendingPathComponent("spool.sqlite").path))
        let status = DeviceStatus()
        let sink = EventSink(systemKey: "K1", source: "jsonl", spool: spool, status: status, logger: Logger(label: "test"))
        try await sink.emit(events(0..<10))
        XCTAssertTrue(FileManager.default.createFile(atPath: filler.path, contents: Data(count: 0)))
        let handle = try FileHandle(forWritingTo: filler)
        while (try? handle.write(contentsOf: Data(count: 64 * 1024))) != nil {}
        try handle.close()

        let held = events(10..<400)
        let writer = Task { try await sink.emit(held) }
        let heldBack = try await eventually(seconds: 20) { await status.current.state == "spoolUnwritable" }
        let current = await status.current
        XCTAssertTrue(heldBack, "state: \(current)")
        let detail = await status.current.detail
        XCTAssertEqual(detail, "the disk holding the spool is full; input is held back, nothing is dropped")
        try await Task.sleep(for: .seconds(1.5))
        XCTAssertFalse(writer.isCancelled)

        try FileManager.default.removeItem(at: filler)
        try await writer.value
        let stored = try await spool.read(after: 0, limit: 10_000).compactMap { try? EventJSON().decode($0.body) }
        XCTAssertEqual(stored.filter { $0.type == .lineUnparsed }.map(\.eventId), (0..<400).map { "e\($0)" })
        let statuses = stored.filter { $0.type == .agentStatus }
        XCTAssertEqual(statuses.map(\.state), ["spoolOk"])
        XCTAssertTrue(statuses.first?.detail?.hasPrefix("the spool could not be written for ") == true, "\(statuses)")
        let state = await status.current.state
        XCTAssertEqual(state, "spoolOk")
    }

    private func eventually(seconds: Double, _ condition: () async -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
