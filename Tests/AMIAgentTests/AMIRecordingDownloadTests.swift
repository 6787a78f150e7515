import Foundation
import TestSupport
import XCTest

/// Recordings of Asterisk calls fetched from the PBX over SFTP: `tamas-agent ami test-files`
/// against a real sshd, and end to end through the collector's recording endpoint.
final class AMIRecordingDownloadTests: XCTestCase {
    var folder: URL!
    var sshd: SSHServerUnderTest!
    var monitor: URL!

    static let uniqueid = "195176c06ab8-1529936170.42"
    static let recordingName = "internal-202-150010001-20180625-161610-195176c06ab8-1529936170.42.wav"

    override func setUpWithError() throws {
        try requireInstalled(SSHServerUnderTest.isInstalled, "openssh-server (/usr/sbin/sshd)")
        folder = try temporaryFolder("ami-recordings")
        monitor = folder.appendingPathComponent("monitor")
        try FileManager.default.createDirectory(at: monitor.appendingPathComponent("2018/06/25"), withIntermediateDirectories: true)
        sshd = try SSHServerUnderTest(folder: folder)
        try sshd.start()
    }

    override func tearDown() {
        sshd?.stop()
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    var recordingPath: URL { monitor.appendingPathComponent("2018/06/25/\(Self.recordingName)") }

    func writeRecording(bytes count: Int) throws -> Data {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try data.write(to: recordingPath)
        return data
    }

    /// The `ami:` lines that point recordings at the test's sshd.
    func downloadLines(credential: [String]? = nil, recordingPath: String? = nil) -> [String] {
        ["recordingPath: \(recordingPath ?? monitor.path)", "recordingDownload:", "  protocol: sftp", "  port: \(sshd.port)",
         "  user: \(sshd.user)", "  timeoutSeconds: 10",
         "  knownHostsFile: \(folder.appendingPathComponent("agent-data/known_hosts").path)"]
            + (credential ?? ["  privateKeyFile: \(sshd.clientKey.path)"])
    }

    func testFiles(_ config: URL, _ extra: [String] = []) throws -> ToolResult {
        try runToolAllowingFailure("tamas-agent", ["ami", "test-files", "--config", config.path] + extra, timeout: 60)
    }

    // MARK: - tamas-agent ami test-files

    func testTestFilesLogsInPinsTheHostKeyAndListsTheNewestRecordings() throws {
        _ = try writeRecording(bytes: 4321)
        try Data(repeating: 1, count: 10).write(to: monitor.appendingPathComponent("old-flat-1400000000.1.wav"))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_400_000_000)],
                                              ofItemAtPath: monitor.appendingPathComponent("old-flat-1400000000.1.wav").path)
        let config = try standaloneConfig(folder, port: 1, extra: downloadLines())
        let result = try testFiles(config)
        XCTAssertEqual(result.status, 0, result.output + result.error)
        XCTAssertTrue(result.output.contains("server: SFTP 127.0.0.1:\(sshd.port) as \(sshd.user)"), result.output)
        XCTAssertTrue(result.output.contains("login: accepted"), result.output)
        XCTAssertTrue(result.output.contains("host key: \(sshd.hostKeyFingerprint) (first use: pinned in"), result.output)
        let lines = result.output.split(separator: "\n").map(String.init)
        let listed = lines.filter { $0.hasPrefix("  ") }
        XCTAssertEqual(listed.count, 2, result.output)
        XCTAssertTrue(listed.first?.hasSuffix("4321 bytes  \(recordingPath.path)") ?? false, "newest first, from the dated folder:\n\(result.output)")
        XCTAssertTrue(listed.last?.contains("old-flat-1400000000.1.wav") ?? false, result.output)

        let again = try testFiles(config)
        XCTAssertEqual(again.status, 0)
        XCTAssertTrue(again.output.contains("(matches the pinned key)"), again.output)
    }

    func testTestFilesFailsClearlyOnAWrongPasswordAMissingPathAndAChangedHostKey() throws {
        let password = "wrong-\(UUID().uuidString.prefix(8))"
        let wrong = try standaloneConfig(folder, port: 1, extra: downloadLines(credential: ["  password: \(password)"]))
        let refused = try testFiles(wrong)
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.output.contains("login: FAILED"), refused.output)
        XCTAssertTrue(refused.output.contains("refused the login of '\(sshd.user)': wrong password"), refused.output)
        XCTAssertFalse((refused.output + refused.error).contains(password), "the password is never printed")

        let missing = try standaloneConfig(folder, port: 1, extra: downloadLines(recordingPath: "/nonexistent/monitor"))
        let noPath = try testFiles(missing)
        XCTAssertEqual(noPath.status, 1)
        XCTAssertTrue(noPath.output.contains("the recording path /nonexistent/monitor does not exist on the server"), noPath.output)

        let good = try standaloneConfig(folder, port: 1, extra: downloadLines())
        let pinnedKey = sshd.hostKeyFingerprint
        XCTAssertEqual(try testFiles(good).status, 0)
        sshd.stop()
        try sshd.newHostKey()
        try sshd.start()
        let changed = try testFiles(good)
        XCTAssertEqual(changed.status, 1)
        for part in ["REFUSED", "CHANGED", "pinned:  \(pinnedKey)", "offered: \(sshd.hostKeyFingerprint)", "--accept-new-host-key"] {
            XCTAssertTrue(changed.output.contains(part), "'\(part)' in:\n\(changed.output)")
        }
        let accepted = try testFiles(good, ["--accept-new-host-key"])
        XCTAssertEqual(accepted.status, 0, accepted.output)
        XCTAssertTrue(accepted.output.contains("ACCEPTED on request, replacing \(pinnedKey)"), accepted.output)
        XCTAssertEqual(try testFiles(good).status, 0, "the accepted key is the pin from now on")
    }

    // MARK: - End to end

    func testTheRecordingOfAnAMICallIsDownloadedThroughTheCollector() throws {
        let content = try writeRecording(bytes: 700_000)
        var script = try AMITestDouble.wireMessages(fromJSONCapture: Fixtures.data("ami/cacofonisk_ast13plus_internal_ab_success_a_hangup.json.txt"))
        let firstChannel = try XCTUnwrap(script.firstIndex { $0.hasPrefix("Event: Newchannel") })
        script.insert("Event: VarSet\r\nPrivilege: dialplan,all\r\nChannel: SIP/150010001-00000004\r\nVariable: MIXMONITOR_FILENAME\r\n"
                      + "Value: \(recordingPath.path)\r\nUniqueid: \(Self.uniqueid)\r\nLinkedid: \(Self.uniqueid)\r\n\r\n", at: firstChannel + 1)

        let collector = try CollectorUnderTest(name: "ami-recordings")
        let pbx = AMITestDouble(dialect: .asterisk16)
        pbx.script = script
        try pbx.start()
        let config = try collector.enrollAgent("asterisk-1", systems: ["voipgrid"], folder: folder,
                                               extra: amiSection(port: pbx.port, extra: downloadLines()))
        try useVoipgridNumbering(config)
        let agent = try ChildProcess("tamas-agent", ["ami", "run", "--config", config.path], name: "ami-agent")
        addTeardownBlock {
            agent.kill9()
            pbx.stop()
        }
        var ref = ""
        XCTAssertTrue(try eventually(timeout: 40) {
            ref = try collector.events().first { $0["type"] as? String == "recording.available" }?["ref"] as? String ?? ""
            return !ref.isEmpty
        }, "agent log:\n\(agent.log.suffix(3000))")
        XCTAssertEqual(ref, recordingPath.path)

        let token = try String(contentsOf: collector.dataDir.appendingPathComponent("admin.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let encoded = ref.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._"))) ?? ref
        func get(_ range: String?) throws -> (status: String, body: Data) {
            let output = folder.appendingPathComponent("download-\(UUID().uuidString.prefix(6))")
            let result = try runToolAllowingFailure("/usr/bin/curl", [
                "-sS", "--max-time", "60", "-o", output.path, "-w", "%{http_code}", "-H", "Authorization: Bearer \(token)",
            ] + (range.map { ["-H", "Range: \($0)"] } ?? []) + ["\(collector.url)/api/v1/recordings/\(encoded)"], timeout: 70)
            return (result.output, (try? Data(contentsOf: output)) ?? Data())
        }
        let whole = try get(nil)
        XCTAssertEqual(whole.status, "200", String(decoding: whole.body.prefix(500), as: UTF8.self) + "\nagent log:\n\(agent.log.suffix(3000))")
        XCTAssertEqual(whole.body, content, "the recording arrives byte for byte from the PBX through agent and collector")
        let partial = try get("bytes=300000-300999")
        XCTAssertEqual(partial.status, "206")
        XCTAssertEqual(partial.body, content[300_000..<301_000])

        let outside = try postCommand(collector, agent: "asterisk-1", name: "fetch-recording", arguments: ["ref": "/etc/passwd"])
        XCTAssertEqual(outside["ok"] as? Bool, false)
        XCTAssertTrue((outside["error"] as? String ?? "").contains("outside the recording folder"), "\(outside)")
        let climbing = try postCommand(collector, agent: "asterisk-1", name: "fetch-recording",
                                       arguments: ["ref": monitor.path + "/../sshd_config.wav"])
        XCTAssertEqual(climbing["ok"] as? Bool, false)
        XCTAssertTrue((climbing["error"] as? String ?? "").contains("'..' components leave or bend the recording folder"), "\(climbing)")
        try FileManager.default.createSymbolicLink(atPath: monitor.appendingPathComponent("link.wav").path,
                                                   withDestinationPath: folder.appendingPathComponent("client_ed25519").path)
        let linked = try postCommand(collector, agent: "asterisk-1", name: "fetch-recording", arguments: ["ref": monitor.path + "/link.wav"])
        XCTAssertEqual(linked["ok"] as? Bool, false)
        XCTAssertTrue((linked["error"] as? String ?? "").contains("a symbolic link"), "\(linked)")
        XCTAssertFalse(agent.log.contains("BEGIN OPENSSH PRIVATE KEY"))
    }
}

