import Foundation
import TestSupport
import XCTest

/// Mutual TLS with a private CA made by deploy/make-ca.sh: with --client-ca the collector turns
/// away an agent without a certificate from that CA (even with a valid secret), serves one with
/// it, and refuses a certificate issued to another agent.
final class MutualTLSTests: XCTestCase {
    func testOnlyAgentsWithACertificateFromThePrivateCAGetIn() throws {
        let folder = try temporaryFolder("e2e-mtls")
        let pki = folder.appendingPathComponent("pki")
        let script = Fixtures.repositoryRoot.appendingPathComponent("deploy/make-ca.sh").path
        try runTool("/bin/bash", [script, pki.path, "ca"])
        try runTool("/bin/bash", [script, pki.path, "agent", "branch-pbx"])
        let keyMode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: pki.appendingPathComponent("branch-pbx.key").path)[.posixPermissions] as? Int)
        XCTAssertEqual(keyMode & 0o077, 0, "private keys are not readable by others")

        let collector = try CollectorUnderTest(name: "e2e-mtls", extraArguments: ["--client-ca", pki.appendingPathComponent("ca.crt").path])
        let feed = folder.appendingPathComponent("feed.jsonl")
        try (try SampleTraffic(systemKey: "branch", count: 30).lines().joined(separator: "\n") + "\n").write(to: feed, atomically: true, encoding: .utf8)
        let section = "jsonl:\n  input: \(feed.path)\n"
        let withoutCertificate = try collector.enrollAgent("no-cert", systems: ["branch"], folder: folder, extra: section)
        let stranger = try ChildProcess("tamas-agent", ["jsonl", "--config", withoutCertificate.path], name: "agent without certificate")
        stranger.waitForLog("link down", timeout: 20)
        collector.process?.waitForLog("agent connection closed on error", timeout: 10)
        stranger.terminate()
        XCTAssertEqual(try collector.calls().count, 0)

        /// Enrolls `agent` and gives it the client certificate `make-ca.sh` issued to `holder`.
        func enroll(_ agent: String, presenting holder: String) throws -> URL {
            let path = try collector.enrollAgent(agent, systems: ["branch"], folder: folder, extra: section)
            let config = try String(contentsOf: path, encoding: .utf8).replacingOccurrences(of: "collector:\n", with: """
                collector:
                  clientCertificate: \(pki.appendingPathComponent("\(holder).crt").path)
                  clientKey: \(pki.appendingPathComponent("\(holder).key").path)

                """)
            try config.write(to: path, atomically: false, encoding: .utf8)
            return path
        }
        let configPath = try enroll("branch-pbx", presenting: "branch-pbx")
        let member = try ChildProcess("tamas-agent", ["jsonl", "--config", configPath.path, "--exit-when-drained"], name: "agent with certificate")
        XCTAssertTrue(member.waitForExit(timeout: 30), member.log)
        XCTAssertEqual(member.exitCode, 0)
        XCTAssertEqual(try collector.calls().count, 10)

        // Another enrolled agent presenting branch-pbx's certificate with its own valid secret.
        let borrowedPath = try enroll("other-pbx", presenting: "branch-pbx")
        let impostor = try ChildProcess("tamas-agent", ["jsonl", "--config", borrowedPath.path], name: "agent with another's certificate")
        let refusal = "the client certificate is issued to 'branch-pbx', not to agent 'other-pbx'"
        impostor.waitForLog(refusal, timeout: 20)
        collector.process?.waitForLog(refusal, timeout: 10)
        impostor.terminate()
        XCTAssertTrue(impostor.log.contains(refusal), impostor.log.suffix(2000).description)
        XCTAssertEqual(try collector.calls().count, 10, "nothing of the impostor's was stored")
    }
}
