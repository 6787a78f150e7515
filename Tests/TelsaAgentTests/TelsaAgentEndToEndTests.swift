import Foundation
import TestSupport
import XCTest

/// The real `tamas-agent telsa` against the real collector, with Telsa's two install modes
/// played by real files in temporary folders.
final class TelsaAgentEndToEndTests: XCTestCase {
    func recordings(_ collector: CollectorUnderTest, system: String) throws -> [[String: Any]] {
        try collector.events().filter { $0["type"] as? String == "recording.available" && $0["systemKey"] as? String == system }
    }

    func recording(_ events: [[String: Any]], endingWith suffix: String) -> [String: Any]? {
        events.first { ($0["ref"] as? String)?.hasSuffix(suffix) == true }
    }

    func telsaSection(root: URL, mode: String, watch: String, settle: Int = 2) -> String {
        """
        telsa:
          mode: \(mode)
          root: \(root.path)
          settleSeconds: \(settle)
          watch: \(watch)
          pollIntervalSeconds: 0.5
          timeZone: Asia/Tehran
          lineMapping:
            1: 3

        """
    }

    func testBothModesAnnounceCompleteRecordingsOnceAndARestartAddsNothing() throws {
        let folder = try temporaryFolder("e2e-telsa")
        defer { try? FileManager.default.removeItem(at: folder) }
        let collector = try CollectorUnderTest(name: "e2e-telsa")
        let fullRoot = folder.appendingPathComponent("telsa-full")
        let folderRoot = folder.appendingPathComponent("telsa-folder")
        let start = TelsaRecordings.trailerStart

        try TelsaRecordings.write(TelsaRecordings.audio(20_000) + TelsaRecordings.trailer(channel: 2),
                                  to: fullRoot.appendingPathComponent("Archive/Line2/old.wav"), modified: start.addingTimeInterval(30))
        try FileManager.default.createDirectory(at: fullRoot.appendingPathComponent("record"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folderRoot.appendingPathComponent("record"), withIntermediateDirectories: true)
        let fullConfig = try collector.enrollAgent("telsa-full", systems: ["office1"], folder: folder,
                                                   extra: telsaSection(root: fullRoot, mode: "full", watch: "auto"))
        let folderConfig = try collector.enrollAgent("telsa-folder", systems: ["office2"], folder: folder,
                                                     extra: telsaSection(root: folderRoot, mode: "folder", watch: "polling"))
        var fullAgent = try ChildProcess("tamas-agent", ["telsa", "run", "--config", fullConfig.path], name: "telsa-full")
        var folderAgent = try ChildProcess("tamas-agent", ["telsa", "run", "--config", folderConfig.path], name: "telsa-folder")
        fullAgent.waitForLog("mode=\"inotify on \(fullRoot.path)", timeout: 30)
        folderAgent.waitForLog("mode=\"polling \(folderRoot.path) every 0.5 s: watch: polling", timeout: 30)

        // Full mode: recorded into record/, growing, then moved into a new Archive/<line> folder.
        let live = fullRoot.appendingPathComponent("record/a.wav")
        try TelsaRecordings.write(TelsaRecordings.audio(4000), to: live)
        // Folder mode: recorded in place, growing for a while before Telsa appends the trailer.
        let growing = folderRoot.appendingPathComponent("record/c.mp3")
        try TelsaRecordings.write(TelsaRecordings.audio(4000, seed: 5), to: growing)
        for _ in 0..<8 {
            usleep(500_000)
            try TelsaRecordings.append(TelsaRecordings.audio(4000, seed: 11), to: live)
            try TelsaRecordings.append(TelsaRecordings.audio(4000, seed: 13), to: growing)
        }
        XCTAssertTrue(try eventually(timeout: 20) { try recordings(collector, system: "office1").count == 1 }, fullAgent.log)
        XCTAssertEqual(try recordings(collector, system: "office2").count, 0, "a file still being written is not announced")
        XCTAssertNil(recording(try recordings(collector, system: "office1"), endingWith: "a.wav"), "full mode ignores record/")

        try TelsaRecordings.append(TelsaRecordings.trailer(channel: 1), to: live)
        try TelsaRecordings.setModified(live, start.addingTimeInterval(75))
        let archived = fullRoot.appendingPathComponent("Archive/Line1/a.wav")
        try FileManager.default.createDirectory(at: archived.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: live, to: archived)
        try TelsaRecordings.write(TelsaRecordings.audio(3000), to: fullRoot.appendingPathComponent("Archive/4/untagged.wav"),
                                  modified: start.addingTimeInterval(600))
        try TelsaRecordings.append(TelsaRecordings.trailer(channel: 5, started: "2025/12/09 11:40:00"), to: growing)
        try TelsaRecordings.setModified(growing, start.addingTimeInterval(330 + 42))

        XCTAssertTrue(try eventually(timeout: 20) { try recordings(collector, system: "office1").count == 3 }, fullAgent.log)
        XCTAssertTrue(try eventually(timeout: 20) { try recordings(collector, system: "office2").count == 1 }, folderAgent.log)
        let full = try recordings(collector, system: "office1")
        let moved = try XCTUnwrap(recording(full, endingWith: "/Archive/Line1/a.wav"))
        XCTAssertEqual(moved["line"] as? String, "3", "Telsa channel 1 is wired to line 3")
        XCTAssertEqual(moved["startedAt"] as? String, "2025-12-09T11:34:30+03:30")
        XCTAssertEqual(moved["durationSec"] as? Int, 75)
        XCTAssertEqual(moved["format"] as? String, "wav")
        XCTAssertEqual(moved["peer"] as? String, "09123456789")
        XCTAssertEqual(moved["source"] as? String, "telsa")
        let old = try XCTUnwrap(recording(full, endingWith: "/Archive/Line2/old.wav"))
        XCTAssertEqual(old["line"] as? String, "2")
        XCTAssertEqual(old["durationSec"] as? Int, 30)
        let untagged = try XCTUnwrap(recording(full, endingWith: "/Archive/4/untagged.wav"))
        XCTAssertEqual(untagged["line"] as? String, "4", "no trailer: the Archive folder's number")
        XCTAssertEqual(untagged["startedAt"] as? String, "2025-12-09T11:44:30+03:30", "no trailer: the modification time")
        let settled = try XCTUnwrap(try recordings(collector, system: "office2").first)
        XCTAssertTrue((settled["ref"] as? String)?.hasSuffix("/record/c.mp3") == true)
        XCTAssertEqual(settled["line"] as? String, "5")
        XCTAssertEqual(settled["startedAt"] as? String, "2025-12-09T11:40:00+03:30")
        XCTAssertEqual(settled["durationSec"] as? Int, 42)
        XCTAssertEqual(settled["format"] as? String, "mp3")

        let before = Set(try collector.events().filter { $0["type"] as? String == "recording.available" }.compactMap { $0["eventId"] as? String })
        XCTAssertEqual(before.count, 4)
        fullAgent.kill9()
        folderAgent.kill9()
        fullAgent = try ChildProcess("tamas-agent", ["telsa", "run", "--config", fullConfig.path], name: "telsa-full restarted")
        folderAgent = try ChildProcess("tamas-agent", ["telsa", "run", "--config", folderConfig.path], name: "telsa-folder restarted")
        XCTAssertTrue(eventually(timeout: 20) {
            fullAgent.log.components(separatedBy: "type=recording.available").count - 1 == 3
                && folderAgent.log.components(separatedBy: "type=recording.available").count - 1 == 1
        }, "the restarted agents rescan and send every recording again:\n\(fullAgent.log)\n\(folderAgent.log)")
        for name in ["telsa-full", "telsa-folder"] {
            XCTAssertTrue(try eventually(timeout: 20) {
                try collector.agents().first { $0["name"] as? String == name }?["spoolBacklog"] as? Int == 0
                    && collector.agents().first { $0["name"] as? String == name }?["connected"] as? Bool == true
            }, "\(name) drained its spool")
        }
        usleep(500_000)
        let after = try collector.events().filter { $0["type"] as? String == "recording.available" }
        XCTAssertEqual(after.count, 4, "the collector dropped the resent events as duplicates")
        XCTAssertEqual(Set(after.compactMap { $0["eventId"] as? String }), before, "same eventIds after the restart")
        XCTAssertTrue(fullAgent.isRunning && folderAgent.isRunning)
    }

    func testScanPrintsWhatWouldBeSentAndTrailerReadsOneRecording() throws {
        let folder = try temporaryFolder("telsa-scan")
        defer { try? FileManager.default.removeItem(at: folder) }
        let root = folder.appendingPathComponent("telsa")
        let tagged = root.appendingPathComponent("Archive/Line1/a.wav")
        try TelsaRecordings.write(TelsaRecordings.audio(5000) + (try TelsaRecordings.fixtureTrailer()), to: tagged,
                                  modified: TelsaRecordings.trailerStart.addingTimeInterval(60))
        try TelsaRecordings.write(TelsaRecordings.audio(500) + Data("11\nTelsa64\n".utf8),
                                  to: root.appendingPathComponent("Archive/Line2/broken.mp3"), modified: TelsaRecordings.trailerStart)
        try TelsaRecordings.write(TelsaRecordings.audio(500), to: root.appendingPathComponent("record/live.wav"))
        let config = folder.appendingPathComponent("agent.yaml")
        try """
            collector:
              address: 127.0.0.1:7443
              agentId: a1
              secret: s
            system:
              key: office1
            \(telsaSection(root: root, mode: "full", watch: "auto"))
            """.write(to: config, atomically: false, encoding: .utf8)
        chmod(config.path, 0o600)

        let scan = try runToolAllowingFailure("tamas-agent", ["telsa", "scan", "--config", config.path], timeout: 30)
        XCTAssertEqual(scan.status, 0, scan.error)
        let events = scan.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        XCTAssertEqual(events.compactMap { $0["type"] as? String }.sorted(),
                       ["line.unparsed", "recording.available", "recording.available"], scan.output)
        let good = try XCTUnwrap(recording(events, endingWith: "/Archive/Line1/a.wav"))
        XCTAssertEqual(good["line"] as? String, "3")
        XCTAssertEqual(good["startedAt"] as? String, "2025-12-09T11:34:30+03:30")
        XCTAssertEqual(good["durationSec"] as? Int, 60)
        let broken = try XCTUnwrap(recording(events, endingWith: "/Archive/Line2/broken.mp3"))
        XCTAssertEqual(broken["line"] as? String, "2")
        XCTAssertTrue((broken["detail"] as? String)?.contains("no usable Telsa64 trailer") == true)
        XCTAssertTrue(scan.error.contains("2 recordings announced (full mode); 3 files in \(root.path)"), scan.error)

        let trailer = try runToolAllowingFailure("tamas-agent", ["telsa", "trailer", tagged.path], timeout: 30)
        XCTAssertEqual(trailer.status, 0, trailer.error)
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(trailer.output.utf8)) as? [String: Any])
        XCTAssertEqual(parsed["channel"] as? Int, 1)
        XCTAssertEqual(parsed["number"] as? String, "09123456789")
        XCTAssertEqual(parsed["startedAt"] as? String, "2025-12-09T11:34:30+03:30")
        XCTAssertEqual(parsed["fileName"] as? String, "e9c9be2f-5932-4226-8ac7-5c5ab5de09e9")
        XCTAssertEqual(parsed["callType"] as? String, "Voice_Call")
        XCTAssertEqual(parsed["declaredCount"] as? Int, 11)
        XCTAssertEqual(parsed["countMismatch"] as? Bool, true)
        XCTAssertEqual((parsed["entries"] as? [[String: Any]])?.count, 3)

        let none = try runToolAllowingFailure("tamas-agent", ["telsa", "trailer", root.appendingPathComponent("record/live.wav").path])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.error.contains("no Telsa64 trailer: the file does not end with a Telsa64 line"), none.error)
        let malformed = try runToolAllowingFailure("tamas-agent", ["telsa", "trailer", root.appendingPathComponent("Archive/Line2/broken.mp3").path])
        XCTAssertEqual(malformed.status, 1)
        XCTAssertTrue(malformed.error.contains("malformed Telsa64 trailer"), malformed.error)
        let missing = try runToolAllowingFailure("tamas-agent", ["telsa", "trailer", folder.appendingPathComponent("nope.wav").path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.error.contains("no such recording"), missing.error)
    }
}
