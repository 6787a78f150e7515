import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOCore
import TamasLink
import TestSupport
import XCTest

/// POST /api/v1/originate and /spy reach, over the command channel, an agent of the system that
/// runs the command, and its answer comes back to the caller.
final class CallControlTests: XCTestCase {
    func post(_ collector: CollectorUnderTest, _ path: String, _ body: [String: String], token given: String? = nil) async throws -> (Int, [String: Any]) {
        let token = try given ?? String(contentsOf: collector.dataDir.appendingPathComponent("admin.token"), encoding: .utf8)
        return try await Self.post(url: collector.url + path, body, token: token)
    }

    static func post(url: String, _ body: [String: String], token: String) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: try XCTUnwrap(URL(string: url)))
        request.httpMethod = "POST"
        request.setValue("Bearer \(token.trimmingCharacters(in: .whitespacesAndNewlines))", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let (data, response) = try await URLSession.shared.data(for: request)
        let object = (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, object)
    }

    /// A collector with one connected jsonl agent on system office7: an agent that runs no
    /// call-control command.
    func collectorWithJSONLAgent(_ test: String, agentName: String) throws -> (CollectorUnderTest, ChildProcess) {
        let folder = try temporaryFolder(test)
        let collector = try CollectorUnderTest(name: test)
        let feed = folder.appendingPathComponent("feed.jsonl")
        try createFile(feed.path)
        let config = try collector.enrollAgent(agentName, systems: ["office7"], folder: folder,
                                               extra: "jsonl:\n  input: \(feed.path)\n  follow: true\n")
        let agent = try ChildProcess("tamas-agent", ["jsonl", "--config", config.path])
        XCTAssertTrue(try eventually(timeout: 20) { try collector.agents().first?["connected"] as? Bool == true }, agent.log)
        return (collector, agent)
    }

    func testCommandsAreRoutedToTheAgentServingTheSystem() async throws {
        let (collector, agent) = try collectorWithJSONLAgent("e2e-control", agentName: "office-agent")
        defer { XCTAssertTrue(agent.isRunning, "the agent that could not run the commands stays connected") }

        let (status, answer) = try await post(collector, "/api/v1/originate", ["systemKey": "office7", "extension": "201", "number": "09121234567"])
        XCTAssertEqual(status, 409, "a jsonl agent announced that it cannot dial")
        XCTAssertEqual((answer["error"] as? [String: Any])?["message"] as? String,
                       "no connected agent of system 'office7' runs 'originate' (connected: office-agent (jsonl))")

        let (spyStatus, spyAnswer) = try await post(collector, "/api/v1/whisper", ["systemKey": "office7", "supervisor": "200", "target": "201"])
        XCTAssertEqual(spyStatus, 409)
        XCTAssertTrue(((spyAnswer["error"] as? [String: Any])?["message"] as? String)?.contains("runs 'spy'") == true, "\(spyAnswer)")

        let (unserved, message) = try await post(collector, "/api/v1/originate", ["systemKey": "nowhere", "extension": "201", "number": "0912"])
        XCTAssertEqual(unserved, 409)
        XCTAssertEqual((message["error"] as? [String: Any])?["message"] as? String, "no connected agent of system 'nowhere' runs 'originate'")

        let crmToken = try collector.tamasctl(["tokens", "add", "payamgostar-main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(crmToken.count, 64)
        let (withToken, _) = try await post(collector, "/api/v1/originate", ["systemKey": "office7", "extension": "201", "number": "0912"],
                                            token: crmToken)
        XCTAssertEqual(withToken, 409, "a CRM's API token reaches call control")
        let (whisperWithToken, refusal) = try await post(collector, "/api/v1/whisper",
                                                         ["systemKey": "office7", "supervisor": "200", "target": "201"], token: crmToken)
        XCTAssertEqual(whisperWithToken, 403, "a new token places calls only, unless given more")
        XCTAssertEqual((refusal["error"] as? [String: Any])?["message"] as? String,
                       "token 'payamgostar-main' may not whisper (it may: originate)")
        XCTAssertEqual(try collector.tamasctl(["tokens", "show", "payamgostar-main"]),
                       "name:    payamgostar-main\nsystems: all\nactions: originate\n")

        let supervisorToken = try collector.tamasctl(["tokens", "add", "supervisors", "--system", "office9", "--allow", "spy",
                                                      "--allow", "whisper"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let (otherSystem, otherRefusal) = try await post(collector, "/api/v1/spy",
                                                         ["systemKey": "office7", "supervisor": "200", "target": "201"],
                                                         token: supervisorToken)
        XCTAssertEqual(otherSystem, 403)
        XCTAssertEqual((otherRefusal["error"] as? [String: Any])?["message"] as? String,
                       "token 'supervisors' is not for system 'office7' (it is for: office9)")
        let (notAllowed, _) = try await post(collector, "/api/v1/originate", ["systemKey": "office9", "extension": "201", "number": "0912"],
                                             token: supervisorToken)
        XCTAssertEqual(notAllowed, 403)
        let (allowed, _) = try await post(collector, "/api/v1/spy", ["systemKey": "office9", "supervisor": "200", "target": "201"],
                                          token: supervisorToken)
        XCTAssertEqual(allowed, 409, "within its scope the request goes on (no agent serves office9 here)")
        let badAction = try runToolAllowingFailure("tamasctl", ["tokens", "add", "typo", "--allow", "listen",
                                                                "--data-dir", collector.dataDir.path, "--url", collector.url])
        XCTAssertEqual(badAction.status, 1)
        XCTAssertTrue(badAction.error.contains("actions: 'listen' is not one of originate, spy, whisper, barge"), badAction.error)
        try collector.tamasctl(["tokens", "revoke", "supervisors"])
        let (adminOnly, _) = try await post(collector, "/api/v1/agents", ["name": "sneaky", "systemKeys": "x"], token: crmToken)
        XCTAssertEqual(adminOnly, 401, "an API token cannot use the admin API")
        let (forged, _) = try await post(collector, "/api/v1/originate", ["systemKey": "office7", "extension": "201", "number": "0912"],
                                         token: String(repeating: "0", count: 64))
        XCTAssertEqual(forged, 401)
        XCTAssertEqual(try collector.tamasctl(["tokens"]).trimmingCharacters(in: .whitespacesAndNewlines), "payamgostar-main")
        try collector.tamasctl(["tokens", "revoke", "payamgostar-main"])
        let (revoked, _) = try await post(collector, "/api/v1/originate", ["systemKey": "office7", "extension": "201", "number": "0912"],
                                          token: crmToken)
        XCTAssertEqual(revoked, 401)
    }

    /// A system usually has several agents (the PBX's, a Telsa recorder's); a command goes to
    /// the one that announced it runs it, even when another agent of the system connected first.
    /// `tamasctl originate` and `tamasctl supervise` take the same way and print the outcome.
    func testACommandSkipsAnOlderAgentOfTheSystemThatCannotRunIt() async throws {
        let (collector, older) = try collectorWithJSONLAgent("e2e-control-route", agentName: "recorder")
        let refused = try runToolAllowingFailure("tamasctl", ["originate", "--system", "office7", "--extension", "201", "--number", "0912",
                                                              "--data-dir", collector.dataDir.path, "--url", collector.url])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.error.contains("no connected agent of system 'office7' runs 'originate' (connected: recorder (jsonl))"),
                      refused.error)

        let enrollment = try JSONSerialization.jsonObject(with: Data(
            try collector.tamasctl(["agents", "add", "dialer", "--system", "office7", "--json"]).utf8)) as? [String: Any]
        let agentId = try XCTUnwrap(enrollment?["agentId"] as? String)
        let secret = try XCTUnwrap(enrollment?["secret"] as? String)
        let fingerprint = try LinkTLS.fingerprint(pem: String(contentsOf: collector.dataDir.appendingPathComponent("tls/collector.crt"), encoding: .utf8))
        let originateURL = collector.url + "/api/v1/originate"
        let adminToken = try String(contentsOf: collector.dataDir.appendingPathComponent("admin.token"), encoding: .utf8)
        let tamasctl = ["--data-dir", collector.dataDir.path, "--url", collector.url]
        let link = try await connectLinkClient(port: collector.agentPort, fingerprint: fingerprint)
        let (status, answer, received, placed, whispered) = try await link.executeThenClose { inbound, outbound in
            try await outbound.write(try frame(.hello(Hello(
                agentId: agentId, secret: secret, kind: "ami", version: "0.1.0", systemKeys: ["office7"],
                spoolId: UUID().uuidString, spool: SpoolReport(backlog: 0, capacity: 1000, state: "ok"),
                commands: ["originate", "spy"]))))
            var messages = inbound.makeAsyncIterator()
            guard case .welcome? = try await messages.next() else { throw CancellationError() }
            func answerNextCommand(_ reply: (Command) -> CommandResult) async throws -> Command? {
                while let message = try await messages.next() {
                    guard case .command(let command) = message else { continue }
                    try await outbound.write(try frame(.result(reply(command))))
                    return command
                }
                return nil
            }
            async let posted = Self.post(url: originateURL, ["systemKey": "office7", "extension": "201", "number": "0912"],
                                         token: adminToken)
            let received = try await answerNextCommand { CommandResult(id: $0.id, ok: true, output: "answered") }
            let (status, answer) = try await posted

            let placing = try ChildProcess("tamasctl", ["originate", "--system", "office7", "--extension", "202", "--number", "0935",
                                                        "--auto-answer"] + tamasctl)
            let placedCommand = try await answerNextCommand { CommandResult(id: $0.id, ok: true, output: "answered") }
            XCTAssertTrue(placing.waitForExit(timeout: 20))
            XCTAssertEqual(placedCommand?.arguments, ["from": "202", "to": "0935", "autoAnswer": "true"])
            let whispering = try ChildProcess("tamasctl", ["supervise", "whisper", "--system", "office7", "--supervisor", "200",
                                                           "--target", "201"] + tamasctl)
            let whisper = try await answerNextCommand { CommandResult(id: $0.id, ok: false, error: "201 is not on a call") }
            XCTAssertTrue(whispering.waitForExit(timeout: 20))
            XCTAssertEqual(whisper?.arguments["mode"], "whisper")
            return (status, answer, received, placing, whispering)
        }
        XCTAssertEqual(received?.name, "originate")
        XCTAssertEqual(received?.arguments, ["from": "201", "to": "0912"])
        XCTAssertEqual(status, 200)
        XCTAssertEqual(answer["agent"] as? String, "dialer")
        XCTAssertEqual(answer["outcome"] as? String, "answered")
        XCTAssertEqual(placed.exitCode, 0, placed.log)
        XCTAssertEqual(placed.output, "dialer: answered\n")
        XCTAssertEqual(whispered.exitCode, 1)
        XCTAssertTrue(whispered.log.contains("agent dialer answered: 201 is not on a call"), whispered.log)
        XCTAssertTrue(older.isRunning)
    }
}