/// `tamas-agent ami test-files` over passive FTP (systems without SSH, such as MyPBX), against pyftpdlib.
final class AMIRecordingDownloadFTPTests: XCTestCase {
    var folder: URL!
    var server: FTPServerUnderTest!

    override func setUpWithError() throws {
        try requireInstalled(FTPServerUnderTest.isInstalled, "pyftpdlib (python3 -m pip install pyftpdlib)")
        folder = try temporaryFolder("ami-ftp")
        let day = folder.appendingPathComponent("ftp-root/monitor/2024/01/02")
        try FileManager.default.createDirectory(at: day, withIntermediateDirectories: true)
        try Data(repeating: 7, count: 2048).write(to: day.appendingPathComponent("in-88776655-09121234567-20240102-101010-1704188410.5.wav"))
        server = try FTPServerUnderTest(root: folder.appendingPathComponent("ftp-root"))
    }

    override func tearDown() {
        server?.stop()
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    func config(password: String) throws -> URL {
        try standaloneConfig(folder, port: 1, extra: [
            "recordingPath: /monitor", "recordingDownload:", "  protocol: ftp", "  host: 127.0.0.1", "  port: \(server.port)",
            "  user: \(server.user)", "  password: \(password)",
        ])
    }

    func testListsTheNewestRecordingsAndRefusesAWrongPassword() throws {
        let result = try runToolAllowingFailure("tamas-agent", ["ami", "test-files", "--config", try config(password: server.password).path], timeout: 60)
        XCTAssertEqual(result.status, 0, result.output + result.error)
        XCTAssertTrue(result.output.contains("server: FTP 127.0.0.1:\(server.port) as recordings"), result.output)
        XCTAssertFalse(result.output.contains("host key"), "FTP has no host key to pin")
        XCTAssertTrue(result.output.contains("2048 bytes  /monitor/2024/01/02/in-88776655-09121234567-20240102-101010-1704188410.5.wav"), result.output)
        XCTAssertFalse(result.output.contains(server.password))

        let wrong = try runToolAllowingFailure("tamas-agent", ["ami", "test-files", "--config", try config(password: "nope-nope").path], timeout: 60)
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.output.contains("127.0.0.1:\(server.port) refused the login of 'recordings': 530"), wrong.output)
        XCTAssertFalse((wrong.output + wrong.error).contains("nope-nope"))
    }
}
