import Foundation
import TestSupport
import XCTest

/// The real `tamas-agent ami run` process between the AMI test double and the real collector.
final class AMIAgentEndToEndTests: XCTestCase {
    struct Setup {
        var collector: CollectorUnderTest
        var pbx: AMITestDouble
        var agent: ChildProcess
        var folder: URL
    }

    func start(_ dialect: AMITestDouble.Dialect, secret: String = "s3cret-ami", script: [String] = [], releaseCode: String = "",
               amiSettings: [String] = [], configure: (AMITestDouble) -> Void = { _ in }) throws -> Setup {
        let folder = try temporaryFolder("ami-e2e")
        let collector = try CollectorUnderTest(name: "ami-e2e")
        let pbx = AMITestDouble(dialect: dialect)
        pbx.script = script
        configure(pbx)
        try pbx.start()
        let config = try collector.enrollAgent("asterisk-1", systems: ["voipgrid"], folder: folder,
                                               extra: amiSection(port: pbx.port, secret: secret,
                                                                 extra: ["spyAuditLog: \(folder.appendingPathComponent("spy-audit.log").path)"]
                                                                     + amiSettings))
        try useVoipgridNumbering(config, releaseCode: releaseCode)
        let agent = try ChildProcess("tamas-agent", ["ami", "run", "--config", config.path], name: "ami-agent")
        addTeardownBlock {
            agent.kill9()
            pbx.stop()
            try? FileManager.default.removeItem(at: folder)
        }
        return Setup(collector: collector, pbx: pbx, agent: agent, folder: folder)
    }

    func waitForLogin(_ setup: Setup, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertTrue(try eventually(timeout: 30) {
            try agentStatuses(setup.collector.events()).contains { $0.state == "connected" }
                && setup.collector.agents().first { $0["name"] as? String == "asterisk-1" }?["connected"] as? Bool == true
        }, "agent log:\n\(setup.agent.log.suffix(3000))", file: file, line: line)
    }

    // MARK: - Calls

    func checkCapture(_ dialect: AMITestDouble.Dialect, captures: [String], goldens: [String]) throws {
        var script: [String] = []
        for capture in captures {
            script += try AMITestDouble.wireMessages(fromJSONCapture: Fixtures.data("ami/" + capture))
        }
        var expected: [[String: Any]] = []
        for golden in goldens {
            let text = try String(contentsOf: Fixtures.testFile("AMITests/Golden/\(golden).jsonl"), encoding: .utf8)
            expected += text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .filter { $0["type"] as? String == "call.ended" }
        }
        XCTAssertFalse(expected.isEmpty)
        let setup = try start(dialect, script: script)
        XCTAssertTrue(try eventually(timeout: 40) {
            try setup.collector.calls().filter { $0["phase"] as? String == "ended" }.count >= expected.count
        }, "calls: \(String(describing: try? setup.collector.calls()))\nagent log:\n\(setup.agent.log.suffix(3000))")
        let calls = try setup.collector.calls()
        XCTAssertEqual(calls.count, expected.count, "\(calls)")
        for golden in expected {
            let callId = try XCTUnwrap(golden["callId"] as? String)
            guard let call = calls.first(where: { $0["callId"] as? String == callId }) else {
                XCTFail("call \(callId) of the golden output is missing: \(calls)")
                continue
            }
            // answeredBy is left out: the collector also sets it from call.answered for outbound calls.
            for key in ["direction", "from", "to", "disposition", "extension", "line", "transferredTo", "fromRaw", "toRaw"] {
                XCTAssertEqual(call[key] as? String, golden[key] as? String, "\(key) of call \(callId)")
            }
            XCTAssertEqual(call["phase"] as? String, "ended")
        }
        let unparsed = try setup.collector.events().filter { $0["type"] as? String == "line.unparsed" }
        XCTAssertEqual(unparsed.count, 0, "fragments and bursts are framed without loss: \(unparsed.prefix(3))")
        XCTAssertTrue(try eventually(timeout: 20) { try setup.collector.agents().first?["lastInputAt"] as? String != nil },
                      "a heartbeat reports when the last AMI event arrived")
    }

