import Foundation
import TestSupport
import XCTest

/// The examples in the documentation are run: the event examples of docs/events.md are valid
/// events, and the README's five-minute tour works against a real demo collector.
final class DocumentationTests: XCTestCase {
    func testEventExamplesAreValidEvents() throws {
        let blocks = try Fixtures.codeBlocks(in: "docs/events.md", language: "jsonl")
        XCTAssertGreaterThanOrEqual(blocks.count, 2)
        for block in blocks {
            let lines = block.split(separator: "\n")
            let output = try runTool("tamas-agent", ["jsonl", "check", "--system-key", "docs"], input: Data((block + "\n").utf8))
            let events = output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            XCTAssertEqual(events.count, lines.count)
            for event in events {
                XCTAssertNotEqual(event["type"] as? String, "line.unparsed", "\(event["reason"] ?? "")")
                XCTAssertEqual(event["systemKey"] as? String, "docs")
            }
        }
    }

    func testTheReadmeTourWorksAgainstTheDemo() throws {
        let tour = try XCTUnwrap(try Fixtures.codeBlocks(in: "README.md", language: "sh").first { $0.contains("export TAMAS_DATA_DIR") })
        let collector = try CollectorUnderTest(name: "readme-tour", extraArguments: ["--demo"])
        collector.process?.waitForLog("demo agent started", timeout: 20)
        XCTAssertTrue(try eventually(timeout: 30) { try collector.calls().count >= 12 }, collector.log.suffix(3000).description)
        let environment = ["TAMAS_DATA_DIR": collector.dataDir.path, "TAMAS_URL": collector.url]
        var outputs: [String: String] = [:]
        for line in tour.split(separator: "\n") where line.hasPrefix(".build/debug/") {
            var words = line.split(separator: " ").map(String.init)
            let tool = String(words.removeFirst().dropFirst(".build/debug/".count))
            outputs[words.joined(separator: " ")] = try runTool(tool, words, environment: environment)
        }
        XCTAssertEqual(outputs.count, 5)
        let agents = try XCTUnwrap(outputs["agents"])
        XCTAssertTrue(agents.contains("demo") && agents.contains("yes"), agents)
        XCTAssertTrue(try XCTUnwrap(outputs["calls --limit 5"]).contains("answered"))
        XCTAssertEqual(try XCTUnwrap(outputs["agents ping demo"]).trimmingCharacters(in: .whitespacesAndNewlines), "pong")
        XCTAssertTrue(try XCTUnwrap(outputs["events --after 0"]).contains("\"call.ringing\""))
        XCTAssertTrue(try XCTUnwrap(outputs["status"]).contains("\"agentsConnected\":1"))
    }
}
