import AMIAgent
import AgentCore
import Foundation
import RemoteFiles
import TestSupport
import XCTest

/// The `ami.recordingDownload:` section.
final class AMIRecordingDownloadConfigTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try temporaryFolder("ami-download-config")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func settings(_ download: String, mode: Int = 0o600) throws -> AMIAgentSettings {
        let path = folder.appendingPathComponent("agent-\(UUID().uuidString.prefix(6)).yaml").path
        let text = """
            collector:
              address: 127.0.0.1:7443
              agentId: a
              secret: link-secret
            spool:
              path: \(folder.appendingPathComponent("data/spool.sqlite").path)
            system:
              key: office1
            ami:
              host: 10.0.0.5
              username: crm
              secret: abc
              recordingPath: /srv/monitor

            """ + download
        try createFile(path, Data(text.utf8), mode: mode)
        return try AMIAgentSettings.read(AgentConfig.load(path: path))
    }

    func message(_ download: String, mode: Int = 0o600) -> String {
        do {
            _ = try settings(download, mode: mode)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testOffWithoutTheSectionOrWithProtocolNone() throws {
        XCTAssertNil(try settings("").recordingDownload)
        XCTAssertNil(try settings("  recordingDownload:\n    protocol: none\n    password: x\n").recordingDownload)
    }

    func testDefaultsFollowTheAMIHostAndTheOriginalProduct() throws {
        let sftp = try XCTUnwrap(try settings("  recordingDownload:\n    password: pw\n").recordingDownload)
        XCTAssertEqual(sftp, RemoteFilesSettings(transfer: .sftp, host: "10.0.0.5", port: 22, user: "root", credential: .password("pw"),
                                                 connectTimeoutSeconds: 10, timeoutSeconds: 30,
                                                 knownHostsFile: folder.appendingPathComponent("data/known_hosts").path))
        let ftp = try XCTUnwrap(try settings("  recordingDownload:\n    protocol: ftp\n    password: pw\n").recordingDownload)
        XCTAssertEqual(ftp.port, 21)
        XCTAssertEqual(ftp.transfer, .ftp)
    }

    func testEveryKey() throws {
        let key = folder.appendingPathComponent("id_ed25519")
        try createFile(key.path, Data("key".utf8), mode: 0o600)
        let download = try XCTUnwrap(try settings("""
              recordingDownload:
                protocol: sftp
                host: files.pbx.lan
                port: 2222
                user: asterisk
                privateKeyFile: \(key.path)
                connectTimeoutSeconds: 3
                timeoutSeconds: 60
                knownHostsFile: /var/lib/tamas-agent/pbx_known_hosts

            """).recordingDownload)
        XCTAssertEqual(download, RemoteFilesSettings(transfer: .sftp, host: "files.pbx.lan", port: 2222, user: "asterisk",
                                                     credential: .privateKeyFile(path: key.path, passphrase: nil),
                                                     connectTimeoutSeconds: 3, timeoutSeconds: 60,
                                                     knownHostsFile: "/var/lib/tamas-agent/pbx_known_hosts"))
        let passwordFile = folder.appendingPathComponent("pbx.password")
        try createFile(passwordFile.path, Data("from-file\n".utf8), mode: 0o600)
        XCTAssertEqual(try settings("  recordingDownload:\n    passwordFile: \(passwordFile.path)\n").recordingDownload?.credential,
                       .password("from-file"))
    }

    func testMistakesNameTheKeyAndLine() {
        XCTAssertTrue(message("  recordingDownload:\n    pasword: x\n").contains("ami.recordingDownload.pasword: unknown setting (did you mean 'password'?)"),
                      message("  recordingDownload:\n    pasword: x\n"))
        let badProtocol = message("  recordingDownload:\n    protocol: scp\n    password: x\n")
        XCTAssertNotNil(badProtocol.range(of: #"\.yaml:\d+: ami\.recordingDownload\.protocol: must be one of sftp, ftp, none, not 'scp'"#,
                                          options: .regularExpression), badProtocol)
        XCTAssertTrue(message("  recordingDownload:\n    port: 0\n    password: x\n").contains("ami.recordingDownload.port: must be between 1 and 65535"))
        XCTAssertTrue(message("  recordingDownload:\n    user: root\n").contains("ami.recordingDownload.password: is required"))
        XCTAssertTrue(message("  recordingDownload:\n    protocol: ftp\n    privateKeyFile: /etc/hostname\n")
            .contains("a key file works only with protocol: sftp"))
        XCTAssertTrue(message("  recordingDownload:\n    password: a\n    privateKeyFile: /etc/hostname\n").contains("give one of password, passwordFile and privateKeyFile"))
    }

    func testAPasswordInAFileOthersCanReadIsRefused() {
        let text = message("  recordingDownload:\n    password: pbx-root-password\n", mode: 0o644)
        XCTAssertTrue(text.contains("chmod 600"), text)
    }
}