    func testAsterisk11CapturesLandInCallsAsTheGoldenOutputSays() throws {
        try checkCapture(.asterisk11,
                         captures: ["cacofonisk_ast11_inbound_fixed_incomming_success.json.txt", "cacofonisk_ast11_outbound_fixed_outbound_success.json.txt"],
                         goldens: ["ast11_inbound_fixed_incomming_success", "ast11_outbound_fixed_outbound_success"])
    }

    func testAsterisk13PlusCapturesLandInCallsAsTheGoldenOutputSays() throws {
        try checkCapture(.asterisk16,
                         captures: ["cacofonisk_ast13plus_outbound_and_inbound_ab_success_twoclients.json.txt",
                                    "cacofonisk_ast13plus_inbound_queue_simple.json.txt"],
                         goldens: ["ast13_outbound_and_inbound_ab_success_twoclients", "ast13_inbound_queue_simple"])
    }

    // MARK: - Link

    func testRefusedLoginIsReportedAndNotRetried() throws {
        let setup = try start(.asterisk11, secret: "wrong-secret")
        XCTAssertTrue(try eventually(timeout: 30) {
            try agentStatuses(setup.collector.events()).contains { $0.state == "loginRejected" }
        }, setup.agent.log.suffix(3000).description)
        let status = try agentStatuses(setup.collector.events()).first { $0.state == "loginRejected" }
        XCTAssertEqual(status?.detail, "login rejected: Authentication failed")
        XCTAssertTrue(try eventually(timeout: 10) {
            try setup.collector.agents().first { $0["name"] as? String == "asterisk-1" }?["status"] as? String == "loginRejected"
                || setup.collector.tamasctl(["agents"]).contains("loginRejected")
        }, "heartbeats carry the state: \(String(describing: try? setup.collector.tamasctl(["agents"])))")
        sleep(5)
        XCTAssertEqual(setup.pbx.connectionCount, 1, "no retry storm after a refused login")
        XCTAssertFalse(setup.agent.log.contains("wrong-secret"), "the secret is never logged")
        XCTAssertTrue(setup.agent.isRunning, "the agent stays up (commands, heartbeats) while the login is refused")
    }

    func testDroppedLinkReconnectsResyncsAndMarksTheOutage() throws {
        let setup = try start(.asterisk16)
        try waitForLogin(setup)
        XCTAssertTrue(eventually(timeout: 10) { setup.pbx.actions.contains { $0.name == "CoreShowChannels" } })
        setup.pbx.dropConnections()
        XCTAssertTrue(eventually(timeout: 30) {
            setup.pbx.actions.contains { $0.name == "CoreShowChannels" && $0.connection == 2 }
        }, "reconnect and resync:\n\(setup.agent.log.suffix(3000))")
        XCTAssertTrue(try eventually(timeout: 20) {
            try agentStatuses(setup.collector.events()).contains { $0.state == "connected" && $0.detail.contains("the link was down from") }
        }, "\(String(describing: try? agentStatuses(setup.collector.events())))")
        let states = try agentStatuses(setup.collector.events())
        let lost = try XCTUnwrap(states.firstIndex { $0.state == "linkLost" })
        XCTAssertEqual(states[lost].detail, "connection closed by the server")
        XCTAssertTrue(states[(lost + 1)...].contains { $0.state == "connected" && $0.detail.contains("calls in progress are resynced") })
        XCTAssertEqual(setup.pbx.actions.filter { $0.name == "Login" }.count, 2)
        XCTAssertTrue(eventually(timeout: 10) { setup.pbx.actions.contains { $0.name == "Ping" } }, "Ping keepalive every pingIntervalSeconds")
    }

