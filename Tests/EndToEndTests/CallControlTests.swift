import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import XCTest

/// POST /api/v1/originate and /spy reach the agent that serves the system over the command
/// channel, and its answer (here: a jsonl agent that cannot dial) comes back to the caller.
final class CallControlTests: XCTestCase {
    func post(_ collector: CollectorUnderTest, _ path: String, _ body: [String: String], token given: String? = nil) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: try XCTUnwrap(URL(string: collector.url + path)))
        request.httpMethod = "POST"
        let token = try given ?? String(contentsOf: collector.dataDir.appendingPathComponent("admin.token"), encoding: .utf8)
        request.setValue("Bearer \(token.trimmingCharacters(in: .whitespacesAndNewlines))", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        let (data, response) = try await URLSession.shared.data(for: request)
        let object = (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, object)
    }

    func testCommandsAreRoutedToTheAgentServingTheSystem() async throws {
        let folder = try temporaryFolder("e2e-control")
        let collector = try CollectorUnderTest(name: "e2e-control")
        let feed = folder.appendingPathComponent("feed.jsonl")
        FileManager.default.createFile(atPath: feed.path, contents: nil)
        let config = try collector.enrollAgent("office-agent", systems: ["office7"], folder: folder,
                                               extra: "jsonl:\n  input: \(feed.path)\n  follow: true\n")
        let agent = try ChildProcess("tamas-agent", ["jsonl", "--config", config.path])
        XCTAssertTrue(try eventually(timeout: 20) { try collector.agents().first?["connected"] as? Bool == true }, agent.log)

        let (status, answer) = try await post(collector, "/api/v1/originate", ["systemKey": "office7", "extension": "201", "number": "09121234567"])
        XCTAssertEqual(status, 422)
        XCTAssertEqual(answer["agent"] as? String, "office-agent")
        XCTAssertEqual(answer["ok"] as? Bool, false)
        XCTAssertTrue((answer["error"] as? String)?.contains("does not support 'originate'") == true, "\(answer)")

        let (spyStatus, spyAnswer) = try await post(collector, "/api/v1/whisper", ["systemKey": "office7", "supervisor": "200", "target": "201"])
        XCTAssertEqual(spyStatus, 422)
        XCTAssertTrue((spyAnswer["error"] as? String)?.contains("does not support 'spy'") == true, "\(spyAnswer)")

        let (unserved, message) = try await post(collector, "/api/v1/originate", ["systemKey": "nowhere", "extension": "201", "number": "0912"])
        XCTAssertEqual(unserved, 409)
        XCTAssertEqual((message["error"] as? [String: Any])?["message"] as? String, "no connected agent serves system 'nowhere'")

        let crmToken = try collector.tamasctl(["tokens", "add", "payamgostar-main"]).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(crmToken.count, 64)
        let (withToken, _) = try await post(collector, "/api/v1/originate", ["systemKey": "office7", "extension": "201", "number": "0912"],
                                            token: crmToken)
        XCTAssertEqual(withToken, 422, "a CRM's API token reaches call control")
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
}
