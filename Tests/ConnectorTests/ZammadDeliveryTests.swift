import ConnectorKit
import Foundation
import TamasEvents
import TestSupport
import XCTest
import ZammadConnector

final class ZammadDeliveryTests: XCTestCase {
    let settings = ZammadSettings(token: "PhXp3ZG63QyJfcb1pVOnBKJWIbI", userNames: ["201": "Emma Taylor", "202": "Christopher Miller"])
    let now = time("2026-11-26T14:05:10+03:30")
    let ctiPath = "/api/v1/cti/PhXp3ZG63QyJfcb1pVOnBKJWIbI"

    func delivery(_ step: (event: CallEvent, call: CallRecord), state: ZammadCallState = ZammadCallState(),
                  settings: ZammadSettings? = nil) -> ZammadDelivery {
        ZammadDelivery(settings: settings ?? self.settings, event: step.event, call: step.call, callState: state, session: NoSession())
    }

    func inboundRinging(_ script: inout CallScript, extensions: [String] = ["201"]) -> (event: CallEvent, call: CallRecord) {
        script.event(.callRinging, at: "2026-11-26T14:05:09+03:30") {
            $0.direction = .inbound
            $0.from = "+493023125741"
            $0.to = "+492214710334"
            $0.line = "01"
            $0.extensions = extensions
        }
    }

    func fields(_ plan: HTTPRequestPlan?) -> [String] {
        guard let plan else { return [] }
        XCTAssertEqual(plan.method, .post)
        XCTAssertEqual(plan.path, ctiPath)
        XCTAssertEqual(plan.header("Content-Type"), "application/x-www-form-urlencoded")
        return formFields(plan.body).map { "\($0.0)=\($0.1)" }
    }

    func testInboundAnsweredMatchesTheDocumentedPayloads() throws {
        var script = CallScript(callId: "307fa962-de8d-4ffc-817b-7f6993204159")
        let ringing = drive(delivery(inboundRinging(&script, extensions: ["202", "201"])), [ok()], now: now)
        // The fixture's newCall_in, as form fields (user[] once per user).
        XCTAssertEqual(fields(ringing.requests.first), [
            "event=newCall", "from=493023125741", "to=492214710334", "direction=in",
            "callId=307fa962-de8d-4ffc-817b-7f6993204159", "user[]=Christopher Miller", "user[]=Emma Taylor",
        ])
        let answeredStep = script.event(.callAnswered, at: "2026-11-26T14:05:15+03:30") { $0.answeredBy = "201" }
        let answered = drive(delivery(answeredStep, state: try XCTUnwrap(ringing.callState)), [ok()], now: now)
        XCTAssertEqual(fields(answered.requests.first), [
            "event=answer", "from=493023125741", "to=492214710334", "direction=in",
            "callId=307fa962-de8d-4ffc-817b-7f6993204159", "user[]=Emma Taylor", "answeringNumber=201",
        ])
        let endedStep = script.event(.callEnded, at: "2026-11-26T14:07:15+03:30") { $0.disposition = .answered; $0.durationSec = 120 }
        let ended = drive(delivery(endedStep, state: try XCTUnwrap(answered.callState)), [ok()], now: now)
        // The fixture's hangup_in.
        XCTAssertEqual(fields(ended.requests.first), [
            "event=hangup", "from=493023125741", "to=492214710334", "direction=in",
            "callId=307fa962-de8d-4ffc-817b-7f6993204159", "user[]=Emma Taylor", "answeringNumber=201", "cause=normalClearing",
        ])
        XCTAssertEqual(ended.callState, { var state = ZammadCallState(); state.sentNewCall = true; state.sentAnswer = true; state.sentHangup = true; return state }())
        XCTAssertTrue(drive(delivery(endedStep, state: try XCTUnwrap(ended.callState)), [], now: now).requests.isEmpty)
    }

    func testFixtureFieldNamesAreTheOnesSent() throws {
        let fixture = try XCTUnwrap(jsonObject(try Fixtures.data("crm/zammad_cti_payloads.json")))
        var script = CallScript(callId: "c-names")
        _ = inboundRinging(&script)
        _ = script.event(.callAnswered, at: "2026-11-26T14:05:15+03:30") { $0.answeredBy = "201" }
        let ended = script.event(.callEnded, at: "2026-11-26T14:07:15+03:30") { $0.disposition = .answered }
        var state = ZammadCallState()
        state.sentNewCall = true
        state.sentAnswer = true
        let sent = Set(formFields(try XCTUnwrap(drive(delivery(ended, state: state), [ok()], now: now).requests.first).body)
            .map { $0.0.replacingOccurrences(of: "[]", with: "") })
        let documented = Set((try XCTUnwrap(fixture["hangup_in"] as? NSDictionary)).allKeys.compactMap { $0 as? String })
        XCTAssertEqual(sent, documented)
    }

    func testInboundMissedIsCancel() throws {
        var script = CallScript(callId: "c-missed")
        let ringing = drive(delivery(inboundRinging(&script)), [ok()], now: now)
        let ended = script.event(.callEnded, at: "2026-11-26T14:05:40+03:30") { $0.disposition = .missed; $0.durationSec = 0 }
        let result = drive(delivery(ended, state: try XCTUnwrap(ringing.callState)), [ok()], now: now)
        XCTAssertEqual(fields(result.requests.first), [
            "event=hangup", "from=493023125741", "to=492214710334", "direction=in", "callId=c-missed", "cause=cancel",
        ])
    }

