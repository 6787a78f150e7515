import Foundation
import TestSupport
import XCTest

/// The operator's commands that the other end-to-end tests do not drive: following the event
/// stream live, and enrolling an agent without `--config-out`.
final class TamasctlTests: XCTestCase {
    func eventId(_ line: some StringProtocol) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["eventId"] as? String
    }

    /// `tamasctl events --follow`, started before any event exists, prints each event once as it
    /// is stored, in order, and keeps waiting for more.
    func testEventsFollowPrintsEventsAsTheyArrive() throws {
        let folder = try temporaryFolder("e2e-follow")
        let collector = try CollectorUnderTest(name: "e2e-follow")
        let feed = try GrowingFile(folder.appendingPathComponent("feed.jsonl"))
        let config = try collector.enrollAgent("follow-pbx", systems: ["office6"], folder: folder,
                                               extra: "jsonl:\n  input: \(feed.url.path)\n  follow: true\n")
        let follow = try ChildProcess("tamasctl", ["events", "--follow", "--data-dir", collector.dataDir.path, "--url", collector.url],
                                      name: "tamasctl events --follow")
        let agent = try ChildProcess("tamas-agent", ["jsonl", "--config", config.path], name: "agent")
        let lines = try SampleTraffic(systemKey: "office6", count: 60).lines()
        let ids = lines.compactMap(eventId)
        XCTAssertEqual(ids.count, 60)

        // Only whole lines count: the last one may still be half written.
        func printed() -> [String] {
            follow.output.split(separator: "\n", omittingEmptySubsequences: true)
                .filter { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil }.map(String.init)
        }
        func printedCallEventIds() -> [String] {
            printed().filter { $0.contains(#""type":"call."#) }.compactMap(eventId)
        }

        XCTAssertTrue(eventually(timeout: 20) { printed().contains { $0.contains(#""state":"reading""#) } },
                      "the agent's first status event is printed:\n\(follow.output)\n\(follow.log)\n\(agent.log.suffix(2000))")
        XCTAssertEqual(printedCallEventIds(), [])
        feed.append(lines[0..<30])
        XCTAssertTrue(eventually(timeout: 20) { printedCallEventIds().count >= 30 }, follow.output)
        XCTAssertEqual(printedCallEventIds(), Array(ids[0..<30]))
        feed.append(lines[30..<60])
        XCTAssertTrue(eventually(timeout: 20) { printedCallEventIds().count >= 60 }, follow.output)
        usleep(500_000)
        XCTAssertEqual(printedCallEventIds(), ids, "every event once, in the order stored")
        XCTAssertEqual(printed().count, 60 + 1, "the calls' events and the agent's 'reading' status, nothing else")
        XCTAssertTrue(follow.isRunning, "--follow keeps waiting for new events:\n\(follow.log)")
        follow.terminate()
        XCTAssertEqual(follow.log, "", "nothing went wrong on the way")
    }

    /// `tamasctl agents add NAME --system KEY` prints an agent id, a 256-bit secret and a ready
    /// configuration; an agent using exactly what was printed connects and streams, and the
    /// secret appears nowhere the collector writes (its log at trace level, its data folder).
    func testAgentsAddPrintsCredentialsThatWorkAndThatTheCollectorNeverWritesDown() throws {
        let folder = try temporaryFolder("e2e-enroll")
        let collector = try CollectorUnderTest(name: "e2e-enroll", extraArguments: ["--log-level", "trace"])
        let printedText = try collector.tamasctl(["agents", "add", "shiraz-pbx", "--system", "office7"])
        func printedValue(_ key: String) -> String? {
            printedText.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix(key + ": ") }.map { String($0.dropFirst(key.count + 2)) }
        }
        let agentId = try XCTUnwrap(printedValue("agentId"), printedText)
        let secret = try XCTUnwrap(printedValue("secret"), printedText)
        XCTAssertTrue(printedText.hasPrefix("Agent shiraz-pbx enrolled. The secret is shown only now"), printedText)
        XCTAssertEqual(agentId.count, "ag_".count + 16)
        XCTAssertTrue(agentId.hasPrefix("ag_"), agentId)
        XCTAssertEqual(secret.count, 64, "256 bits in hexadecimal")
        XCTAssertTrue(secret.allSatisfy(\.isHexDigit), secret)
        XCTAssertEqual(printedValue("key"), "office7")
        XCTAssertTrue(printedValue("address")?.hasSuffix(":\(collector.agentPort)") == true, printedText)

        let printedConfiguration = try XCTUnwrap(printedText.range(of: "collector:").map { String(printedText[$0.lowerBound...]) })
        XCTAssertTrue(printedConfiguration.contains("  path: /var/lib/tamas-agent/spool-shiraz-pbx.sqlite\n"),
                      "each agent gets a spool of its own: \(printedConfiguration)")
        let feed = try GrowingFile(folder.appendingPathComponent("feed.jsonl"))
        let config = folder.appendingPathComponent("shiraz.yaml")
        let configText = printedConfiguration
            .replacingOccurrences(of: "/var/lib/tamas-agent/spool-shiraz-pbx.sqlite", with: folder.appendingPathComponent("spool.sqlite").path)
            + "jsonl:\n  input: \(feed.url.path)\n  follow: true\n"
        try configText.write(to: config, atomically: false, encoding: .utf8)
        chmod(config.path, 0o600)
        feed.append(try SampleTraffic(systemKey: "office7", count: 30).lines())
        let agent = try ChildProcess("tamas-agent", ["jsonl", "--config", config.path], name: "enrolled agent")

        XCTAssertTrue(try eventually(timeout: 20) { try collector.status()["events"] as? Int == 30 + 1 },
                      "the agent's events arrived:\n\(agent.log.suffix(2000))")
        let listed = try XCTUnwrap(try collector.agents().first { $0["name"] as? String == "shiraz-pbx" })
        XCTAssertEqual(listed["agentId"] as? String, agentId)
        XCTAssertEqual(listed["connected"] as? Bool, true)
        XCTAssertEqual(listed["systemKeys"] as? [String], ["office7"])
        XCTAssertEqual(try collector.calls().count, 10)

        XCTAssertTrue(collector.log.contains("agent connected"), collector.log.suffix(2000).description)
        XCTAssertFalse(collector.log.contains(secret), "the collector logged the agent's secret")
        XCTAssertFalse(try collector.tamasctl(["agents", "--json"]).contains(secret), "the agent list shows the secret")
        let stored = try FileManager.default.subpathsOfDirectory(atPath: collector.dataDir.path).filter { path in
            let contents = FileManager.default.contents(atPath: collector.dataDir.appendingPathComponent(path).path) ?? Data()
            return contents.range(of: Data(secret.utf8)) != nil
        }
        XCTAssertEqual(stored, [], "files in the collector's data folder holding the secret in clear")
    }

    /// Configs made by `agents add` give each agent its own spool; a second agent pointed at a
    /// spool already in use stops at start and names the agent process that has it, instead of
    /// sending the same rows again and overwriting the first one's saved state.
    func testASecondAgentGivenTheSameSpoolStopsAndNamesTheFirst() throws {
        let folder = try temporaryFolder("e2e-spool-lock")
        let collector = try CollectorUnderTest(name: "e2e-spool-lock")
        let feed = try GrowingFile(folder.appendingPathComponent("feed.jsonl"))
        let config = try collector.enrollAgent("yazd-pbx", systems: ["office9"], folder: folder,
                                               extra: "jsonl:\n  input: \(feed.url.path)\n  follow: true\n")
        let first = try ChildProcess("tamas-agent", ["jsonl", "--config", config.path], name: "first agent")
        first.waitForLog("agent starting", timeout: 20)
        let second = try ChildProcess("tamas-agent", ["jsonl", "--config", config.path], name: "second agent")
        XCTAssertTrue(second.waitForExit(timeout: 20), "the second agent stops:\n\(second.log.suffix(2000))")
        XCTAssertNotEqual(second.exitCode, 0)
        XCTAssertTrue(second.log.contains("is in use by process \(first.pid)"), second.log.suffix(2000).description)
        feed.append(try SampleTraffic(systemKey: "office9", count: 5).lines())
        XCTAssertTrue(try eventually(timeout: 20) { try collector.status()["events"] as? Int == 5 + 1 },
                      "the first agent goes on:\n\(first.log.suffix(2000))")
        first.terminate()
    }
}
