import Foundation
import TestSupport
import XCTest

/// The backbone's proof (issue 2): real collector and agent processes on loopback, TLS on.
final class BackboneTests: XCTestCase {
    func callEvents(_ events: [[String: Any]]) -> [[String: Any]] {
        events.filter { ($0["type"] as? String)?.hasPrefix("call.") == true }
    }

    /// Kill -9 an agent in the middle of 10,000 events and restart it, kill -9 and restart the
    /// collector mid-stream, with a second agent reading half of the same input: the collector
    /// ends with exactly 10,000 distinct events and every call assembled once.
    func testTenThousandEventsSurviveCrashesOnBothEndsWithoutDoubles() throws {
        let folder = try temporaryFolder("e2e-crash")
        let collector = try CollectorUnderTest(name: "e2e-crash")
        let traffic = SampleTraffic(systemKey: "office1", count: 10_000)
        let lines = try traffic.lines()
        let feedA = try GrowingFile(folder.appendingPathComponent("a.jsonl"))
        let feedB = try GrowingFile(folder.appendingPathComponent("b.jsonl"))
        let configA = try collector.enrollAgent("agent-a", systems: ["office1"], folder: folder,
                                                extra: "jsonl:\n  input: \(feedA.url.path)\n  follow: true\n")
        let configB = try collector.enrollAgent("agent-b", systems: ["office1"], folder: folder,
                                                extra: "jsonl:\n  input: \(feedB.url.path)\n  follow: true\n")
        var agentA = try ChildProcess("tamas-agent", ["jsonl", "--config", configA.path], name: "agent-a")
        let agentB = try ChildProcess("tamas-agent", ["jsonl", "--config", configB.path], name: "agent-b")

        let chunk = 250
        for (index, start) in stride(from: 0, to: lines.count, by: chunk).enumerated() {
            let slice = lines[start..<min(start + chunk, lines.count)]
            feedA.append(slice)
            if start >= lines.count / 2 { feedB.append(slice) }
            switch index {
            case 10:
                agentA.kill9()
            case 14:
                agentA = try ChildProcess("tamas-agent", ["jsonl", "--config", configA.path], name: "agent-a restarted")
            case 22:
                try collector.restart()
            default:
                break
            }
            usleep(40_000)
        }

        let arrived = try eventually(timeout: 90, every: 0.5) {
            Set(callEvents(try collector.events()).compactMap { $0["eventId"] as? String }).count >= 10_000
        }
        XCTAssertTrue(arrived, "not all events arrived; agent-a log:\n\(agentA.log.suffix(3000))\ncollector log:\n\(collector.log.suffix(3000))")
        usleep(1_000_000)
        let events = callEvents(try collector.events())
        XCTAssertEqual(events.count, 10_000, "stored call events, duplicates would show here")
        XCTAssertEqual(Set(events.compactMap { $0["eventId"] as? String }).count, 10_000)
        let calls = try collector.calls()
        XCTAssertEqual(calls.count, traffic.callCount)
        let doubled = calls.filter { call in
            let expected = call["direction"] as? String == "outbound" ? 1 : 3
            return call["eventCount"] as? Int != expected
        }
        XCTAssertEqual(doubled.count, 0, "calls with events applied twice or missing: \(doubled.prefix(3))")
        XCTAssertTrue(calls.allSatisfy { $0["phase"] as? String == "ended" })
        XCTAssertTrue(collector.log.contains("agent connected"))
        XCTAssertTrue(agentB.isRunning, "agent-b rode out the collector restart")
        let status = try collector.status()
        XCTAssertEqual(status["quarantined"] as? Int, 0)
    }