    /// Without 'system' and 'reporting' and on an Asterisk without chan_sip: the refused lists
    /// reach the collector as what Asterisk said, and the calls still flow.
    func testRefusedResyncListsAreReportedAsMissingPermissionOrUnsupportedAction() throws {
        let setup = try start(.asterisk16) {
            $0.writeClasses = ["call", "originate", "command"]
            $0.unloadedActions = ["SIPpeers"]
        }
        try waitForLogin(setup)
        let expected = [
            (state: "permissionMissing", detail: "CoreShowChannels: Permission denied; add 'reporting' to the AMI user's write line in manager.conf"),
            (state: "permissionMissing", detail: "PJSIPShowEndpoints: Permission denied; add 'system' to the AMI user's write line in manager.conf"),
            (state: "actionUnsupported", detail: "SIPpeers is not supported by this Asterisk (Invalid/unknown command: SIPpeers. Use Action: "
                + "ListCommands to show available commands.): the action is unknown to this version or its module is not loaded"),
        ]
        XCTAssertTrue(try eventually(timeout: 20) {
            let statuses = try agentStatuses(setup.collector.events())
            return expected.allSatisfy { wanted in statuses.contains { $0.state == wanted.state && $0.detail == wanted.detail } }
        }, "\(String(describing: try? agentStatuses(setup.collector.events())))\nagent log:\n\(setup.agent.log.suffix(3000))")
        let statuses = try agentStatuses(setup.collector.events())
        XCTAssertFalse(statuses.contains { $0.state == "permissionMissing" && $0.detail.contains("SIPpeers") }, "\(statuses)")
        XCTAssertFalse(statuses.contains { $0.detail.contains("ExtensionStateList") }, "allowed by 'call': \(statuses)")
    }

    // MARK: - Commands through the collector

    func testClickToCallThroughTheCollectorAPIReachesAsteriskAndReportsTheOutcome() throws {
        let setup = try start(.asterisk11, releaseCode: "9") { $0.originateReasons = ["SIP/202": 5, "SIP/203": 3] }
        try waitForLogin(setup)
        let answer = try postCommand(setup.collector, agent: "asterisk-1", name: "originate", arguments: ["from": "201", "to": "09121234567"])
        XCTAssertEqual(answer["ok"] as? Bool, true, "\(answer)")
        XCTAssertEqual(answer["output"] as? String, "success")
        let originate = try XCTUnwrap(setup.pbx.actions.first { $0.name == "Originate" })
        XCTAssertEqual(originate.headers.map(\.0), ["Action", "ActionID", "Channel", "Context", "Exten", "Priority", "CallerID", "Timeout", "Async"])
        XCTAssertEqual(originate["Channel"], "SIP/201")
        XCTAssertEqual(originate["Context"], "from-internal")
        XCTAssertEqual(originate["Exten"], "909121234567")
        XCTAssertEqual(originate["Priority"], "1")
        XCTAssertEqual(originate["CallerID"], "\"09121234567\" <201>", "the customer as the name, the extension as the number")
        XCTAssertEqual(originate["Timeout"], "30000")
        XCTAssertEqual(originate["Async"], "true")

        let busy = try postCommand(setup.collector, agent: "asterisk-1", name: "originate", arguments: ["from": "202", "to": "09121234567"])
        XCTAssertEqual(busy["ok"] as? Bool, false)
        XCTAssertEqual(busy["output"] as? String, "busy")
        let noAnswer = try postCommand(setup.collector, agent: "asterisk-1", name: "originate", arguments: ["from": "203", "to": "09121234567"])
        XCTAssertEqual(noAnswer["output"] as? String, "no answer")
        let missing = try postCommand(setup.collector, agent: "asterisk-1", name: "originate", arguments: ["from": "201"])
        XCTAssertEqual(missing["ok"] as? Bool, false)
        XCTAssertEqual(missing["error"] as? String, "originate: argument 'to' is required")
        let injection = try postCommand(setup.collector, agent: "asterisk-1", name: "originate", arguments: ["from": "201\r\nAction: Command", "to": "1"])
        XCTAssertEqual(injection["ok"] as? Bool, false)
        XCTAssertEqual(setup.pbx.actions.filter { $0.name == "Originate" }.count, 3, "nothing injected reaches Asterisk")
    }

