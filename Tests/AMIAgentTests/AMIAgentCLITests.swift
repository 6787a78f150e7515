import Foundation
import TestSupport
import XCTest

/// `tamas-agent ami test|originate|command|replay|bench` as real processes against the AMI test double.
final class AMIAgentCLITests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = try temporaryFolder("ami-cli")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func double(_ dialect: AMITestDouble.Dialect, configure: (AMITestDouble) -> Void = { _ in }) throws -> AMITestDouble {
        let double = AMITestDouble(dialect: dialect)
        configure(double)
        try double.start()
        addTeardownBlock { double.stop() }
        return double
    }

    func testTestReportsLoginVersionAndExtensionCountWithMD5Login() throws {
        let pbx = try double(.asterisk16)
        let config = try standaloneConfig(folder, port: pbx.port, extra: ["authentication: md5"])
        let result = try runToolAllowingFailure("tamas-agent", ["ami", "test", "--config", config.path])
        XCTAssertEqual(result.status, 0, result.output + result.error)
        XCTAssertTrue(result.output.contains("login: accepted (127.0.0.1:\(pbx.port) as tamas, md5)"), result.output)
        XCTAssertTrue(result.output.contains("dialect: AMI 13+"), result.output)
        XCTAssertTrue(result.output.contains("version: Asterisk 16.30.1"), result.output)
        XCTAssertTrue(result.output.contains("extensions: 4"), "201, 202 (SIP) and 301, 302 (PJSIP); the trunk is not counted:\n\(result.output)")
        XCTAssertEqual(pbx.actions.map(\.name).prefix(2), ["Challenge", "Login"])
        XCTAssertNil(pbx.actions.first { $0.name == "Login" }?["Secret"], "MD5 login never sends the secret")
        XCTAssertFalse(result.output.contains("s3cret-ami") || result.error.contains("s3cret-ami"), "the secret is never printed")
    }

    func testTestSaysClearlyWhenTheLoginIsRefused() throws {
        let pbx = try double(.asterisk11)
        let config = try standaloneConfig(folder, port: pbx.port, secret: "wrong")
        let result = try runToolAllowingFailure("tamas-agent", ["ami", "test", "--config", config.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("login: refused by 127.0.0.1:\(pbx.port) as tamas: login rejected: Authentication failed"), result.output)
        XCTAssertTrue(result.output.contains("manager.conf"), result.output)
        XCTAssertEqual(pbx.connectionCount, 1, "a refused login is not retried")
    }

    func testTestNamesTheMissingPermission() throws {
        let pbx = try double(.asterisk16) { $0.writeClasses = ["system", "call", "reporting", "originate"] }
        let config = try standaloneConfig(folder, port: pbx.port)
        let result = try runToolAllowingFailure("tamas-agent", ["ami", "test", "--config", config.path])
        XCTAssertEqual(result.status, 0, "the version line is not needed for call logs:\n" + result.output + result.error)
        XCTAssertTrue(result.output.contains(
            "version: unavailable: Command: Permission denied; add 'command' to the AMI user's write line in manager.conf"), result.output)
        XCTAssertTrue(result.output.contains("extensions: 4\n"), result.output)
        XCTAssertTrue(result.output.contains("click-to-call and spy/whisper/barge: allowed (Originate); click-to-call rings the extension's own phone, auto-answer only when a request asks\n"), result.output)
        XCTAssertTrue(result.output.hasSuffix("unavailable with this AMI user (call logs work without them):\n"
                                              + "  - Asterisk version line: add the write class 'command' in manager.conf\n"), result.output)
    }

    /// read = call,cdr and no write class at all: a customer who wants call logs only.
    func testTestPassesForACallLogsOnlyUserAndSaysWhatItCannotDoAndWhichClassWouldEnableIt() throws {
        let pbx = try double(.asterisk16) { $0.writeClasses = [] }
        let config = try standaloneConfig(folder, port: pbx.port)
        let result = try runToolAllowingFailure("tamas-agent", ["ami", "test", "--config", config.path])
        XCTAssertEqual(result.status, 0, result.output + result.error)
        let expected = [
            "login: accepted (127.0.0.1:\(pbx.port) as tamas, plain)",
            "dialect: AMI 13+",
            "version: unavailable: Command: Permission denied; add 'command' to the AMI user's write line in manager.conf",
            "extensions: unavailable: SIPpeers: Permission denied; add 'reporting' to the AMI user's write line in manager.conf; "
                + "PJSIPShowEndpoints: Permission denied; add 'system' to the AMI user's write line in manager.conf",
            "click-to-call and spy/whisper/barge: unavailable: this AMI user may not run Originate; add 'originate' to its write line in manager.conf",
            "resync: CoreShowChannels: Permission denied; add 'reporting' to the AMI user's write line in manager.conf",
            "resync: ExtensionStateList: Permission denied; add 'reporting' to the AMI user's write line in manager.conf",
            "resync: SIPpeers: Permission denied; add 'reporting' to the AMI user's write line in manager.conf",
            "resync: PJSIPShowEndpoints: Permission denied; add 'system' to the AMI user's write line in manager.conf",
            "unavailable with this AMI user (call logs work without them):",
            "  - Asterisk version line: add the write class 'command' in manager.conf",
            "  - extension count: add the write class 'reporting' or 'system' in manager.conf",
            "  - click-to-call and spy/whisper/barge: add the write class 'originate' in manager.conf",
            "  - resync of calls and extension states after login (CoreShowChannels, ExtensionStateList, SIPpeers, PJSIPShowEndpoints): "
                + "add the write class 'reporting' or 'system' in manager.conf",
        ]
        for line in expected {
            XCTAssertTrue(result.output.contains(line + "\n"), "missing \(line) in:\n\(result.output)")
        }
        XCTAssertTrue(pbx.actions.contains { $0.name == "ListCommands" })
        XCTAssertFalse(pbx.actions.contains { $0.name == "Originate" }, "the test never rings a phone")
        XCTAssertFalse(result.output.contains("s3cret-ami") || result.error.contains("s3cret-ami"), "the secret is never printed")
    }

    func testTestPassesForACallLogsOnlyUserOnAsterisk14AndNamesItsClasses() throws {
        let pbx = try double(.asterisk14) { $0.writeClasses = ["system"] }
        let config = try standaloneConfig(folder, port: pbx.port)
        let result = try runToolAllowingFailure("tamas-agent", ["ami", "test", "--config", config.path])
        XCTAssertEqual(result.status, 0, result.output + result.error)
        XCTAssertTrue(result.output.contains("extensions: 2\n"), "SIPpeers is allowed by 'system': 201 and 202, not the trunk:\n\(result.output)")
        XCTAssertTrue(result.output.contains("click-to-call and spy/whisper/barge: unavailable: this AMI user may not run Originate; "
                                             + "add 'call' to its write line in manager.conf"), result.output)
        XCTAssertTrue(result.output.contains("resync: Status: Permission denied; add 'call' to the AMI user's write line in manager.conf"), result.output)
    }

    /// Asterisk 21 and later have no chan_sip: SIPpeers is unknown there, which no write class changes.
    func testTestShowsAnActionUnknownToThisAsteriskAsUnsupportedNotAsAMissingPermission() throws {
        let pbx = try double(.asterisk16) { $0.unloadedActions = ["SIPpeers"] }
        let config = try standaloneConfig(folder, port: pbx.port)
        let result = try runToolAllowingFailure("tamas-agent", ["ami", "test", "--config", config.path])
        XCTAssertEqual(result.status, 0, result.output + result.error)
        let unsupported = "SIPpeers is not supported by this Asterisk (Invalid/unknown command: SIPpeers. Use Action: ListCommands to show "
            + "available commands.): the action is unknown to this version or its module is not loaded"
        XCTAssertTrue(result.output.contains("extensions: 2 (not counted: \(unsupported))\n"), result.output)
        XCTAssertTrue(result.output.contains("resync: \(unsupported)\n"), result.output)
        XCTAssertTrue(result.output.contains("  - resync of calls and extension states after login (SIPpeers): not supported by this Asterisk\n"), result.output)
        XCTAssertFalse(result.output.contains("Permission denied") || result.output.contains("write line"), result.output)
    }

    func testTestFailsWhenTheServerSendsNoBanner() throws {
        let pbx = try double(.asterisk16) { $0.sendsBanner = false }
        let config = try standaloneConfig(folder, port: pbx.port)
        let result = try runToolAllowingFailure("tamas-agent", ["ami", "test", "--config", config.path], timeout: 30)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("no banner or login answer"), result.output)
    }

    func testTestSaysWhenNothingListens() throws {
        let config = try standaloneConfig(folder, port: freeLoopbackPort())
        let result = try runToolAllowingFailure("tamas-agent", ["ami", "test", "--config", config.path], timeout: 30)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("connection: failed (cannot connect: 127.0.0.1:"), result.output)
    }

    func testCommandPrintsOutputInTheOldFollowsForm() throws {
        let pbx = try double(.asterisk11)
        let config = try standaloneConfig(folder, port: pbx.port)
        let output = try runTool("tamas-agent", ["ami", "command", "--config", config.path, "core show channels"])
        XCTAssertEqual(output, pbx.commandOutput["core show channels"]!.joined(separator: "\n") + "\n")
        XCTAssertEqual(pbx.actions.first { $0.name == "Command" }?["Command"], "core show channels")
    }

    func testCommandPrintsOutputInTheOutputLinesForm() throws {
        let pbx = try double(.asterisk16)
        let config = try standaloneConfig(folder, port: pbx.port)
        let output = try runTool("tamas-agent", ["ami", "command", "--config", config.path, "core show channels"])
        XCTAssertEqual(output, pbx.commandOutput["core show channels"]!.joined(separator: "\n") + "\n")
    }

    func testOriginateSendsTheClickToCallActionAndPrintsTheOutcome() throws {
        let pbx = try double(.asterisk11) { $0.originateReasons = ["SIP/202": 5] }
        let config = try standaloneConfig(folder, port: pbx.port, releaseCode: "9")
        let output = try runTool("tamas-agent", ["ami", "originate", "--config", config.path, "--from", "201", "--to", "09121234567"])
        XCTAssertEqual(output, "success\n")
        let originate = try XCTUnwrap(pbx.actions.first { $0.name == "Originate" })
        XCTAssertEqual(originate.headers.map(\.0), ["Action", "ActionID", "Channel", "Context", "Exten", "Priority", "CallerID", "Timeout", "Async"])
        XCTAssertEqual(originate["Channel"], "SIP/201")
        XCTAssertEqual(originate["Context"], "from-internal")
        XCTAssertEqual(originate["Exten"], "909121234567", "the release code goes in front of the customer's number")
        XCTAssertEqual(originate["Priority"], "1")
        XCTAssertEqual(originate["CallerID"], "\"09121234567\" <201>", "the customer as the name, the extension as the number")
        XCTAssertEqual(originate["Timeout"], "30000")
        XCTAssertEqual(originate["Async"], "true")

        let busy = try runToolAllowingFailure("tamas-agent", ["ami", "originate", "--config", config.path, "--from", "202", "--to", "+989121234567"])
        XCTAssertNotEqual(busy.status, 0)
        XCTAssertTrue(busy.output.hasPrefix("busy"), busy.output)
        XCTAssertEqual(pbx.actions.last { $0.name == "Originate" }?["Exten"], "909121234567", "E.164 input dials the same national number")
    }

    func testReplayMatchesTheProtocolModulesGoldenOutput() throws {
        let capture = Fixtures.sharedFixtures.appendingPathComponent("ami/panoramisk_ast11_originate_with_events.txt").path
        let output = try runTool("tamas-agent", ["ami", "replay", capture, "--system-key", "xivo",
                                                 "--extension-peer", "ddddd", "--extension-peer", "uuuuu"])
        try assertGolden(output, path: "AMITests/Golden/ast11_panoramisk_originate_with_events.jsonl")

        let json = Fixtures.sharedFixtures.appendingPathComponent("ami/cacofonisk_ast13plus_internal_ab_success_a_hangup.json.txt").path
        let fromJSON = try runTool("tamas-agent", ["ami", "replay", json, "--system-key", "voipgrid", "--country-code", "31",
                                                   "--max-extension-length", "9", "--trunk-peer", "voipgrid-siproute*", "--extension-digits-max", "9"])
        try assertGolden(fromJSON, path: "AMITests/Golden/ast13_internal_ab_success_a_hangup.jsonl")
    }

    func testReplayRefusesAnExtensionDigitRangeThatMatchesNothing() throws {
        let capture = Fixtures.sharedFixtures.appendingPathComponent("ami/panoramisk_ast11_originate_with_events.txt").path
        let refused = try runToolAllowingFailure("tamas-agent", ["ami", "replay", capture, "--extension-digits-min", "6"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.error.contains("--extension-digits-min/--extension-digits-max: the shortest (6 digits) is longer than the longest (5)"),
                      refused.error)
    }

    func testBenchPrintsRatesAndWritesTheStream() throws {
        let stream = folder.appendingPathComponent("stream.ami")
        let output = try runTool("tamas-agent", ["ami", "bench", "--calls", "300", "--write-stream", stream.path])
        for stage in ["framing, every message built:", "framing + early drop (baseline):", "framing + call tracking:", "ratio tracking/baseline:"] {
            XCTAssertTrue(output.contains(stage), "\(stage) missing from:\n\(output)")
        }
        XCTAssertTrue(output.contains(", 300 calls ended,"), output)
        let written = try String(contentsOf: stream, encoding: .utf8)
        XCTAssertTrue(written.hasPrefix("Asterisk Call Manager/2.10.6\r\nEvent: "))
    }

    /// The format of the comparison, on a stream too small for its figures to mean anything.
    func testBenchComparePythonRunsPanoramiskAndCacofoniskOnTheSameStream() throws {
        let installed = (try? runToolAllowingFailure("/usr/bin/env", ["python3", "-c", "import cacofonisk, panoramisk"]).status) == 0
        try requireInstalled(installed, "cacofonisk or panoramisk (PyPI)")
        let output = try runTool("tamas-agent", ["ami", "bench", "--calls", "40", "--compare-python",
                                                 "--python-bench-folder", Fixtures.testFile("AMIAgentTests/bench").path], timeout: 120)
        let messages = try XCTUnwrap(output.split(separator: "\n").first?.split(separator: " ").dropFirst().first, output)
        XCTAssertTrue(output.contains("panoramisk framing: \(messages) AMI messages in "), output)
        XCTAssertTrue(output.contains("panoramisk + cacofonisk call tracking: \(messages) AMI messages in "), output)
        XCTAssertTrue(output.contains("calls ended: Tamas 40, cacofonisk 40, of 40 in the stream"), output)
        for ratio in ["ratio framing, Tamas (every message built) / panoramisk:", "ratio framing + call tracking, Tamas / panoramisk + cacofonisk:"] {
            let line = try XCTUnwrap(output.split(separator: "\n").first { $0.hasPrefix(ratio) }, "\(ratio) missing from:\n\(output)")
            let figures = line.dropFirst(ratio.count).split(separator: " ")
            XCTAssertTrue(figures.count == 8 && Double(figures[0]) != nil && figures[1...3] == ["by", "CPU", "time"], String(line))
        }
    }
}
