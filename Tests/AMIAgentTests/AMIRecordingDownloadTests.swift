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
    func downloadLines(credential: [String]? = nil, recordingPath: String? = nil, user: String? = nil) -> [String] {
        ["recordingPath: \(recordingPath ?? monitor.path)", "recordingDownload:", "  protocol: sftp", "  port: \(sshd.port)",
         "  user: \(user ?? sshd.user)", "  timeoutSeconds: 10",
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

    /// A password login that succeeds. The machine's real users keep their passwords: the test
    /// creates a throw-away user (which needs root, as in CI), gives it a random password and
    /// removes it again; the test's sshd accepts passwords (PasswordAuthentication yes, no PAM).
    func testTestFilesLogsInWithAPassword() throws {
        guard getuid() == 0 else {
            throw XCTSkip("the password login needs a throw-away user, and creating one needs root (CI runs the tests as root)")
        }
        let user = "tamas-sftp-test"
        _ = try runToolAllowingFailure("/usr/sbin/userdel", [user])
        try runTool("/usr/sbin/useradd", ["--no-create-home", "--shell", "/usr/sbin/nologin", user])
        addTeardownBlock { _ = try? runToolAllowingFailure("/usr/sbin/userdel", [user]) }
        let password = "pw-\(UUID().uuidString)"
        try runTool("/usr/sbin/chpasswd", [], input: Data("\(user):\(password)\n".utf8))
        _ = try writeRecording(bytes: 1234)

        let config = try standaloneConfig(folder, port: 1, extra: downloadLines(credential: ["  password: \(password)"], user: user))
        let result = try testFiles(config)
        XCTAssertEqual(result.status, 0, result.output + result.error + "\nsshd log:\n" + sshd.log.suffix(2000))
        XCTAssertTrue(result.output.contains("server: SFTP 127.0.0.1:\(sshd.port) as \(user)"), result.output)
        XCTAssertTrue(result.output.contains("login: accepted"), result.output)
        XCTAssertTrue(result.output.contains("1234 bytes  \(recordingPath.path)"), result.output)
        XCTAssertFalse((result.output + result.error).contains(password), "the password is never printed")

        let wrong = try standaloneConfig(folder, port: 1, extra: downloadLines(credential: ["  password: not-\(password)"], user: user))
        let refused = try testFiles(wrong)
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.output.contains("refused the login of '\(user)': wrong password"), refused.output)
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

        func get(_ range: String?) throws -> (status: String, body: Data) {
            try downloadRecording(ref, through: collector, range: range, into: folder)
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

    /// No channel variable names the recording (a FreePBX without CDR(recordingfile) in the
    /// events): the agent finds the file by the call's Uniqueid in the dated folder of the
    /// call's start, over SFTP, and the collector attaches it to the call and serves it.
    func testARecordingNamedOnlyByTheCallsUniqueidIsFoundOverSFTPAndServedByTheCollector() throws {
        var generator = SystemRandomNumberGenerator()
        let content = Data((0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        // The call starts when the test double sends it (the capture has no times); a test
        // running across midnight finds the folder of either day.
        var written: [String] = []
        for date in [Date(), Date().addingTimeInterval(120)] {
            let day = datedFolder(date)
            let dayFolder = monitor.appendingPathComponent(day)
            try FileManager.default.createDirectory(at: dayFolder, withIntermediateDirectories: true)
            let stamp = day.replacingOccurrences(of: "/", with: "")
            let file = dayFolder.appendingPathComponent("internal-202-150010001-\(stamp)-161610-\(Self.uniqueid).wav")
            try content.write(to: file)
            try Data(repeating: 9, count: 1000).write(to: dayFolder.appendingPathComponent("internal-202-150010001-\(stamp)-161610-\(Self.uniqueid)0.wav"))
            written.append(file.path)
        }
        let agentLog = try runCallAndWaitForItsRecording(downloadLines() + ["recordingSearchDelaySeconds: 0.5"]) { ref in
            XCTAssertTrue(written.contains(ref), "\(ref) is one of \(written)")
            return content
        }
        XCTAssertTrue(agentLog.contains("recording found by the call's id"), agentLog)
        XCTAssertFalse(agentLog.contains("BEGIN OPENSSH PRIVATE KEY"))
    }

    /// A call without any recording: one info line after the retries, nothing announced.
    func testACallWithoutARecordingFileLogsOneLineAfterItsRetries() throws {
        let script = try AMITestDouble.wireMessages(fromJSONCapture: Fixtures.data("ami/cacofonisk_ast13plus_internal_ab_success_a_hangup.json.txt"))
        let collector = try CollectorUnderTest(name: "ami-no-recording")
        let pbx = AMITestDouble(dialect: .asterisk16)
        pbx.script = script
        try pbx.start()
        let config = try collector.enrollAgent("asterisk-1", systems: ["voipgrid"], folder: folder,
                                               extra: amiSection(port: pbx.port, extra: downloadLines() + ["recordingSearchDelaySeconds: 0.3"]))
        try useVoipgridNumbering(config)
        let agent = try ChildProcess("tamas-agent", ["ami", "run", "--config", config.path], name: "ami-agent")
        addTeardownBlock {
            agent.kill9()
            pbx.stop()
        }
        XCTAssertTrue(eventually(timeout: 40) { agent.log.contains("no recording for the call") }, "agent log:\n\(agent.log.suffix(3000))")
        let lines = agent.log.split(separator: "\n").filter { $0.contains("no recording for the call") }
        XCTAssertEqual(lines.count, 1, agent.log)
        XCTAssertTrue(lines.first?.contains("-\(Self.uniqueid).wav") ?? false, "\(lines)")
        XCTAssertTrue(lines.first?.contains("attempts=3") ?? false, "\(lines)")
        let alarms = agent.log.split(separator: "\n").filter { $0.contains("recording") && ($0.contains("error") || $0.contains("warning")) }
        XCTAssertEqual(alarms, [], "a missing file is no error")
        XCTAssertEqual(try collector.events().filter { $0["type"] as? String == "recording.available" }.count, 0)
    }

    /// Runs the capture's call (no recording variables) through agent and collector and waits
    /// until the collector's call shows a recording; `expect` checks the ref and returns the
    /// bytes the recording endpoint must serve. Returns the agent's log.
    func runCallAndWaitForItsRecording(_ lines: [String], expect: (String) throws -> Data) throws -> String {
        try runCallWithoutRecordingVariables(folder: folder, name: "ami-search-sftp", downloadLines: lines, expect: expect)
    }
}

/// `yyyy/MM/dd` of `date` in this machine's time zone, as the agent (a child process with the
/// same zone) dates a call's folder.
func datedFolder(_ date: Date) -> String {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = .current
    let parts = calendar.dateComponents([.year, .month, .day], from: date)
    func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
    return "\(parts.year ?? 0)/\(two(parts.month))/\(two(parts.day))"
}

/// GET `/api/v1/recordings/<ref>` from the collector as the admin, optionally a byte range.
func downloadRecording(_ ref: String, through collector: CollectorUnderTest, range: String? = nil, into folder: URL) throws -> (status: String, body: Data) {
    let token = try String(contentsOf: collector.dataDir.appendingPathComponent("admin.token"), encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines)
    let encoded = ref.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._"))) ?? ref
    let output = folder.appendingPathComponent("download-\(UUID().uuidString.prefix(6))")
    let result = try runToolAllowingFailure("/usr/bin/curl", [
        "-sS", "--max-time", "60", "-o", output.path, "-w", "%{http_code}", "-H", "Authorization: Bearer \(token)",
    ] + (range.map { ["-H", "Range: \($0)"] } ?? []) + ["\(collector.url)/api/v1/recordings/\(encoded)"], timeout: 70)
    return (result.output, (try? Data(contentsOf: output)) ?? Data())
}

/// The cacofonisk capture of 201 calling 202 (Uniqueid `195176c06ab8-1529936170.42`), with no
/// channel variable naming a recording, through a real agent and collector: waits for the
/// collector's call to carry a recording, checks it is announced once and that the recording
/// endpoint serves exactly the bytes `expect` returns for the ref. Returns the agent's log.
func runCallWithoutRecordingVariables(folder: URL, name: String, downloadLines: [String], expect: (String) throws -> Data,
                                      file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let script = try AMITestDouble.wireMessages(fromJSONCapture: Fixtures.data("ami/cacofonisk_ast13plus_internal_ab_success_a_hangup.json.txt"))
    XCTAssertFalse(script.contains { $0.contains("MIXMONITOR") || $0.contains("CALLFILENAME") || $0.contains("recordingfile") },
                   "the capture names no recording", file: file, line: line)
    let collector = try CollectorUnderTest(name: name)
    let pbx = AMITestDouble(dialect: .asterisk16)
    pbx.script = script
    try pbx.start()
    let config = try collector.enrollAgent("asterisk-1", systems: ["voipgrid"], folder: folder,
                                           extra: amiSection(port: pbx.port, extra: downloadLines))
    try useVoipgridNumbering(config)
    let agent = try ChildProcess("tamas-agent", ["ami", "run", "--config", config.path], name: "ami-agent")
    defer {
        agent.kill9()
        pbx.stop()
    }
    var call: [String: Any] = [:]
    let attached = try eventually(timeout: 40) {
        call = try collector.calls().first { ($0["recording"] as? [String: Any])?["ref"] != nil } ?? [:]
        return !call.isEmpty
    }
    guard attached else {
        XCTFail("no call got a recording; agent log:\n\(agent.log.suffix(3000))", file: file, line: line)
        return agent.log
    }
    let ref = (call["recording"] as? [String: Any])?["ref"] as? String ?? ""
    XCTAssertEqual(call["callId"] as? String, try collector.events().first { $0["type"] as? String == "call.ended" }?["callId"] as? String,
                   file: file, line: line)
    XCTAssertEqual(call["answeredBy"] as? String, "150010002", file: file, line: line)
    XCTAssertEqual((call["recording"] as? [String: Any])?["agent"] as? String, "asterisk-1", file: file, line: line)
    let content = try expect(ref)
    let whole = try downloadRecording(ref, through: collector, into: folder)
    XCTAssertEqual(whole.status, "200", String(decoding: whole.body.prefix(300), as: UTF8.self) + "\nagent log:\n\(agent.log.suffix(3000))",
                   file: file, line: line)
    XCTAssertEqual(whole.body, content, "the recording arrives byte for byte from the PBX through agent and collector", file: file, line: line)
    let partial = try downloadRecording(ref, through: collector, range: "bytes=1000-1999", into: folder)
    XCTAssertEqual(partial.status, "206", file: file, line: line)
    XCTAssertEqual(partial.body, content[1000..<2000], file: file, line: line)
    let announced = try collector.events().filter { $0["type"] as? String == "recording.available" }
    XCTAssertEqual(announced.map { $0["ref"] as? String }, [ref], "announced once", file: file, line: line)
    return agent.log
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

    /// Over FTP, with the file directly in the recording folder (old Elastix, no dated
    /// folders): found by the call's Uniqueid, then fetched over FTP through the collector's
    /// recording endpoint, byte for byte.
    func testARecordingInTheFlatFolderIsFoundOverFTPAndServedByTheCollector() throws {
        var generator = SystemRandomNumberGenerator()
        let content = Data((0..<250_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let name = "exten-202-150010001-20180625-161610-\(AMIRecordingDownloadTests.uniqueid).wav"
        try content.write(to: folder.appendingPathComponent("ftp-root/monitor/\(name)"))
        let log = try runCallWithoutRecordingVariables(folder: folder, name: "ami-search-ftp", downloadLines: [
            "recordingPath: /monitor", "recordingSearchDelaySeconds: 0.5", "recordingDownload:", "  protocol: ftp", "  host: 127.0.0.1",
            "  port: \(server.port)", "  user: \(server.user)", "  password: \(server.password)",
        ]) { ref in
            XCTAssertEqual(ref, "/monitor/\(name)")
            return content
        }
        XCTAssertTrue(log.contains("recording found by the call's id"), log)
        XCTAssertFalse(log.contains(server.password), "the FTP password is never logged")
    }
}
