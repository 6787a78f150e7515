import Foundation
import NIOCore
import TamasLink
import TestSupport
import XCTest

/// `GET /metrics` counts what the agents really sent, as Prometheus scrapes it.
final class MetricsTests: XCTestCase {
    /// Agent A reads events 0–599 of one stream, then agent B reads events 300–899 of it on the
    /// same system: 300 events reach the collector twice. Each agent also sends one
    /// `agent.status` ("reading") event of its own.
    func testMetricsCountReceivedDeduplicatedStoredEventsConnectedAgentsAndBacklogs() async throws {
        let folder = try temporaryFolder("e2e-metrics")
        let collector = try CollectorUnderTest(name: "e2e-metrics")
        let lines = try SampleTraffic(systemKey: "office1", count: 900).lines()
        let feedA = try GrowingFile(folder.appendingPathComponent("a.jsonl"))
        let feedB = try GrowingFile(folder.appendingPathComponent("b.jsonl"))
        feedA.append(lines[0..<600])
        feedB.append(lines[300..<900])
        let configA = try collector.enrollAgent("agent-a", systems: ["office1"], folder: folder,
                                                extra: "jsonl:\n  input: \(feedA.url.path)\n  follow: true\n")
        let configB = try collector.enrollAgent("agent-b", systems: ["office1"], folder: folder,
                                                extra: "jsonl:\n  input: \(feedB.url.path)\n  follow: true\n")

        let idle = try collector.metrics()
        XCTAssertEqual(idle["tamas_events_received_total"], 0)
        XCTAssertEqual(idle["tamas_agents_connected"], 0)

        // One agent after the other, so that which copy of an overlapping event is the
        // duplicate (B's) and the two "reading" events' ids (they carry the millisecond they
        // were made) cannot collide.
        let agentA = try ChildProcess("tamas-agent", ["jsonl", "--config", configA.path], name: "agent-a")
        XCTAssertTrue(try eventually(timeout: 20) { try collector.status()["events"] as? Int == 600 + 1 },
                      "agent A's events arrived:\n\(agentA.log.suffix(2000))")
        let agentB = try ChildProcess("tamas-agent", ["jsonl", "--config", configB.path], name: "agent-b")

        let expected: [String: Double] = [
            "tamas_events_received_total": 600 + 1 + 600 + 1,
            "tamas_events_stored_total": 900 + 2,
            "tamas_events_deduplicated_total": 300,
            "tamas_events_quarantined_total": 0,
            "tamas_agent_connections_refused_total": 0,
            "tamas_agents_connected": 2,
            #"tamas_agent_spool_backlog{agent="agent-a"}"#: 0,
            #"tamas_agent_spool_backlog{agent="agent-b"}"#: 0,
        ]
        var scraped: [String: Double] = [:]
        // The backlog gauges move with the agents' heartbeats (every 2 s here), after the drain.
        let settled = try eventually(timeout: 20, every: 0.5) {
            scraped = try collector.metrics()
            return expected.allSatisfy { scraped[$0.key] == $0.value }
        }
        XCTAssertTrue(settled, "agent-b log:\n\(agentB.log.suffix(2000))")
        for (series, value) in expected.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(scraped[series], value, series)
        }
        XCTAssertEqual(try collector.status()["events"] as? Int, 900 + 2)

        // A drained agent's backlog is 0, which a gauge that is never set would show too: a
        // hand-made link reports a backlog of its own, and that exact number is exposed.
        let enrollment = try JSONSerialization.jsonObject(with: Data(
            try collector.tamasctl(["agents", "add", "agent-c", "--system", "office1", "--json"]).utf8)) as? [String: Any]
        let agentId = try XCTUnwrap(enrollment?["agentId"] as? String)
        let secret = try XCTUnwrap(enrollment?["secret"] as? String)
        let fingerprint = try LinkTLS.fingerprint(pem: String(contentsOf: collector.dataDir.appendingPathComponent("tls/collector.crt"), encoding: .utf8))
        let link = try await connectLinkClient(port: collector.agentPort, fingerprint: fingerprint)
        let welcomed = try await link.executeThenClose { inbound, outbound in
            let spool = SpoolReport(backlog: 4321, capacity: 100_000, state: "ok")
            try await outbound.write(try frame(.hello(Hello(
                agentId: agentId, secret: secret, kind: "jsonl", version: "0.1.0", systemKeys: ["office1"],
                spoolId: UUID().uuidString, spool: spool))))
            var messages = inbound.makeAsyncIterator()
            guard case .welcome? = try await messages.next() else { return false }
            try await outbound.write(try frame(.heartbeat(Heartbeat(spool: spool))))
            let reported = try eventually(timeout: 10) {
                scraped = try collector.metrics()
                return scraped[#"tamas_agent_spool_backlog{agent="agent-c"}"#] == 4321 && scraped["tamas_agents_connected"] == 3
            }
            XCTAssertTrue(reported, "\(scraped.filter { $0.key.contains("agent") })")
            return true
        }
        XCTAssertTrue(welcomed)
        XCTAssertTrue(try eventually(timeout: 10) { try collector.metrics()["tamas_agents_connected"] == 2 },
                      "the gauge follows a link that closed")

        agentB.kill9()
        XCTAssertTrue(try eventually(timeout: 10) { try collector.metrics()["tamas_agents_connected"] == 1 },
                      "the gauge follows an agent that was killed")
        XCTAssertTrue(agentA.isRunning)
    }
}
