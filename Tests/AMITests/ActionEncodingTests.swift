import AMIProtocol
import Foundation
import TamasEvents
import XCTest

final class ActionEncodingTests: XCTestCase {
    let plan = NumberPlan(releaseCode: "9", countryCode: "98", cityCode: "21")

    func testClickToCallOriginateBytes() throws {
        let call = AMIClickToCall(userExtension: "201", number: "+989121234567", technology: .sip, context: "from-internal", timeoutSeconds: 30, numberPlan: plan)
        XCTAssertEqual(call.dialedDigits, "909121234567")
        let bytes = try call.action(technologyFallback: .auto).encoded(actionID: "c1")
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self),
                       "Action: Originate\r\nActionID: c1\r\nChannel: SIP/201\r\nContext: from-internal\r\nExten: 909121234567\r\nPriority: 1\r\nCallerID: \"09121234567\" <201>\r\nTimeout: 30000\r\nAsync: true\r\n\r\n")
    }

    /// The CallerID number is the user's extension, whatever the customer's number looks like:
    /// the dialplan finds the calling extension by it and the trunk leg inherits it
    /// (PAINPOINTS 29, 31). The customer's number is only the name the user's phone shows.
    func testClickToCallCallerIDNumberIsTheUsersExtension() throws {
        let zero = NumberPlan(releaseCode: "0", countryCode: "98", cityCode: "21")
        let cases: [(plan: NumberPlan, number: String, callerID: String, exten: String)] = [
            (plan, "+989121234567", "CallerID: \"09121234567\" <202>\r\n", "Exten: 909121234567\r\n"),
            (plan, "0912 123 4567", "CallerID: \"09121234567\" <202>\r\n", "Exten: 909121234567\r\n"),
            (plan, "+442071234567", "CallerID: \"00442071234567\" <202>\r\n", "Exten: 900442071234567\r\n"),
            (plan, "205", "CallerID: \"205\" <202>\r\n", "Exten: 205\r\n"),
            (zero, "+989121234567", "CallerID: \"09121234567\" <202>\r\n", "Exten: 009121234567\r\n"),
        ]
        for (plan, number, callerID, exten) in cases {
            let call = AMIClickToCall(userExtension: "202", number: number, technology: .pjsip, numberPlan: plan)
            let text = String(decoding: try call.action(technologyFallback: .auto).encoded(actionID: "c3"), as: UTF8.self)
            XCTAssertTrue(text.contains("\r\n" + callerID), "\(number): \(text)")
            XCTAssertTrue(text.contains("\r\n" + exten), "\(number): \(text)")
            XCTAssertEqual(text.components(separatedBy: "CallerID:").count, 2, "one CallerID header: \(text)")
        }
    }

    func testClickToCallToAnExtensionHasNoReleaseCodeAndAutoTechnologyFollowsTheFallback() throws {
        let call = AMIClickToCall(userExtension: "201", number: "205", technology: .auto, numberPlan: plan)
        let text = String(decoding: try call.action(technologyFallback: .pjsip).encoded(actionID: "c2"), as: UTF8.self)
        XCTAssertTrue(text.contains("Channel: PJSIP/201\r\n"))
        XCTAssertTrue(text.contains("Exten: 205\r\n"))
    }

    /// `local` rings the extension through the dialplan, so every phone of the user rings; the
    /// rest of the action is the same as for one device.
    func testClickToCallThroughTheDialplanOriginatesALocalChannel() throws {
        let call = AMIClickToCall(userExtension: "201", number: "09121234567", technology: .pjsip, context: "from-internal",
                                  numberPlan: plan, channel: .local)
        XCTAssertEqual(String(decoding: try call.action(technologyFallback: .auto).encoded(actionID: "c4"), as: UTF8.self),
                       "Action: Originate\r\nActionID: c4\r\nChannel: Local/201@from-internal\r\nContext: from-internal\r\nExten: 909121234567\r\nPriority: 1\r\nCallerID: \"09121234567\" <201>\r\nTimeout: 30000\r\nAsync: true\r\n\r\n")
    }

    func testAutoAnswerHeaderGoesThroughThePhonesOwnDriver() throws {
        func variable(_ technology: AMIChannelTechnology, _ header: String = AMIAutoAnswer.defaultHeader) throws -> String? {
            try AMIClickToCall(userExtension: "201", number: "09121234567", technology: technology, numberPlan: plan, autoAnswerHeader: header)
                .action(technologyFallback: .auto).headers.last { $0.key == "Variable" }?.value
        }
        XCTAssertEqual(try variable(.sip), "SIPADDHEADER51=Call-Info: <sip:127.0.0.1>\\;answer-after=0")
        XCTAssertEqual(try variable(.pjsip), "PJSIP_HEADER(add,Call-Info)=<sip:127.0.0.1>\\;answer-after=0")
        XCTAssertEqual(try variable(.sip, "Alert-Info: Ring Answer"), "SIPADDHEADER51=Alert-Info: Ring Answer", "Polycom's header")
        XCTAssertEqual(try variable(.pjsip, "Alert-Info: Ring Answer"), "PJSIP_HEADER(add,Alert-Info)=Ring Answer")
        XCTAssertNil(try AMIClickToCall(userExtension: "201", number: "205", technology: .sip, numberPlan: plan)
            .action(technologyFallback: .auto).headers.first { $0.key == "Variable" }, "no header unless asked")

        XCTAssertThrowsError(try variable(.pjsip, "answer-after=0")) { error in
            XCTAssertEqual("\(error)", "autoAnswerHeader: 'answer-after=0' is not 'Name: value'")
        }
        XCTAssertThrowsError(try variable(.iax2)) { error in
            XCTAssertEqual("\(error)", "auto-answer is a SIP header; IAX2/201 cannot carry it")
        }
        let throughDialplan = AMIClickToCall(userExtension: "201", number: "09121234567", technology: .sip, numberPlan: plan,
                                             channel: .local, autoAnswerHeader: AMIAutoAnswer.defaultHeader)
        XCTAssertThrowsError(try throughDialplan.action(technologyFallback: .auto)) { error in
            XCTAssertTrue("\(error)".contains("needs originateChannel: device"), "\(error)")
        }
    }

    func testAutoAnswerHeadersThatOriginateVariablesCannotCarryAreRefused() {
        XCTAssertNil(AMIAutoAnswer.problem(AMIAutoAnswer.defaultHeader))
        XCTAssertNil(AMIAutoAnswer.problem("Alert-Info: info=alert-autoanswer"))
        XCTAssertEqual(AMIAutoAnswer.problem("answer-after=0"), "'answer-after=0' is not 'Name: value'")
        XCTAssertEqual(AMIAutoAnswer.problem("Call Info: x"), "'Call Info' is not a SIP header name")
        XCTAssertEqual(AMIAutoAnswer.problem("Call-Info:  "), "'Call-Info:  ' has no value")
        XCTAssertEqual(AMIAutoAnswer.problem("Call-Info: <sip:a>;answer-after=0, <sip:b>"),
                       "'Call-Info: <sip:a>;answer-after=0, <sip:b>' holds ',', which Asterisk's Originate variables cannot carry")
        XCTAssertNotNil(AMIAutoAnswer.problem("Alert-Info: \"ring\""))
    }

    func testSpyWhisperBargeOptionsPerVersion() throws {
        let spy = AMISpy(mode: .spy, supervisorExtension: "100", targetExtension: "201", technology: .sip)
        XCTAssertEqual(String(decoding: try spy.action(dialect: .v13plus, supervisorTechnologyFallback: .auto, targetTechnologyFallback: .pjsip)
                                .encoded(actionID: "s1"), as: UTF8.self),
                       "Action: Originate\r\nActionID: s1\r\nChannel: SIP/100\r\nApplication: ChanSpy\r\nData: SIP/201-,qE\r\nCallerID: \"spy 201\" <201>\r\nAsync: true\r\n\r\n")
        let mixed = AMISpy(mode: .spy, supervisorExtension: "100", targetExtension: "201", technology: .auto)
        let mixedText = String(decoding: try mixed.action(dialect: .v13plus, supervisorTechnologyFallback: .pjsip, targetTechnologyFallback: .sip)
            .encoded(actionID: "s2"), as: UTF8.self)
        XCTAssertTrue(mixedText.contains("Channel: PJSIP/100\r\n"), mixedText)
        XCTAssertTrue(mixedText.contains("Data: SIP/201-,qE\r\n"), "each phone is reached with its own driver: \(mixedText)")
        XCTAssertEqual(try AMISpy(mode: .whisper, supervisorExtension: "100", targetExtension: "201", technology: .sip).options(dialect: .v11), "qwE")
        XCTAssertEqual(try AMISpy(mode: .barge, supervisorExtension: "100", targetExtension: "201", technology: .sip).options(dialect: .v1_8), "qBE")
        XCTAssertEqual(try AMISpy(mode: .spy, supervisorExtension: "100", targetExtension: "201", technology: .sip).options(dialect: .v1_4), "q")
        XCTAssertEqual(try AMISpy(mode: .whisper, supervisorExtension: "100", targetExtension: "201", technology: .sip).options(dialect: .v1_4), "qw")
        XCTAssertThrowsError(try AMISpy(mode: .barge, supervisorExtension: "100", targetExtension: "201", technology: .sip).options(dialect: .v1_4))
    }

    func testLineBreakInAValueIsRefused() {
        let action = AMIActions.command("core show channels\r\nAction: Originate")
        XCTAssertThrowsError(try action.encoded(actionID: "x"))
    }

    func testCommandAndLoginBytesMatchPanoramiskFixtureShape() throws {
        XCTAssertEqual(String(decoding: try AMIActions.command("core show version").encoded(actionID: "action/transaction_uid/1/1"), as: UTF8.self),
                       "Action: Command\r\nActionID: action/transaction_uid/1/1\r\nCommand: core show version\r\n\r\n")
        XCTAssertEqual(AMIActions.md5Key(challenge: "145769581", secret: "yyyyyyyyyyyy"), "e9a862b3f6a759df261c435b8fb13493")
    }

    func testResyncListsFollowTheVersion() {
        XCTAssertEqual(AMIActions.resync(dialect: .v1_4, technology: .auto).map(\.name), ["Status", "SIPpeers"])
        XCTAssertEqual(AMIActions.resync(dialect: .v11, technology: .auto).map(\.name), ["CoreShowChannels", "SIPpeers"])
        XCTAssertEqual(AMIActions.resync(dialect: .v13plus, technology: .auto).map(\.name), ["CoreShowChannels", "ExtensionStateList", "SIPpeers", "PJSIPShowEndpoints"])
        XCTAssertEqual(AMIActions.resync(dialect: .v13plus, technology: .pjsip).map(\.name), ["CoreShowChannels", "ExtensionStateList", "PJSIPShowEndpoints"])
    }

    func testSettingsDecodeWithDefaults() throws {
        let settings = try JSONDecoder().decode(AMISettings.self, from: Data(#"{"host":"10.0.0.5","secret":"s"}"#.utf8))
        XCTAssertEqual(settings.port, 5038)
        XCTAssertEqual(settings.originateContext, "from-internal")
        XCTAssertEqual(settings.recordingPath, "/var/spool/asterisk/monitor")
        XCTAssertEqual(settings.version, .auto)
        XCTAssertEqual(settings.host, "10.0.0.5")
        let roundTrip = try JSONDecoder().decode(AMISettings.self, from: JSONEncoder().encode(settings))
        XCTAssertEqual(roundTrip, settings)
    }

    func testChannelRulesWithTheShortestExtensionAboveTheLongestAreRefused() throws {
        for json in [#"{"extensionDigitsMin": 6}"#, #"{"extensionDigitsMin": 4, "extensionDigitsMax": 3}"#, #"{"extensionDigitsMax": 13}"#] {
            XCTAssertThrowsError(try JSONDecoder().decode(AMIChannelRules.self, from: Data(json.utf8)), json) { error in
                guard case DecodingError.dataCorrupted(let context) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(context.codingPath.last?.stringValue, "extensionDigitsMax", json)
                XCTAssertTrue(context.debugDescription.hasPrefix("extensionDigitsMin/extensionDigitsMax: "), context.debugDescription)
            }
        }
        XCTAssertNoThrow(try JSONDecoder().decode(AMIChannelRules.self, from: Data(#"{"extensionDigitsMin": 5}"#.utf8)))
    }

    func testNestedNumberPlanAndChannelRulesTakeTheDefaultsForMissingKeys() throws {
        let json = #"{"numberPlan": {"countryCode": "31"}, "channelRules": {"trunkPeers": ["sipgate*"]}}"#
        let settings = try JSONDecoder().decode(AMISettings.self, from: Data(json.utf8))
        XCTAssertEqual(settings.numberPlan, NumberPlan(countryCode: "31"))
        XCTAssertEqual(settings.channelRules, AMIChannelRules(trunkPeers: ["sipgate*"]))
        let roundTrip = try JSONDecoder().decode(AMISettings.self, from: JSONEncoder().encode(settings))
        XCTAssertEqual(roundTrip, settings)
    }
}