    /// The CRM's way in: `POST /api/v1/originate` on the collector reaches the agent serving the
    /// system, which sends Asterisk an Originate; the HTTP answer carries the OriginateResponse.
    /// A phone that cannot be rung (Reason 0) is reported as soon as Asterisk says so, not after
    /// the originate timeout.
    func testClickToCallFromTheCRMRouteReachesAsteriskAndAnswersWithTheOutcome() throws {
        let setup = try start(.asterisk16, releaseCode: "9") { $0.originateReasons = ["PJSIP/204": 0] }
        try waitForLogin(setup)
        let placed = try postAPI(setup.collector, "/api/v1/originate", ["systemKey": "voipgrid", "extension": "201", "number": "09121234567"])
        XCTAssertEqual(placed.status, 200, "\(placed.body)")
        XCTAssertEqual(placed.body["ok"] as? Bool, true)
        XCTAssertEqual(placed.body["outcome"] as? String, "success")
        XCTAssertEqual(placed.body["agent"] as? String, "asterisk-1")
        let originate = try XCTUnwrap(setup.pbx.actions.first { $0.name == "Originate" })
        XCTAssertEqual(originate.headers.map(\.0), ["Action", "ActionID", "Channel", "Context", "Exten", "Priority", "CallerID", "Timeout", "Async"])
        XCTAssertEqual(originate["Channel"], "SIP/201", "no channel of 201 seen yet, but SIPpeers listed it: a chan_sip phone on a 13+ box")
        XCTAssertEqual(originate["Context"], "from-internal")
        XCTAssertEqual(originate["Exten"], "909121234567")
        XCTAssertEqual(originate["Priority"], "1")
        XCTAssertEqual(originate["CallerID"], "\"09121234567\" <201>", "the customer as the name, the extension as the number")
        XCTAssertEqual(originate["Timeout"], "30000")
        XCTAssertEqual(originate["Async"], "true")
        XCTAssertTrue(originate["ActionID"]?.hasPrefix("tamas-") == true)

        let started = Date()
        let offline = try postAPI(setup.collector, "/api/v1/originate", ["systemKey": "voipgrid", "extension": "204", "number": "09121234567"])
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "reported when Asterisk answers, not after the 30 s originate timeout")
        XCTAssertEqual(offline.status, 422, "\(offline.body)")
        XCTAssertEqual(offline.body["ok"] as? Bool, false)
        XCTAssertEqual(offline.body["outcome"] as? String, "failure")
        XCTAssertEqual(offline.body["error"] as? String,
                       "failure: Asterisk could not ring the phone: it is not registered, unreachable or does not exist (OriginateResponse Reason 0)")
        let endpoint = try postAPI(setup.collector, "/api/v1/originate", ["systemKey": "voipgrid", "extension": "301", "number": "09121234567"])
        XCTAssertEqual(endpoint.status, 200, "\(endpoint.body)")
        XCTAssertEqual(setup.pbx.actions.filter { $0.name == "Originate" }.map { $0["Channel"] ?? "" }, ["SIP/201", "PJSIP/204", "PJSIP/301"],
                       "204 is in no listing (the 13+ default), 301 is a PJSIPShowEndpoints entry")
        XCTAssertFalse(setup.pbx.actions.contains { $0["Variable"] != nil }, "no auto-answer unless asked")