    func testRingGroupNamesEveryRungUserThenTheOneWhoAnswered() throws {
        var script = CallScript(callId: "c-group")
        let ringing = drive(delivery(inboundRinging(&script, extensions: ["201", "202", "203"])), [ok()], now: now)
        XCTAssertEqual(fields(ringing.requests.first).filter { $0.hasPrefix("user[]") }, ["user[]=Emma Taylor", "user[]=Christopher Miller"])
        let answered = script.event(.callAnswered, at: "2026-11-26T14:05:15+03:30") { $0.answeredBy = "202" }
        let result = drive(delivery(answered, state: try XCTUnwrap(ringing.callState)), [ok()], now: now)
        XCTAssertEqual(fields(result.requests.first).suffix(2), ["user[]=Christopher Miller", "answeringNumber=202"])
    }

    func testOutboundKnownOnlyAtItsEndSendsTheWholeLifeInOrder() {
        var script = CallScript(callId: "c-out")
        let ended = script.event(.callEnded, at: "2026-11-26T18:02:10+03:30") {
            $0.direction = .outbound
            $0.from = "201"
            $0.to = "+989123951418"
            $0.extension = "201"
            $0.disposition = .answered
            $0.durationSec = 35
        }
        let result = drive(delivery(ended), [ok(), ok(), ok()], now: now)
        XCTAssertEqual(result.requests.map { fields($0) }, [
            ["event=newCall", "from=201", "to=989123951418", "direction=out", "callId=c-out", "user[]=Emma Taylor"],
            ["event=answer", "from=201", "to=989123951418", "direction=out", "callId=c-out", "user[]=Emma Taylor"],
            ["event=hangup", "from=201", "to=989123951418", "direction=out", "callId=c-out", "user[]=Emma Taylor", "cause=normalClearing"],
        ])
    }

    func testUnansweredOutboundIsNoAnswerAndWithheldCallerIsAnonymous() {
        var script = CallScript(callId: "c-na")
        let ended = script.event(.callEnded, at: "2026-11-26T18:02:10+03:30") {
            $0.direction = .outbound
            $0.to = "+989123951418"
            $0.disposition = .noAnswer
        }
        let result = drive(delivery(ended), [ok(), ok()], now: now)
        XCTAssertEqual(result.requests.map { fields($0) }, [
            ["event=newCall", "from=anonymous", "to=989123951418", "direction=out", "callId=c-na"],
            ["event=hangup", "from=anonymous", "to=989123951418", "direction=out", "callId=c-na", "cause=noAnswer"],
        ])
    }

    func testInternalCallsAreSkippedUnlessAskedFor() {
        var script = CallScript(callId: "c-int")
        let ended = script.event(.callEnded, at: "2026-11-26T10:00:30+03:30") {
            $0.direction = .internal
            $0.from = "201"
            $0.to = "202"
            $0.extension = "201"
            $0.disposition = .busy
        }
        let skipped = drive(delivery(ended), [], now: now)
        XCTAssertTrue(skipped.requests.isEmpty)
        XCTAssertTrue(skipped.isDone)
        var including = settings
        including.includeInternalCalls = true
        let sent = drive(delivery(ended, settings: including), [ok(), ok()], now: now)
        XCTAssertEqual(sent.requests.map { fields($0) }, [
            ["event=newCall", "from=201", "to=202", "direction=out", "callId=c-int", "user[]=Emma Taylor"],
            ["event=hangup", "from=201", "to=202", "direction=out", "callId=c-int", "user[]=Emma Taylor", "cause=busy"],
        ])
    }

    func testTransferredCallHangsUpAsForwarded() throws {
        var script = CallScript(callId: "c-xfer")
        _ = inboundRinging(&script)
        _ = script.event(.callAnswered, at: "2026-11-26T14:05:15+03:30") { $0.answeredBy = "201" }
        let ended = script.event(.callEnded, at: "2026-11-26T14:09:00+03:30") { $0.disposition = .answered; $0.transferredTo = "205" }
        var state = ZammadCallState()
        state.sentNewCall = true
        state.sentAnswer = true
        let result = drive(delivery(ended, state: state), [ok()], now: now)
        XCTAssertEqual(fields(result.requests.first).last, "cause=forwarded")
    }

    func testRetryAfterServerErrorResumesWithoutRepeatingNewCall() throws {
        var script = CallScript(callId: "c-retry")
        let ended = script.event(.callEnded, at: "2026-11-26T18:02:10+03:30") {
            $0.direction = .outbound
            $0.to = "+989123951418"
            $0.extension = "201"
            $0.disposition = .answered
        }
        let first = drive(delivery(ended), [ok(), status(500)], now: now)
        guard case .retry(let reason, nil, let state, _) = first.action else { return XCTFail("expected retry, got \(first.action)") }
        XCTAssertTrue(reason.contains("answer"))
        XCTAssertTrue(state.sentNewCall)
        let second = drive(delivery(ended, state: state), [ok(), ok()], now: now)
        XCTAssertEqual(second.requests.map { fields($0).first }, ["event=answer", "event=hangup"])
    }

    func testFailuresAndTheTokenStayOutOfLogs() {
        var script = CallScript(callId: "c-fail")
        let step = inboundRinging(&script)
        guard case .authFailed(let reason, _, _) = drive(delivery(step), [status(401)], now: now).action else { return XCTFail("401") }
        XCTAssertFalse(reason.contains(settings.token))
        guard case .rejected(422, _, let excerpt, _, _) = drive(delivery(step), [status(422, "bad \(settings.token)")], now: now).action
        else { return XCTFail("422 must be rejected") }
        XCTAssertEqual(excerpt, "bad <redacted>")
        var machine = delivery(step)
        let action = machine.start(now: now)
        XCTAssertFalse("\(action)".contains(settings.token))
        XCTAssertTrue("\(action)".contains("/api/v1/cti/<token>"))
    }
}
