import Foundation
import TestSupport
import XCTest

/// The `ami:` section for an agent talking to a test double, VoIPGRID's channel rules (the
/// captures' phones are 9-digit accounts, the trunk is `voipgrid-siproute-*`).
func amiSection(port: Int, secret: String = "s3cret-ami", extra: [String] = []) -> String {
    (["ami:", "  host: 127.0.0.1", "  port: \(port)", "  username: tamas", "  secret: \(secret)",
      "  trunkPeers: [\"voipgrid-siproute*\"]", "  extensionDigitsMax: 9", "  pingIntervalSeconds: 2", "  pingTimeoutSeconds: 3"]
     + extra.map { "  " + $0 }).joined(separator: "\n") + "\n"
}

/// The numbering of the captures' system (Dutch numbers, 9-digit extensions), merged into `system:`.
func useVoipgridNumbering(_ config: URL, releaseCode: String = "") throws {
    var text = try String(contentsOf: config, encoding: .utf8)
    text = text.replacingOccurrences(of: "system:\n", with: "system:\n  countryCode: \"31\"\n  maxExtensionLength: 9\n  releaseCode: \"\(releaseCode)\"\n")
    try text.write(to: config, atomically: false, encoding: .utf8)
}

/// A private config for the one-shot commands, which never reach the collector named in it.
func standaloneConfig(_ folder: URL, port: Int, secret: String = "s3cret-ami", releaseCode: String = "9", extra: [String] = []) throws -> URL {
    let url = folder.appendingPathComponent("ami-\(UUID().uuidString.prefix(6)).yaml")
    let text = """
        collector:
          address: 127.0.0.1:1
          agentId: unused
          secret: unused-collector-secret
        spool:
          path: \(folder.appendingPathComponent("spool.sqlite").path)
        system:
          key: office1
          releaseCode: "\(releaseCode)"
        log:
          level: warning

        """ + amiSection(port: port, secret: secret, extra: extra)
    try createFile(url.path, Data(text.utf8), mode: 0o600)
    return url
}

/// Posts a command to the collector's HTTP API as the admin and returns the agent's CommandResult.
func postCommand(_ collector: CollectorUnderTest, agent: String, name: String, arguments: [String: String],
                 timeoutSeconds: Int = 30) throws -> [String: Any] {
    let token = try String(contentsOf: collector.dataDir.appendingPathComponent("admin.token"), encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines)
    let body = try JSONSerialization.data(withJSONObject: ["name": name, "arguments": arguments, "timeoutSeconds": timeoutSeconds])
    let result = try runToolAllowingFailure("/usr/bin/curl", [
        "-sS", "--max-time", String(timeoutSeconds + 10), "-X", "POST",
        "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json",
        "--data-binary", String(decoding: body, as: UTF8.self),
        "\(collector.url)/api/v1/agents/\(agent)/commands",
    ], timeout: Double(timeoutSeconds + 20))
    guard result.status == 0, let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any] else {
        XCTFail("POST \(name) failed (\(result.status)): \(result.output) \(result.error)")
        return [:]
    }
    return object
}

func agentStatuses(_ events: [[String: Any]]) -> [(state: String, detail: String)] {
    events.filter { $0["type"] as? String == "agent.status" }.map { ($0["state"] as? String ?? "", $0["detail"] as? String ?? "") }
}

/// Posts to one of the collector's CRM-facing routes (`/api/v1/originate`, ...) as the admin;
/// returns the HTTP status and the JSON answer.
func postAPI(_ collector: CollectorUnderTest, _ path: String, _ body: [String: Any], timeoutSeconds: Int = 60) throws -> (status: Int, body: [String: Any]) {
    let token = try String(contentsOf: collector.dataDir.appendingPathComponent("admin.token"), encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines)
    let data = try JSONSerialization.data(withJSONObject: body)
    let result = try runToolAllowingFailure("/usr/bin/curl", [
        "-sS", "--max-time", String(timeoutSeconds), "-X", "POST", "-w", "\n%{http_code}",
        "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json",
        "--data-binary", String(decoding: data, as: UTF8.self), collector.url + path,
    ], timeout: Double(timeoutSeconds + 10))
    let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
    let status = lines.last.flatMap { Int($0) } ?? 0
    let json = lines.dropLast().joined(separator: "\n")
    let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
    return (status, object)
}
