import Foundation
import XCTest
import TamasEvents
@testable import TelsaProtocol

final class TelsaFolderTrackerTests: XCTestCase {
    let t0 = Timestamp(iso8601: "2025-12-09T11:34:00+03:30")!

    func at(_ seconds: Int) -> Timestamp { t0.adding(seconds: seconds) }
    func file(_ path: String, _ size: Int64, modified: Int) -> TelsaFileSnapshot {
        TelsaFileSnapshot(path: path, size: size, modifiedAt: at(modified))
    }

    func trailer(channel: Int, started: String = "2025/12/09 11:34:30") -> [UInt8] {
        Array("\(started)|Info|FileName:x|Channel:\(channel)\n\(started)|Number|Number:09123456789\n2\nTelsa64\n".utf8)
    }

    func testFullModeAnnouncesOnlyOnceArchivedWithMappedLine() throws {
        var tracker = TelsaFolderTracker(settings: TelsaSettings(systemKey: "office1", mode: .full, lineMapping: TelsaLineMapping(["1": "3"])))
        XCTAssertEqual(tracker.observe([file("record/a.wav", 1000, modified: 40)], now: at(40)), [], "still recording")
        XCTAssertEqual(tracker.observe([file("record/a.wav", 9000, modified: 90)], now: at(90)), [])
        let requests = tracker.observe([file("Archive/1/a.wav", 9000, modified: 90)], now: at(91))
        XCTAssertEqual(requests, [TelsaTailRequest(path: "Archive/1/a.wav", bytes: 4096)])
        let events = tracker.acceptTail(path: "Archive/1/a.wav", bytes: [0x52, 0x49] + trailer(channel: 1))
        XCTAssertEqual(events.count, 1)
        let event = try XCTUnwrap(events.first)
        XCTAssertNoThrow(try event.validate())
        XCTAssertEqual(event.type, .recordingAvailable)
        XCTAssertEqual(event.line, "3", "Telsa channel 1 is wired to line 3")
        XCTAssertEqual(event.startedAt, at(30))
        XCTAssertEqual(event.durationSec, 60)
        XCTAssertEqual(event.format, "wav")
        XCTAssertNil(event.callId, "matching is the collector's job")
        XCTAssertEqual(event.ref, "9000-\(at(90).epochMillis)/Archive/1/a.wav")
        XCTAssertEqual(TelsaRecordingRef(encoded: event.ref ?? "")?.path, "Archive/1/a.wav")
        XCTAssertEqual(tracker.observe([file("Archive/1/a.wav", 9000, modified: 90)], now: at(200)), [], "announced once")
    }

    func testFolderModeWaitsUntilTheFileStopsChanging() throws {
        var tracker = TelsaFolderTracker(settings: TelsaSettings(systemKey: "office1", mode: .folder, settleSeconds: 15))
        XCTAssertEqual(tracker.observe([file("record/b.mp3", 100, modified: 0)], now: at(0)), [])
        XCTAssertEqual(tracker.observe([file("record/b.mp3", 500, modified: 10)], now: at(10)), [], "growing")
        XCTAssertEqual(tracker.observe([file("record/b.mp3", 500, modified: 10)], now: at(20)), [], "unchanged 10 s only")
        let requests = tracker.observe([file("record/b.mp3", 500, modified: 10)], now: at(25))
        XCTAssertEqual(requests.map(\.path), ["record/b.mp3"])
        let events = tracker.tailUnreadable(path: "record/b.mp3", reason: "permission denied")
        XCTAssertEqual(events.first?.startedAt, at(10), "without a trailer the start is the modification time")
        XCTAssertNil(events.first?.line)
        XCTAssertNotNil(events.first?.detail)
        XCTAssertEqual(events.first?.format, "mp3")
    }

    func testRestartRescanReannouncesWithTheSameEventId() throws {
        let settings = TelsaSettings(systemKey: "office1", mode: .full)
        let listing = [file("Archive/2/c.wav", 7000, modified: 50), file("Archive/2/notes.txt", 10, modified: 5)]
        var first = TelsaFolderTracker(settings: settings)
        _ = first.observe(listing, now: at(60))
        let before = first.acceptTail(path: "Archive/2/c.wav", bytes: trailer(channel: 2))
        var restarted = TelsaFolderTracker(settings: settings)
        let requests = restarted.observe(listing, now: at(5000))
        XCTAssertEqual(requests.map(\.path), ["Archive/2/c.wav"], "non-audio files are not recordings")
        let after = restarted.acceptTail(path: "Archive/2/c.wav", bytes: trailer(channel: 2))
        XCTAssertEqual(before, after, "same file, same event: the collector deduplicates it")
    }

    func testRewrittenFileIsANewVersionAndVanishedFilesAreForgotten() {
        var tracker = TelsaFolderTracker(settings: TelsaSettings(systemKey: "office1", mode: .full))
        _ = tracker.observe([file("Archive/1/d.wav", 10, modified: 1)], now: at(1))
        let first = tracker.acceptTail(path: "Archive/1/d.wav", bytes: [])
        XCTAssertEqual(tracker.observe([file("Archive/1/d.wav", 20, modified: 2)], now: at(2)).count, 1)
        let second = tracker.acceptTail(path: "Archive/1/d.wav", bytes: [])
        XCTAssertNotEqual(first.first?.eventId, second.first?.eventId)
        XCTAssertEqual(first.first?.line, "1", "line from the Archive folder when the trailer is missing")
        XCTAssertEqual(tracker.acceptTail(path: "Archive/1/d.wav", bytes: []), [], "an unrequested tail is ignored")
        XCTAssertEqual(tracker.observe([], now: at(3)), [])
    }

    func testMalformedTrailerIsAnnouncedAndReported() {
        var tracker = TelsaFolderTracker(settings: TelsaSettings(systemKey: "office1", mode: .full))
        _ = tracker.observe([file("Archive/Line4/e.wav", 10, modified: 1)], now: at(1))
        let events = tracker.acceptTail(path: "Archive/Line4/e.wav", bytes: Array("garbage\nTelsa64\n".utf8))
        XCTAssertEqual(events.map(\.type), [.recordingAvailable, .lineUnparsed])
        XCTAssertEqual(events.first?.line, "4")
        for event in events { XCTAssertNoThrow(try event.validate()) }
    }

    func testChannelDisagreementIsVisible() {
        var tracker = TelsaFolderTracker(settings: TelsaSettings(systemKey: "office1", mode: .full))
        _ = tracker.observe([file("Archive/2/f.wav", 10, modified: 100)], now: at(100))
        let event = tracker.acceptTail(path: "Archive/2/f.wav", bytes: trailer(channel: 5)).first
        XCTAssertEqual(event?.line, "5")
        XCTAssertTrue(event?.detail?.contains("differs") ?? false)
    }

    func testSettingsDecodeWithDefaultsAndMapping() throws {
        let settings = try JSONDecoder().decode(TelsaSettings.self, from: Data(#"{"mode":"folder","lineMapping":{"1":"2","2":"1"}}"#.utf8))
        XCTAssertEqual(settings.mode, .folder)
        XCTAssertEqual(settings.lineMapping.line(forChannel: 1), "2")
        XCTAssertEqual(settings.lineMapping.line(forChannel: 7), "7")
        XCTAssertEqual(settings.settleSeconds, 15)
    }
}
