import Foundation
import Logging
import TamasEvents
import TelsaProtocol
import TestSupport
import XCTest
@testable import TelsaAgent

/// The folder watch in-process, with real files: inotify, forced polling, and the fall-back to
/// polling when inotify cannot start (injected through the watch's `startInotify`).
final class TelsaFolderWatchTests: XCTestCase {
    actor Recorder {
        var events: [CallEvent] = []
        var reports: [(state: String, detail: String)] = []
        func emit(_ new: [CallEvent]) { events += new }
        func report(_ state: String, _ detail: String) { reports.append((state, detail)) }
        func recordings() -> [CallEvent] { events.filter { $0.type == .recordingAvailable } }
    }

    var root: URL!

    override func setUpWithError() throws {
        root = try temporaryFolder("telsa-watch")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    func settings(mode: TelsaMode, watch: TelsaAgentSettings.Watch, poll: Double = 0.3, rescan: Double = 3600,
                  settle: Int = 1) -> TelsaAgentSettings {
        TelsaAgentSettings(root: root.path, watch: watch, pollIntervalSeconds: poll, rescanSeconds: rescan,
                           tracker: TelsaSettings(systemKey: "office1", mode: mode, settleSeconds: settle,
                                                  lineMapping: TelsaLineMapping(["1": "3"])),
                           timeZone: TimeZone(identifier: "Asia/Tehran") ?? .current)
    }

    func start(_ watch: TelsaFolderWatch) -> (Task<Void, Error>, Recorder) {
        let recorder = Recorder()
        let task = Task {
            try await watch.run(TelsaFolderWatch.Output(emit: { await recorder.emit($0) },
                                                        report: { await recorder.report($0, $1) }))
        }
        return (task, recorder)
    }

    func expect(within timeout: Double, _ message: String = "", file: StaticString = #filePath, line: UInt = #line,
                _ condition: () async -> Bool) async {
        let held = await waitUntil(timeout, condition)
        XCTAssertTrue(held, message, file: file, line: line)
    }

    func waitUntil(_ timeout: Double, _ condition: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return await condition()
    }

    func paths(_ recorder: Recorder) async -> [String] {
        await recorder.recordings().compactMap { $0.ref.flatMap(TelsaRecordingRef.init(encoded:))?.path }.sorted()
    }

    func testInotifyWatchesArchiveFoldersThatAppearLaterWithoutPolling() async throws {
        try FileManager.default.createDirectory(at: root.appendingPathComponent("record"), withIntermediateDirectories: true)
        let watch = TelsaFolderWatch(settings: settings(mode: .full, watch: .auto), logger: Logger(label: "test"))
        let (task, recorder) = start(watch)
        defer { task.cancel() }
        await expect(within: 5) { await recorder.reports.contains { $0.state == "watching" } }
        let detail = await recorder.reports.first { $0.state == "watching" }?.detail ?? ""
        XCTAssertTrue(detail.hasPrefix("inotify on \(root.path)"), detail)

        let recording = root.appendingPathComponent("record/a.wav")
        try TelsaRecordings.write(TelsaRecordings.audio(5000), to: recording)
        try TelsaRecordings.append(TelsaRecordings.trailer(channel: 1), to: recording)
        try TelsaRecordings.setModified(recording, TelsaRecordings.trailerStart.addingTimeInterval(75))
        try await Task.sleep(for: .seconds(1))
        let whileRecording = await recorder.recordings()
        XCTAssertEqual(whileRecording.count, 0, "full mode never announces record/")

        let archived = root.appendingPathComponent("Archive/Line1/2025-12/a.wav")
        try FileManager.default.createDirectory(at: archived.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: recording, to: archived)
        await expect(within: 5) { await recorder.recordings().count == 1 }
        let first = await recorder.recordings().first
        let event = try XCTUnwrap(first)
        XCTAssertEqual(event.line, "3")
        XCTAssertEqual(event.startedAt?.iso8601, "2025-12-09T11:34:30+03:30")
        XCTAssertEqual(event.durationSec, 75)

        try TelsaRecordings.write(TelsaRecordings.audio(900), to: root.appendingPathComponent("Archive/Line1/2025-12/b.mp3"),
                                  modified: TelsaRecordings.trailerStart)
        await expect(within: 5, "the new nested folder is watched too") { await recorder.recordings().count == 2 }
        let paths = await paths(recorder)
        XCTAssertEqual(paths, ["Archive/Line1/2025-12/a.wav", "Archive/Line1/2025-12/b.mp3"])
    }

    func testForcedPollingPicksUpFilesAndWaitsForAGrowingOneToSettle() async throws {
        let watch = TelsaFolderWatch(settings: settings(mode: .folder, watch: .polling, settle: 1), logger: Logger(label: "test"),
                                     startInotify: { _, _ in
                                         XCTFail("watch: polling must not start inotify")
                                         throw InotifyUnavailable(description: "not wanted")
                                     })
        let (task, recorder) = start(watch)
        defer { task.cancel() }
        await expect(within: 5) { await recorder.reports.contains { $0.state == "watching" } }
        let detail = await recorder.reports.first { $0.state == "watching" }?.detail ?? ""
        XCTAssertTrue(detail.hasPrefix("polling \(root.path) every 0.3 s: watch: polling"), detail)

        let growing = root.appendingPathComponent("record/c.wav")
        try TelsaRecordings.write(TelsaRecordings.audio(1000), to: growing)
        for _ in 0..<8 {
            try await Task.sleep(for: .milliseconds(300))
            try TelsaRecordings.append(TelsaRecordings.audio(1000, seed: 9), to: growing)
            let announced = await recorder.recordings()
            XCTAssertEqual(announced.count, 0, "a file still being written is not announced")
        }
        try TelsaRecordings.append(TelsaRecordings.trailer(channel: 2), to: growing)
        await expect(within: 6) { await recorder.recordings().count == 1 }
        let first = await recorder.recordings().first
        let event = try XCTUnwrap(first)
        XCTAssertEqual(event.line, "2")
        XCTAssertEqual(TelsaRecordingRef(encoded: event.ref ?? "")?.size, Int64(9000 + TelsaRecordings.trailer(channel: 2).count))
    }

    func testAutoFallsBackToPollingWhenInotifyCannotStart() async throws {
        try TelsaRecordings.write(TelsaRecordings.audio(800) + TelsaRecordings.trailer(channel: 1),
                                  to: root.appendingPathComponent("Archive/1/before.wav"))
        let watch = TelsaFolderWatch(settings: settings(mode: .full, watch: .auto), logger: Logger(label: "test"),
                                     startInotify: { _, _ in throw InotifyUnavailable(description: "inotify_init1: Too many open files") })
        let (task, recorder) = start(watch)
        defer { task.cancel() }
        await expect(within: 5, "files present at start") { await recorder.recordings().count == 1 }
        let detail = await recorder.reports.first { $0.state == "watching" }?.detail ?? ""
        XCTAssertEqual(detail, "polling \(root.path) every 0.3 s: inotify unavailable (inotify_init1: Too many open files)")

        try TelsaRecordings.write(TelsaRecordings.audio(800), to: root.appendingPathComponent("Archive/4/after.mp3"))
        await expect(within: 5, "polling finds files added later") { await recorder.recordings().count == 2 }
        let after = await recorder.recordings().first { $0.ref?.hasSuffix("after.mp3") == true }
        XCTAssertEqual(after?.line, "4", "no trailer: the Archive folder's digits")
    }

    func testWatchInotifyRefusesToStartWhenInotifyCannot() throws {
        let watch = TelsaFolderWatch(settings: settings(mode: .full, watch: .inotify), logger: Logger(label: "test"),
                                     startInotify: { _, _ in throw InotifyUnavailable(description: "ENOSPC") })
        XCTAssertThrowsError(try watch.chooseMode { _ in }) {
            XCTAssertTrue("\($0)".contains("watch: inotify, but inotify cannot watch"), "\($0)")
        }
    }
}
