import AMIAgent
import AMIProtocol
import AgentCore
import Foundation
import RemoteFiles
import TestSupport
import XCTest

/// The `ami:` example of docs/asterisk.md is read by the real parser, with the collector section
/// a real config file has in front of it, and the documented values must come through.
final class AMIAgentDocExampleTests: XCTestCase {
    /// The ```` ```yaml ```` block of docs/asterisk.md that starts with `ami:`.
    func documentedExample() throws -> String {
        let examples = try Fixtures.codeBlocks(in: "docs/asterisk.md", language: "yaml").filter { $0.hasPrefix("ami:\n") }
        XCTAssertEqual(examples.count, 1, "one ami: example in docs/asterisk.md")
        return try XCTUnwrap(examples.first)
    }

    func testTheDocumentedAMIExampleIsReadAsDocumented() throws {
        let folder = try temporaryFolder("ami-doc")
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        var example = try documentedExample()
        // The example names files on the PBX host's agent; the parser opens them, so they are
        // created here (0600, as the doc requires) and the paths pointed at them.
        let secretFile = folder.appendingPathComponent("ami.secret").path
        let keyFile = folder.appendingPathComponent("pbx_ed25519").path
        for (documented, local, content) in [("/etc/tamas/ami.secret", secretFile, "doc-secret\n"), ("/etc/tamas/pbx_ed25519", keyFile, "key")] {
            XCTAssertTrue(example.contains(documented), "the example names \(documented)")
            example = example.replacingOccurrences(of: documented, with: local)
            try createFile(local, Data(content.utf8), mode: 0o600)
        }
        let text = """
            collector:
              address: 127.0.0.1:7443
              agentId: a
              secretFile: COLLECTOR_SECRET
            spool:
              path: \(folder.appendingPathComponent("spool.sqlite").path)
            system:
              key: office1

            """ + example + "\n"

        let settings = try AMIAgentSettings.read(AgentConfig.load(path: writeAgentConfig(text)))
        let ami = settings.ami
        XCTAssertEqual(ami.host, "192.168.1.10")
        XCTAssertEqual(ami.port, 5038)
        XCTAssertEqual(ami.username, "tamas")
        XCTAssertEqual(ami.secret, "doc-secret", "secretFile is read and trimmed")
        XCTAssertEqual(ami.recordingPath, "/var/spool/asterisk/monitor")
        XCTAssertEqual(ami.version, .auto)
        XCTAssertEqual(ami.authentication, .plain)
        let download = try XCTUnwrap(settings.recordingDownload, "the example turns recording downloads on")
        XCTAssertEqual(download.transfer, .sftp)
        XCTAssertEqual(download.host, "192.168.1.10", "recordingDownload.host defaults to the AMI host")
        XCTAssertEqual(download.port, 22)
        XCTAssertEqual(download.user, "root")
        XCTAssertEqual(download.credential, .privateKeyFile(path: keyFile, passphrase: nil))
        XCTAssertEqual(download.knownHostsFile, folder.appendingPathComponent("known_hosts").path, "next to the spool")
    }
}
