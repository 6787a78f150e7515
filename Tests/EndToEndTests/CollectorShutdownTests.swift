import Foundation
import TestSupport
import XCTest

/// A routine stop (systemd's SIGTERM) must read as routine in the log: operators learn to
/// ignore error lines that appear on every restart, and then miss the real ones.
final class CollectorShutdownTests: XCTestCase {
    func testSIGTERMStopsPromptlyWithoutErrorOrWarningLines() throws {
        let folder = try temporaryFolder("e2e-stop")
        let collector = try CollectorUnderTest(name: "e2e-stop")
        let feed = try GrowingFile(folder.appendingPathComponent("feed.jsonl"))
        feed.append(try SampleTraffic(systemKey: "office1", count: 9).lines())
        let config = try collector.enrollAgent("stop-pbx", systems: ["office1"], folder: folder,
                                               extra: "jsonl:\n  input: \(feed.url.path)\n  follow: true\n")
        let agent = try ChildProcess("tamas-agent", ["jsonl", "--config", config.path])
        XCTAssertTrue(try eventually(timeout: 20) { try collector.calls().count == 3 })
        let process = try XCTUnwrap(collector.process)

        kill(process.pid, SIGTERM)
        XCTAssertTrue(process.waitForExit(timeout: 10), "the collector did not stop within 10 s of SIGTERM")
        XCTAssertEqual(process.exitCode, 0)
        let lines = process.log.split(separator: "\n")
        XCTAssertTrue(lines.contains { $0.contains("collector stopping") }, process.log)
        let alarming = lines.filter { $0.contains("level=error") || $0.contains("level=warning") || $0.contains("level=critical") }
        XCTAssertEqual(alarming, [], "a routine stop logged alarms")
        agent.terminate()
    }
}
