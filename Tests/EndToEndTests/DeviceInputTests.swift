import Foundation
import TestSupport
import XCTest

/// A link to the device can be up and deliver nothing; the agent's last input time is how an
/// operator sees that, in `tamasctl agents` and in /metrics.
final class DeviceInputTests: XCTestCase {
    func testTheLastInputFromTheDeviceReachesTheAgentListAndMetrics() throws {
        let folder = try temporaryFolder("e2e-input")
        let collector = try CollectorUnderTest(name: "e2e-input")
        let feed = try GrowingFile(folder.appendingPathComponent("feed.jsonl"))
        let config = try collector.enrollAgent("quiet-pbx", systems: ["office1"], folder: folder,
                                               extra: "jsonl:\n  input: \(feed.url.path)\n  follow: true\n")
        let agent = try ChildProcess("tamas-agent", ["jsonl", "--config", config.path])
        defer { agent.terminate() }
        XCTAssertTrue(try eventually(timeout: 20) { try self.listed(collector)?["spoolBacklog"] as? Int == 0 },
                      "the agent connects and heartbeats")
        XCTAssertNil(try listed(collector)?["lastInputAt"], "nothing has come from the device yet")
        XCTAssertFalse(try metrics(collector).contains("tamas_agent_last_input_timestamp_seconds{agent=\"quiet-pbx\"}"))

        let fedAt = Date()
        feed.append(try SampleTraffic(systemKey: "office1", count: 3).lines())
        var lastInput: String?
        XCTAssertTrue(try eventually(timeout: 20) {
            lastInput = try self.listed(collector)?["lastInputAt"] as? String
            return lastInput != nil
        }, "a heartbeat after the input reports it")
        let reported = try XCTUnwrap(lastInput.flatMap { ISO8601DateFormatter.withFractions.date(from: $0) ?? ISO8601DateFormatter().date(from: $0) },
                                     "lastInputAt is not a timestamp: \(lastInput ?? "nil")")
        XCTAssertEqual(reported.timeIntervalSince(fedAt), 0, accuracy: 2)
        let table = try collector.tamasctl(["agents"])
        XCTAssertTrue(table.contains("LAST INPUT"), table)

        let line = try XCTUnwrap(try metrics(collector).split(separator: "\n")
            .first { $0.hasPrefix("tamas_agent_last_input_timestamp_seconds{agent=\"quiet-pbx\"}") })
        let seconds = try XCTUnwrap(line.split(separator: " ").last.flatMap { Double($0) }, String(line))
        XCTAssertEqual(seconds, reported.timeIntervalSince1970, accuracy: 0.001)
    }

    func listed(_ collector: CollectorUnderTest) throws -> [String: Any]? {
        try collector.agents().first { $0["name"] as? String == "quiet-pbx" }
    }

    func metrics(_ collector: CollectorUnderTest) throws -> String {
        try runTool("/usr/bin/curl", ["-sS", "--max-time", "10", "\(collector.url)/metrics"])
    }
}

extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
