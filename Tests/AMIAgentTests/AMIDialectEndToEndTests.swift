import Foundation
import TamasEvents
import TestSupport
import XCTest

/// One run per AMI dialect of the test double: AMI test double -> `tamas-agent ami run` with
/// `version: auto` -> `tamas-collector`. The agent must pick the dialect from the banner alone,
/// resync with the lists that version has, keep the link alive with that version's Ping answer,
/// and turn that version's event shapes (the hand-built transcripts the pure tests replay,
/// `Tests/AMITests/Golden/streams`) into the calls `tamasctl calls --json` shows. Click-to-call
/// and `test` through the collector check the version's Originate outcome and list answers.
final class AMIDialectEndToEndTests: XCTestCase {
    /// The fields of one call as `tamasctl calls --json` shows it.
    struct ExpectedCall {
        /// The first channel's Uniqueid, which the callId is derived from.
        var callKey: String
        var fields: [String: String]
    }

    struct Expectation {
        var dialect: AMITestDouble.Dialect
        /// `AMIDialect.rawValue` the agent must report.
        var reportedDialect: String
        var resyncActions: [String]
        var transcripts: [String]
        var calls: [ExpectedCall]
        var versionLine: String
    }

    func check(_ expectation: Expectation) throws {
        let folder = try temporaryFolder("ami-dialect")
        let collector = try CollectorUnderTest(name: "ami-dialect")
        let pbx = AMITestDouble(dialect: expectation.dialect)
        pbx.script = try expectation.transcripts.flatMap { try AMITestDouble.wireMessages(fromTranscript: $0) }
        pbx.originateReasons = ["SIP/202": 5]
        try pbx.start()
        let config = try collector.enrollAgent("asterisk-1", systems: ["office"], folder: folder,
                                               extra: amiSection(port: pbx.port, extra: ["version: auto"]))
        // The transcripts' numbering: Tehran (98, 21), release code 9.
        var text = try String(contentsOf: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "system:\n", with: "system:\n  countryCode: \"98\"\n  cityCode: \"21\"\n  releaseCode: \"9\"\n")
        try text.write(to: config, atomically: false, encoding: .utf8)
        let agent = try ChildProcess("tamas-agent", ["ami", "run", "--config", config.path], name: "ami-agent")
        addTeardownBlock {
            agent.kill9()
            pbx.stop()
            try? FileManager.default.removeItem(at: folder)
        }

        XCTAssertTrue(try eventually(timeout: 40) {
            try collector.calls().filter { $0["phase"] as? String == "ended" }.count >= expectation.calls.count
        }, "calls: \(String(describing: try? collector.calls()))\nagent log:\n\(agent.log.suffix(3000))")
        let statuses = try agentStatuses(collector.events())
        XCTAssertEqual(statuses.first { $0.state == "connected" }?.detail, "AMI \(expectation.reportedDialect) as tamas", "\(statuses)")
        XCTAssertTrue(agent.log.contains("msg=\"logged in to AMI\" dialect=\(expectation.reportedDialect) host=127.0.0.1:\(pbx.port)"),
                      "the agent logs the dialect it read from the banner:\n\(agent.log.suffix(3000))")
        XCTAssertEqual(pbx.actions.map(\.name).prefix(1 + expectation.resyncActions.count), ["Login"] + expectation.resyncActions,
                       "the resync asks only lists this version has")

        let calls = try collector.calls()
        XCTAssertEqual(calls.count, expectation.calls.count, "\(calls)")
        for expected in expectation.calls {
            // Before 12 a call is keyed by its first channel's Uniqueid (docs/asterisk.md, "Calls").
            let callId = StableID.make("office", "ami", expected.callKey)
            guard let call = calls.first(where: { $0["callId"] as? String == callId }) else {
                XCTFail("no call \(expected.callKey) (\(callId)) among \(calls)")
                continue
            }
            for (key, value) in expected.fields.sorted(by: { $0.key < $1.key }) {
                XCTAssertEqual(call[key] as? String, value, "\(key) of call \(expected.callKey)")
            }
            XCTAssertEqual(call["phase"] as? String, "ended")
        }
        let unparsed = try collector.events().filter { $0["type"] as? String == "line.unparsed" }
        XCTAssertEqual(unparsed.count, 0, "\(unparsed.prefix(3))")

        // Click-to-call: the version's async Originate outcome comes back (1.4: OriginateSuccess/Failure).
        let placed = try postCommand(collector, agent: "asterisk-1", name: "originate", arguments: ["from": "201", "to": "09121234567"])
        XCTAssertEqual(placed["ok"] as? Bool, true, "\(placed)")
        XCTAssertEqual(placed["output"] as? String, "success")
        let busy = try postCommand(collector, agent: "asterisk-1", name: "originate", arguments: ["from": "202", "to": "09121234567"])
        XCTAssertEqual(busy["ok"] as? Bool, false, "\(busy)")
        XCTAssertEqual(busy["output"] as? String, "busy")
        XCTAssertEqual(pbx.actions.filter { $0.name == "Originate" }.map { $0["Channel"] ?? "" }, ["SIP/201", "SIP/202"])
        XCTAssertEqual(pbx.actions.filter { $0.name == "Originate" }.map { $0["Exten"] ?? "" }, ["909121234567", "909121234567"])

        // `test`: dialect, the version line of the Command answer, phones counted from SIPpeers.
        let test = try postCommand(collector, agent: "asterisk-1", name: "test", arguments: [:])
        let report = test["output"] as? String ?? ""
        XCTAssertEqual(test["ok"] as? Bool, true, "\(test)")
        XCTAssertTrue(report.contains("dialect: AMI \(expectation.reportedDialect)\n"), report)
        XCTAssertTrue(report.contains("version: \(expectation.versionLine)\n"), report)
        XCTAssertTrue(report.contains("extensions: 2\n"), "201 and 202; the trunk is not a phone:\n\(report)")

        // The link stays up on this version's Ping answer.
        XCTAssertTrue(eventually(timeout: 10) { pbx.actions.filter { $0.name == "Ping" }.count >= 2 }, "Ping every pingIntervalSeconds")
        XCTAssertEqual(pbx.connectionCount, 1, "never reconnected:\n\(agent.log.suffix(3000))")
        let problems = try agentStatuses(collector.events()).filter { $0.state != "connected" }
        XCTAssertEqual(problems.map(\.state), [], "\(problems)")
    }