        for (extensionNumber, variable) in [("201", "SIPADDHEADER51=Call-Info: <sip:127.0.0.1>\\;answer-after=0"),
                                            ("301", "PJSIP_HEADER(add,Call-Info)=<sip:127.0.0.1>\\;answer-after=0")] {
            let answered = try postAPI(setup.collector, "/api/v1/originate",
                                       ["systemKey": "voipgrid", "extension": extensionNumber, "number": "09121234567", "autoAnswer": true])
            XCTAssertEqual(answered.status, 200, "\(answered.body)")
            let sent = try XCTUnwrap(setup.pbx.actions.last { $0.name == "Originate" })
            XCTAssertEqual(sent["Channel"], extensionNumber == "201" ? "SIP/201" : "PJSIP/301")
            XCTAssertEqual(sent["Variable"], variable, "the header reaches the phone through its own driver's variable")
        }
    }

    /// `originateChannel: local` rings the extension through the dialplan (every phone of the
    /// user), and auto-answer is refused there: the originated Local channel also dials the
    /// customer, so a header variable inherited by the phone's leg would reach the trunk too.
    func testClickToCallThroughTheDialplanRingsLocalAndRefusesAutoAnswer() throws {
        let setup = try start(.asterisk16, releaseCode: "9", amiSettings: ["originateChannel: local", "originateContext: from-internal-custom"])
        try waitForLogin(setup)
        let placed = try postAPI(setup.collector, "/api/v1/originate", ["systemKey": "voipgrid", "extension": "201", "number": "09121234567"])
        XCTAssertEqual(placed.status, 200, "\(placed.body)")
        let originate = try XCTUnwrap(setup.pbx.actions.last { $0.name == "Originate" })
        XCTAssertEqual(originate["Channel"], "Local/201@from-internal-custom")
        XCTAssertEqual(originate["Context"], "from-internal-custom")
        XCTAssertEqual(originate["Exten"], "909121234567")
        XCTAssertEqual(originate["CallerID"], "\"09121234567\" <201>")

        let refused = try postAPI(setup.collector, "/api/v1/originate",
                                  ["systemKey": "voipgrid", "extension": "201", "number": "09121234567", "autoAnswer": true])
        XCTAssertEqual(refused.status, 422, "\(refused.body)")
        XCTAssertEqual(refused.body["error"] as? String,
                       "originate: auto-answer needs originateChannel: device; through Local/ the header would also go to the customer's trunk")
        XCTAssertEqual(setup.pbx.actions.filter { $0.name == "Originate" }.count, 1, "nothing was sent for the refused request")
    }

    func testSpyWhisperAndBargeUseChanSpyOptionsAndAreAudited() throws {
        let setup = try start(.asterisk16)
        try waitForLogin(setup)
        for (mode, options) in [("listen", "qE"), ("whisper", "qwE"), ("barge", "qBE")] {
            let answer = try postCommand(setup.collector, agent: "asterisk-1", name: "spy",
                                         arguments: ["supervisor": "250", "target": "201", "mode": mode, "requestedBy": "manager-sara"])
            XCTAssertEqual(answer["ok"] as? Bool, true, "\(answer)")
            let originate = try XCTUnwrap(setup.pbx.actions.last { $0.name == "Originate" })
            XCTAssertEqual(originate["Channel"], "PJSIP/250", "250 is in no listing: the 13+ default")
            XCTAssertEqual(originate["Application"], "ChanSpy")
            XCTAssertEqual(originate["Data"], "SIP/201-,\(options)", "201 is listed by SIPpeers; \(mode)")
            XCTAssertEqual(originate["Async"], "true")
        }
        let audit = try String(contentsOf: setup.folder.appendingPathComponent("spy-audit.log"), encoding: .utf8)
            .split(separator: "\n").compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(audit.map { $0["mode"] as? String }, ["listen", "whisper", "barge"])
        XCTAssertTrue(audit.allSatisfy {
            $0["supervisor"] as? String == "250" && $0["target"] as? String == "201" && $0["requestedBy"] as? String == "manager-sara"
                && $0["outcome"] as? String == "success" && ($0["at"] as? String)?.isEmpty == false
        }, "\(audit)")
        let attributes = try FileManager.default.attributesOfItem(atPath: setup.folder.appendingPathComponent("spy-audit.log").path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let wrongMode = try postCommand(setup.collector, agent: "asterisk-1", name: "spy", arguments: ["supervisor": "250", "target": "201", "mode": "shout"])
        XCTAssertEqual(wrongMode["ok"] as? Bool, false)
    }

    func testAMICommandAndTestThroughTheCollector() throws {
        let setup = try start(.asterisk16)
        try waitForLogin(setup)
        let command = try postCommand(setup.collector, agent: "asterisk-1", name: "ami-command", arguments: ["command": "core show channels"])
        XCTAssertEqual(command["ok"] as? Bool, true, "\(command)")
        XCTAssertEqual(command["output"] as? String, setup.pbx.commandOutput["core show channels"]!.joined(separator: "\n"))
        let test = try postCommand(setup.collector, agent: "asterisk-1", name: "test", arguments: [:])
        XCTAssertEqual(test["ok"] as? Bool, true, "\(test)")
        XCTAssertTrue((test["output"] as? String ?? "").contains("extensions: 4"), "\(test)")
    }
}