    /// The test above restarts the collector while both agents carry the same events, so one
    /// could make up for the other's loss. Here one agent alone carries 10,000 events and the
    /// collector is killed -9 while they stream (after the first batches arrived, before the
    /// last): every event is stored exactly once, and the agent came back with events still
    /// unacknowledged, proving the crash caught them in flight.
    func testACollectorCrashWhileOneAgentAloneStreamsLosesNoneOfItsEvents() throws {
        let folder = try temporaryFolder("e2e-solo")
        let collector = try CollectorUnderTest(name: "e2e-solo")
        let traffic = SampleTraffic(systemKey: "office1", count: 10_000)
        let lines = try traffic.lines()
        let feed = try GrowingFile(folder.appendingPathComponent("solo.jsonl"))
        feed.append(lines)
        let config = try collector.enrollAgent("solo", systems: ["office1"], folder: folder, extra: "jsonl:\n  input: \(feed.url.path)\n")
        let agent = try ChildProcess("tamas-agent", ["jsonl", "--config", config.path, "--exit-when-drained"], name: "solo agent")

        var receivedAtCrash = 0.0
        XCTAssertTrue(try eventually(timeout: 20, every: 0.005) {
            receivedAtCrash = try collector.metrics()["tamas_events_received_total"] ?? 0
            return receivedAtCrash > 1_000
        }, "the agent started streaming:\n\(agent.log.suffix(2000))")
        collector.kill9()
        XCTAssertLessThan(receivedAtCrash, 10_000 + 1, "the crash came before the agent had sent everything (its status event is the + 1)")
        try collector.start()

        XCTAssertTrue(agent.waitForExit(timeout: 60), "the agent drains its spool and exits:\n\(agent.log.suffix(3000))")
        XCTAssertEqual(agent.exitCode, 0)
        let events = callEvents(try collector.events())
        XCTAssertEqual(events.count, 10_000, "stored call events: fewer is a loss, more a double")
        let missing = Set(lines.compactMap(Self.eventId)).subtracting(events.compactMap { $0["eventId"] as? String })
        XCTAssertEqual(missing.count, 0, "lost, among others: \(missing.sorted().prefix(5))")
        let calls = try collector.calls()
        XCTAssertEqual(calls.count, traffic.callCount)
        XCTAssertEqual(calls.filter { $0["eventCount"] as? Int != ($0["direction"] as? String == "outbound" ? 1 : 3) }.count, 0)

        let linkLines = agent.log.split(separator: "\n").filter { $0.contains(#"msg="link up""#) || $0.contains(#"msg="link down"#) }
        XCTAssertEqual(linkLines.first.map { $0.contains(#"msg="link up""#) }, true, agent.log.suffix(3000).description)
        let relink = try XCTUnwrap(linkLines.dropFirst().first { $0.contains(#"msg="link up""#) }, "the agent linked up again after the crash")
        func number(_ key: String) -> Int? {
            relink.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
        }
        let resendFrom = try XCTUnwrap(number("resendFrom"), String(relink))
        XCTAssertGreaterThan(resendFrom, 1, "the collector had committed part of the stream before it crashed: \(relink)")
        XCTAssertGreaterThan(number("backlog") ?? 0, 0, "the agent still held unacknowledged events: \(relink)")
    }

    static func eventId(_ line: String) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["eventId"] as? String
    }

    /// Every agent shows up in `tamasctl agents` with what it announced, and the command channel
    /// reaches it.
    func testTamasctlListsAgentsAndReachesThemOverTheCommandChannel() throws {
        let folder = try temporaryFolder("e2e-list")
        let collector = try CollectorUnderTest(name: "e2e-list")
        let feed = try GrowingFile(folder.appendingPathComponent("feed.jsonl"))
        feed.append(try SampleTraffic(systemKey: "office2", count: 30).lines())
        let config = try collector.enrollAgent("tehran-pbx", systems: ["office2", "office3"], folder: folder,
                                               extra: "jsonl:\n  input: \(feed.url.path)\n  follow: true\n")
        _ = try collector.enrollAgent("never-connected", systems: ["office9"], folder: folder)
        let agent = try ChildProcess("tamas-agent", ["jsonl", "--config", config.path])
        XCTAssertTrue(try eventually(timeout: 20) { try collector.calls().count == 10 })
        XCTAssertTrue(try eventually(timeout: 20) {
            try collector.agents().first { $0["name"] as? String == "tehran-pbx" }?["spoolBacklog"] as? Int == 0
        }, "a heartbeat reports the drained spool")
        let agents = try collector.agents()
        let listed = try XCTUnwrap(agents.first { $0["name"] as? String == "tehran-pbx" })
        XCTAssertEqual(listed["connected"] as? Bool, true)
        XCTAssertEqual(listed["kind"] as? String, "jsonl")
        XCTAssertEqual(listed["version"] as? String, "0.1.0")
        XCTAssertEqual(listed["systemKeys"] as? [String], ["office2", "office3"])
        XCTAssertNotNil(listed["remoteAddress"] as? String)
        XCTAssertNotNil(listed["connectedSince"] as? String)
        XCTAssertNotNil(listed["lastEventAt"] as? String)
        XCTAssertEqual(listed["eventsReceived"] as? Int, 30 + 1, "30 calls events and the agent's 'reading' status")
        XCTAssertEqual(listed["spoolCapacity"] as? Int, 1_000_000)
        let idle = try XCTUnwrap(agents.first { $0["name"] as? String == "never-connected" })
        XCTAssertEqual(idle["connected"] as? Bool, false)
        XCTAssertEqual(idle["status"] as? String, "disconnected")

        let table = try collector.tamasctl(["agents"])
        XCTAssertTrue(table.contains("tehran-pbx") && table.contains("office2,office3") && table.contains("yes"), table)
        XCTAssertEqual(try collector.tamasctl(["agents", "ping", "tehran-pbx"]).trimmingCharacters(in: .whitespacesAndNewlines), "pong")
        let refused = try runToolAllowingFailure("tamasctl", ["agents", "ping", "tehran-pbx", "--command", "dial-moon",
                                                               "--data-dir", collector.dataDir.path, "--url", collector.url])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.error.contains("does not support 'dial-moon'"), refused.error)
        XCTAssertTrue(agent.isRunning)

        let callsTable = try collector.tamasctl(["calls", "--limit", "3"])
        XCTAssertEqual(callsTable.split(separator: "\n").count, 4, callsTable)
        XCTAssertTrue(callsTable.contains("inbound") && callsTable.contains("answered"), callsTable)
    }

    /// The spool is bounded and its filling is loud; nothing is dropped: with the collector
    /// down, an agent whose spool holds 100 events reads 300, says "spoolFull", and once the
    /// collector is back every event arrives.
    func testAFullSpoolHoldsInputBackLoudlyAndLosesNothing() throws {
        let folder = try temporaryFolder("e2e-full")
        let collector = try CollectorUnderTest(name: "e2e-full")
        let feed = try GrowingFile(folder.appendingPathComponent("feed.jsonl"))
        let config = try collector.enrollAgent("small-spool", systems: ["office4"], folder: folder,
                                               extra: "jsonl:\n  input: \(feed.url.path)\n", spoolCapacity: 100)
        collector.kill9()
        feed.append(try SampleTraffic(systemKey: "office4", count: 300).lines())
        let agent = try ChildProcess("tamas-agent", ["jsonl", "--config", config.path, "--exit-when-drained"])
        agent.waitForLog("spool full: holding the source back", timeout: 20)
        agent.waitForLog("state=spoolFull", timeout: 5)
        try collector.start()
        XCTAssertTrue(agent.waitForExit(timeout: 60), "the agent drains its spool and exits:\n\(agent.log.suffix(2000))")
        XCTAssertEqual(agent.exitCode, 0)
        let events = try collector.events()
        XCTAssertEqual(callEvents(events).count, 300)
        let states = events.filter { $0["type"] as? String == "agent.status" }.compactMap { $0["state"] as? String }
        XCTAssertTrue(states.contains("spoolFull") && states.contains("spoolOk"), "\(states)")
    }
}