    func testAsterisk14LinkUnlinkAndDialWithoutSubEventLandInCalls() throws {
        try check(Expectation(
            dialect: .asterisk14, reportedDialect: "1.4", resyncActions: ["Status", "SIPpeers"],
            transcripts: ["v14_inbound_answered", "v14_outbound_release_code"],
            calls: [
                ExpectedCall(callKey: "1764150500.60", fields: [
                    "direction": "inbound", "disposition": "answered", "from": "+982188776655", "fromRaw": "02188776655",
                    "to": "201", "extension": "201", "answeredBy": "201", "line": "mytrunk",
                ]),
                ExpectedCall(callKey: "1764150100.20", fields: [
                    "direction": "outbound", "disposition": "answered", "from": "201", "to": "+989121234567",
                    "toRaw": "909121234567", "extension": "201", "line": "mytrunk",
                ]),
            ],
            versionLine: "Asterisk 1.4.44 built by root @ pbx on a i686 running Linux on 2012-04-20 10:05:11 UTC"))
    }

    func testAsterisk18BridgeAndDialSubEventsLandInCalls() throws {
        try check(Expectation(
            dialect: .asterisk18, reportedDialect: "1.8", resyncActions: ["CoreShowChannels", "SIPpeers"],
            transcripts: ["v18_inbound_freepbx_recording", "v18_outbound_answered"],
            calls: [
                ExpectedCall(callKey: "1764150300.40", fields: [
                    "direction": "inbound", "disposition": "answered", "from": "+989121234567", "fromRaw": "09121234567",
                    "to": "201", "extension": "201", "answeredBy": "201", "line": "mytrunk",
                ]),
                ExpectedCall(callKey: "1764150600.70", fields: [
                    "direction": "outbound", "disposition": "answered", "from": "202", "to": "+982144556677",
                    "toRaw": "902144556677", "extension": "202", "line": "mytrunk",
                ]),
            ],
            versionLine: "Asterisk 1.8.32.3 built by root @ pbx on a x86_64 running Linux on 2015-04-09 12:01:44 UTC"))
    }
}
