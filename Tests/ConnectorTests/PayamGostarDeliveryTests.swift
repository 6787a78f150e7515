import ConnectorKit
import Foundation
import PayamGostarConnector
import TamasEvents
import XCTest

final class PayamGostarDeliveryTests: XCTestCase {
    typealias Session = PayamGostarSession
    typealias State = PayamGostarCallState

    let settings = PayamGostarSettings(userName: "admin", password: "s3cret&pass word")
    let now = time("2026-11-26T14:05:10+03:30")
    let tokenAnswer = ok(#"{"access_token":"tok-1","token_type":"bearer","expires_in":3600}"#)

    func delivery(_ step: (event: CallEvent, call: CallRecord), state: State = State(), session: Session = Session(),
                  settings: PayamGostarSettings? = nil) -> PayamGostarDelivery {
        PayamGostarDelivery(settings: settings ?? self.settings, event: step.event, call: step.call, callState: state, session: session)
    }

    func signedIn(_ token: String = "tok-1") -> Session {
        var session = Session()
        session.accessToken = token
        session.expiresAt = now.adding(seconds: 3000)
        return session
    }

    func inboundRinging(_ script: inout CallScript, extensions: [String] = ["201"]) -> (event: CallEvent, call: CallRecord) {
        script.event(.callRinging, at: "2026-11-26T14:05:09+03:30") {
            $0.direction = .inbound
            $0.from = "+989121234567"
            $0.to = "+982188776655"
            $0.line = "01"
            $0.extensions = extensions
        }
    }

    // MARK: the call life

    func testInboundAnsweredDeliveredEventByEvent() throws {
        var script = CallScript(callId: "c-in-1")
        let ringing = drive(delivery(inboundRinging(&script)), [
            tokenAnswer,
            ok(#"{"CallId":7001,"InitChannelId":9001,"IdentityId":"6f1c2a54-3b1e-4d7a-9a55-0c1d2e3f4a5b","IdentityNickName":"Ali"}"#),
            ok(#"{"CallChannelId":9002}"#),
        ], now: now)
        XCTAssertEqual(ringing.requests.count, 3)
        let auth = try XCTUnwrap(ringing.requests.first)
        XCTAssertEqual(auth.method, .post)
        XCTAssertEqual(auth.path, "/api/v1/auth")
        XCTAssertEqual(auth.header("Content-Type"), "application/x-www-form-urlencoded")
        XCTAssertEqual(String(decoding: auth.body, as: UTF8.self), "username=admin&password=s3cret%26pass+word&grant_type=password")
        assertJSONRequest(ringing.requests[1], .post, "/api/v1/telephony/call", bearer: "tok-1", body: [
            "TsKey": "TEH-PBX", "SourceId": "c-in-1", "PhoneNumber": "09121234567", "StartDate": "2026-11-26T14:05:09+03:30",
            "CallTypeIndex": 1, "InitChannelPeerName": "01", "InitChannelPeerTypeIndex": 2,
            "InitChannelSourceId": "c-in-1/trunk/01", "IsLive": true,
        ])
        assertJSONRequest(ringing.requests[2], .post, "/api/v1/telephony/channel", bearer: "tok-1", body: [
            "CallId": 7001, "ChannelPeerName": "201", "ChannelPeerTypeIndex": 1, "ChannelSourceId": "c-in-1/ext/201",
            "ChannelStatusIndex": 2, "CreateDate": "2026-11-26T14:05:09+03:30", "IsLive": true,
        ])
        XCTAssertTrue(ringing.isDone)
        let afterRinging = try XCTUnwrap(ringing.callState)
        XCTAssertEqual(afterRinging.callId, 7001)
        XCTAssertEqual(afterRinging.channels.map(\.callChannelId), [9001, 9002])
        let session = try XCTUnwrap(ringing.session)
        XCTAssertEqual(session.accessToken, "tok-1")
        XCTAssertEqual(session.expiresAt, now.adding(seconds: 3600))

        let answeredStep = script.event(.callAnswered, at: "2026-11-26T14:05:15+03:30") { $0.answeredBy = "201"; $0.extension = "201" }
        let answered = drive(delivery(answeredStep, state: afterRinging, session: session), [ok(), ok()], now: now)
        assertJSONRequest(answered.requests.first, .put, "/api/v1/telephony/channel", bearer: "tok-1", body: [
            "CallChannelId": 9001, "ChannelStatusIndex": 3, "ChannelResponseIndex": 2,
            "ConnectDate": "2026-11-26T14:05:15+03:30", "IsLive": true,
        ])
        assertJSONRequest(answered.requests.last, .put, "/api/v1/telephony/channel", body: [
            "CallChannelId": 9002, "ChannelStatusIndex": 3, "ChannelResponseIndex": 2,
            "ConnectDate": "2026-11-26T14:05:15+03:30", "IsLive": true,
        ])
        XCTAssertEqual(answered.requests.count, 2)
        XCTAssertTrue(answered.isDone)

        let endedStep = script.event(.callEnded, at: "2026-11-26T14:07:15+03:30") {
            $0.disposition = .answered
            $0.durationSec = 120
            $0.recording = RecordingLink(ref: "2026/11/26/c-in-1.wav")
        }
        let ended = drive(delivery(endedStep, state: try XCTUnwrap(answered.callState), session: session), [ok(), ok(), ok("{}")], now: now)
        XCTAssertEqual(ended.requests.count, 3)
        assertJSONRequest(ended.requests[0], .put, "/api/v1/telephony/channel", body: [
            "CallChannelId": 9001, "ChannelStatusIndex": 4, "ChannelResponseIndex": 2,
            "ConnectDate": "2026-11-26T14:05:15+03:30", "HangupDate": "2026-11-26T14:07:15+03:30", "IsLive": false,
        ])
        assertJSONRequest(ended.requests[1], .put, "/api/v1/telephony/channel", body: [
            "CallChannelId": 9002, "ChannelStatusIndex": 4, "ChannelResponseIndex": 2,
            "ConnectDate": "2026-11-26T14:05:15+03:30", "HangupDate": "2026-11-26T14:07:15+03:30",
            "RecordedFileName": "2026/11/26/c-in-1.wav", "IsLive": false,
        ])
        assertJSONRequest(ended.requests[2], .put, "/api/v1/telephony/call", body: [
            "CallId": 7001, "EndDate": "2026-11-26T14:07:15+03:30", "PhoneNumber": "09121234567",
            "IdentityId": "6f1c2a54-3b1e-4d7a-9a55-0c1d2e3f4a5b", "CallTypeIndex": 2, "IsLive": false,
        ])
        XCTAssertEqual(ended.callState?.closed, true)

        let again = drive(delivery(endedStep, state: try XCTUnwrap(ended.callState), session: session), [], now: now)
        XCTAssertTrue(again.requests.isEmpty, "a replayed call.ended must send nothing once delivered")
        XCTAssertTrue(again.isDone)
    }

    func testInboundMissed() throws {
        var script = CallScript(callId: "c-miss")
        let ringing = drive(delivery(inboundRinging(&script)), [
            tokenAnswer, ok(#"{"CallId":11,"InitChannelId":21,"IdentityId":null}"#), ok(#"{"CallChannelId":22}"#),
        ], now: now)
        let endedStep = script.event(.callEnded, at: "2026-11-26T14:05:40+03:30") { $0.disposition = .missed; $0.durationSec = 0; $0.ringSec = 31 }
        let ended = drive(delivery(endedStep, state: try XCTUnwrap(ringing.callState), session: try XCTUnwrap(ringing.session)),
                          [ok(), ok(), ok()], now: now)
        assertJSONRequest(ended.requests[0], .put, "/api/v1/telephony/channel", body: [
            "CallChannelId": 21, "ChannelStatusIndex": 4, "ChannelResponseIndex": 1,
            "HangupDate": "2026-11-26T14:05:40+03:30", "IsLive": false,
        ])
        assertJSONRequest(ended.requests[1], .put, "/api/v1/telephony/channel", body: [
            "CallChannelId": 22, "ChannelStatusIndex": 4, "ChannelResponseIndex": 1,
            "HangupDate": "2026-11-26T14:05:40+03:30", "IsLive": false,
        ])
        assertJSONRequest(ended.requests[2], .put, "/api/v1/telephony/call", body: [
            "CallId": 11, "EndDate": "2026-11-26T14:05:40+03:30", "PhoneNumber": "09121234567", "CallTypeIndex": 1, "IsLive": false,
        ])
        XCTAssertTrue(ended.isDone)
    }

    func testRingGroupOneAnswers() throws {
        var script = CallScript(callId: "c-group")
        let ringing = drive(delivery(inboundRinging(&script, extensions: ["201", "202", "203"])), [
            tokenAnswer, ok(#"{"CallId":5,"InitChannelId":50}"#),
            ok(#"{"CallChannelId":51}"#), ok(#"{"CallChannelId":52}"#), ok(#"{"CallChannelId":53}"#),
        ], now: now)
        XCTAssertEqual(ringing.requests.dropFirst(2).compactMap { jsonObject($0.body)?["ChannelPeerName"] as? String }, ["201", "202", "203"])
        let session = try XCTUnwrap(ringing.session)

        let answeredStep = script.event(.callAnswered, at: "2026-11-26T14:05:20+03:30") { $0.answeredBy = "202" }
        let answered = drive(delivery(answeredStep, state: try XCTUnwrap(ringing.callState), session: session),
                             [ok(), ok(), ok(), ok()], now: now)
        let summary = answered.requests.compactMap { request -> String? in
            guard let body = jsonObject(request.body) else { return nil }
            return "\(body["CallChannelId"] ?? "-"):\(body["ChannelStatusIndex"] ?? "-"):\(body["ChannelResponseIndex"] ?? "-")"
        }
        // trunk and 202 go Up/Answered; 201 and 203 stop ringing, not answered.
        XCTAssertEqual(summary, ["50:3:2", "51:4:1", "52:3:2", "53:4:1"])
        assertJSONRequest(answered.requests[1], .put, "/api/v1/telephony/channel", body: [
            "CallChannelId": 51, "ChannelStatusIndex": 4, "ChannelResponseIndex": 1,
            "HangupDate": "2026-11-26T14:05:20+03:30", "IsLive": false,
        ])

        let endedStep = script.event(.callEnded, at: "2026-11-26T14:06:20+03:30") { $0.disposition = .answered; $0.durationSec = 60 }
        let ended = drive(delivery(endedStep, state: try XCTUnwrap(answered.callState), session: session), [ok(), ok(), ok()], now: now)
        let endSummary = ended.requests.map { request -> String in
            let body = jsonObject(request.body)
            return "\(request.method.rawValue) \(request.path) \(body?["CallChannelId"] ?? body?["CallId"] ?? "-")"
        }
        XCTAssertEqual(endSummary, ["PUT /api/v1/telephony/channel 50", "PUT /api/v1/telephony/channel 52", "PUT /api/v1/telephony/call 5"])
        XCTAssertEqual(jsonObject(ended.requests[2].body)?["CallTypeIndex"] as? Int, 2)
    }

    func testOutboundKnownOnlyAtItsEndIsCreatedAndClosedInOneGo() throws {
        var script = CallScript(callId: "c-out")
        let step = script.event(.callEnded, at: "2026-11-26T18:02:10+03:30") {
            $0.direction = .outbound
            $0.to = "+989123951418"
            $0.extension = "206"
            $0.line = "01"
            $0.disposition = .answered
            $0.startedAt = time("2026-11-26T18:01:35+03:30")
            $0.durationSec = 35
        }
        let result = drive(delivery(step), [
            tokenAnswer, ok(#"{"CallId":900,"InitChannelId":901}"#), ok(#"{"CallChannelId":902}"#), ok(), ok(), ok(),
        ], now: now)
        XCTAssertEqual(result.requests.count, 6)
        assertJSONRequest(result.requests[1], .post, "/api/v1/telephony/call", body: [
            "TsKey": "TEH-PBX", "SourceId": "c-out", "PhoneNumber": "09123951418", "StartDate": "2026-11-26T18:01:35+03:30",
            "CallTypeIndex": 3, "InitChannelPeerName": "206", "InitChannelPeerTypeIndex": 1,
            "InitChannelSourceId": "c-out/ext/206", "IsLive": false,
        ])
        assertJSONRequest(result.requests[2], .post, "/api/v1/telephony/channel", body: [
            "CallId": 900, "ChannelPeerName": "01", "ChannelPeerTypeIndex": 2, "ChannelSourceId": "c-out/trunk/01",
            "ChannelStatusIndex": 4, "CreateDate": "2026-11-26T18:01:35+03:30", "IsLive": false,
        ])
        // SMDR gives no answer time, so no ConnectDate is invented.
        assertJSONRequest(result.requests[3], .put, "/api/v1/telephony/channel", body: [
            "CallChannelId": 901, "ChannelStatusIndex": 4, "ChannelResponseIndex": 2,
            "HangupDate": "2026-11-26T18:02:10+03:30", "IsLive": false,
        ])
        assertJSONRequest(result.requests[4], .put, "/api/v1/telephony/channel", body: [
            "CallChannelId": 902, "ChannelStatusIndex": 4, "ChannelResponseIndex": 2,
            "HangupDate": "2026-11-26T18:02:10+03:30", "IsLive": false,
        ])
        assertJSONRequest(result.requests[5], .put, "/api/v1/telephony/call", body: [
            "CallId": 900, "EndDate": "2026-11-26T18:02:10+03:30", "PhoneNumber": "09123951418", "CallTypeIndex": 3, "IsLive": false,
        ])
        XCTAssertTrue(result.isDone)
    }

    func testInternalCall() throws {
        var script = CallScript(callId: "c-int")
        let step = script.event(.callEnded, at: "2026-11-26T10:00:30+03:30") {
            $0.direction = .internal
            $0.from = "201"
            $0.to = "202"
            $0.extension = "201"
            $0.answeredBy = "202"
            $0.disposition = .answered
            $0.startedAt = time("2026-11-26T10:00:00+03:30")
            $0.answeredAt = time("2026-11-26T10:00:05+03:30")
            $0.durationSec = 25
        }
        let result = drive(delivery(step, settings: PayamGostarSettings(userName: "admin", password: "pw", numberFormat: .e164)), [
            tokenAnswer, ok(#"{"CallId":3,"InitChannelId":31}"#), ok(#"{"CallChannelId":32}"#), ok(), ok(), ok(),
        ], now: now)
        assertJSONRequest(result.requests[1], .post, "/api/v1/telephony/call", body: [
            "TsKey": "TEH-PBX", "SourceId": "c-int", "PhoneNumber": "202", "StartDate": "2026-11-26T10:00:00+03:30",
            "CallTypeIndex": 4, "InitChannelPeerName": "201", "InitChannelPeerTypeIndex": 1,
            "InitChannelSourceId": "c-int/ext/201", "IsLive": false,
        ])
        XCTAssertEqual(jsonObject(result.requests[2].body)?["ChannelPeerName"] as? String, "202")
        for update in result.requests[3...4] {
            XCTAssertEqual(jsonObject(update.body)?["ChannelResponseIndex"] as? Int, 2)
            XCTAssertEqual(jsonObject(update.body)?["ConnectDate"] as? String, "2026-11-26T10:00:05+03:30")
        }
        XCTAssertEqual(jsonObject(result.requests[5].body)?["CallTypeIndex"] as? Int, 4)
    }

    func testTransferredCallRecordsBothLegs() throws {
        var script = CallScript(callId: "c-xfer")
        let ringing = drive(delivery(inboundRinging(&script)), [
            tokenAnswer, ok(#"{"CallId":40,"InitChannelId":41}"#), ok(#"{"CallChannelId":42}"#),
        ], now: now)
        let session = try XCTUnwrap(ringing.session)
        let answered = drive(delivery(script.event(.callAnswered, at: "2026-11-26T14:05:12+03:30") { $0.answeredBy = "201" },
                                      state: try XCTUnwrap(ringing.callState), session: session), [ok(), ok()], now: now)
        let endedStep = script.event(.callEnded, at: "2026-11-26T14:09:00+03:30") {
            $0.disposition = .answered
            $0.transferredTo = "205"
            $0.durationSec = 228
        }
        let ended = drive(delivery(endedStep, state: try XCTUnwrap(answered.callState), session: session),
                          [ok(#"{"CallChannelId":43}"#), ok(), ok(), ok(), ok()], now: now)
        assertJSONRequest(ended.requests[0], .post, "/api/v1/telephony/channel", body: [
            "CallId": 40, "ChannelPeerName": "205", "ChannelPeerTypeIndex": 1, "ChannelSourceId": "c-xfer/ext/205",
            "ChannelStatusIndex": 4, "CreateDate": "2026-11-26T14:05:09+03:30", "IsLive": false,
        ])
        assertJSONRequest(ended.requests[2], .put, "/api/v1/telephony/channel", body: [
            "CallChannelId": 42, "ChannelStatusIndex": 4, "ChannelResponseIndex": 4,
            "ConnectDate": "2026-11-26T14:05:12+03:30", "HangupDate": "2026-11-26T14:09:00+03:30", "IsLive": false,
        ])
        assertJSONRequest(ended.requests[3], .put, "/api/v1/telephony/channel", body: [
            "CallChannelId": 43, "ChannelStatusIndex": 4, "ChannelResponseIndex": 2,
            "HangupDate": "2026-11-26T14:09:00+03:30", "IsLive": false,
        ])
        XCTAssertEqual(ended.requests[4].path, "/api/v1/telephony/call")
        XCTAssertEqual(jsonObject(ended.requests[1].body)?["CallChannelId"] as? Int, 41)
        XCTAssertTrue(ended.isDone)
    }

    /// An inbound call answered by 201 that PayamGostar already has, closed: what a recording
    /// arriving after the end finds.
    func answeredAndClosed(_ script: inout CallScript) -> (State, (event: CallEvent, call: CallRecord)) {
        var state = State()
        state.callId = 1
        state.closed = true
        state.channels = [
            ChannelProgress(peer: PeerKey(name: "01", type: .trunk), callChannelId: 10, status: .hangUp, response: .answered),
            ChannelProgress(peer: PeerKey(name: "201", type: .extension), callChannelId: 11, status: .hangUp, response: .answered),
        ]
        _ = inboundRinging(&script)
        _ = script.event(.callAnswered, at: "2026-11-26T14:05:15+03:30") { $0.answeredBy = "201" }
        return (state, script.event(.callEnded, at: "2026-11-26T14:06:00+03:30") { $0.disposition = .answered; $0.durationSec = 45 })
    }

    func testRecordingThatArrivesAfterTheEndIsAddedToTheAnsweringChannel() throws {
        var script = CallScript(callId: "c-rec")
        let (state, ended) = answeredAndClosed(&script)
        let withRecording = script.attach(RecordingLink(ref: "rec-77.wav", agent: "tehran"))
        let result = drive(delivery((ended.event, withRecording), state: state, session: signedIn()), [ok()], now: now)
        assertJSONRequest(result.requests.first, .put, "/api/v1/telephony/channel", bearer: "tok-1", body: [
            "CallChannelId": 11, "ChannelStatusIndex": 4, "ChannelResponseIndex": 2, "RecordedFileName": "rec-77.wav",
            "ConnectDate": "2026-11-26T14:05:15+03:30", "HangupDate": "2026-11-26T14:06:00+03:30", "IsLive": false,
        ])
        XCTAssertEqual(result.callState?.channels.last?.recordingRef, "rec-77.wav")
    }

    func testRecordingLinkGoesInRecordedFileNameAndAFreshLinkForTheSameRecordingIsNotNews() throws {
        var script = CallScript(callId: "c-link")
        let (state, ended) = answeredAndClosed(&script)
        let link = "https://tamas.example.com/recordings/rec-78.wav?expires=1795700000&signature=ab12"
        let withLink = script.attach(RecordingLink(ref: "rec-78.wav", agent: "tehran", url: link))
        let first = drive(delivery((ended.event, withLink), state: state, session: signedIn()), [ok()], now: now)
        XCTAssertEqual(jsonObject(first.requests.first?.body ?? Data())?["RecordedFileName"] as? String, link,
                       "the signed link, so a PayamGostar user can open the recording")
        XCTAssertEqual(first.callState?.channels.last?.recordingRef, "rec-78.wav")

        var later = withLink
        later.recording?.url = "https://tamas.example.com/recordings/rec-78.wav?expires=1795790000&signature=cd34"
        let again = drive(delivery((ended.event, later), state: try XCTUnwrap(first.callState), session: signedIn()), [], now: now)
        XCTAssertEqual(again.requests.count, 0, "links are minted per send; the recording itself was already given")
        XCTAssertTrue(again.isDone)
    }

    // MARK: authentication

    func testExpiredTokenGets401ThenReauthenticatesAndRepeatsTheRequest() throws {
        var script = CallScript(callId: "c-401")
        let result = drive(delivery(inboundRinging(&script), session: signedIn("stale")), [
            status(401),
            ok(#"{"access_token":"tok-2","expires_in":1200}"#),
            ok(#"{"CallId":1,"InitChannelId":2}"#),
            ok(#"{"CallChannelId":3}"#),
        ], now: now)
        XCTAssertEqual(result.requests.map(\.path), [
            "/api/v1/telephony/call", "/api/v1/auth", "/api/v1/telephony/call", "/api/v1/telephony/channel",
        ])
        XCTAssertEqual(result.requests[0].header("Authorization"), "Bearer stale")
        XCTAssertEqual(result.requests[2].header("Authorization"), "Bearer tok-2")
        XCTAssertEqual(result.requests[0].body, result.requests[2].body)
        XCTAssertTrue(result.isDone)
        XCTAssertEqual(result.session?.accessToken, "tok-2")
        XCTAssertEqual(result.session?.expiresAt, now.adding(seconds: 1200))
    }

    func testAbsurdTokenLifetimeIsCapped() {
        var script = CallScript(callId: "c-life")
        let result = drive(delivery(inboundRinging(&script)), [
            ok(#"{"access_token":"tok-9","expires_in":9223372036854775807}"#), ok(#"{"CallId":1,"InitChannelId":2}"#), ok(#"{"CallChannelId":3}"#),
        ], now: now)
        XCTAssertEqual(result.session?.expiresAt, now.adding(seconds: 30 * 86_400))
    }

    func testTokenIsRenewedBeforeItExpiresWithoutWaitingFor401() throws {
        var script = CallScript(callId: "c-renew")
        var session = signedIn("old")
        session.expiresAt = now.adding(seconds: 30)
        let result = drive(delivery(inboundRinging(&script), session: session), [
            tokenAnswer, ok(#"{"CallId":1,"InitChannelId":2}"#), ok(#"{"CallChannelId":3}"#),
        ], now: now)
        XCTAssertEqual(result.requests.first?.path, "/api/v1/auth")
        XCTAssertEqual(result.requests[1].header("Authorization"), "Bearer tok-1")
    }

    func testPersistent401AfterFreshTokenIsAuthFailed() throws {
        var script = CallScript(callId: "c-401b")
        let result = drive(delivery(inboundRinging(&script), session: signedIn("stale")),
                           [status(401), tokenAnswer, status(401)], now: now)
        guard case .authFailed(let reason, _, let session) = result.action else { return XCTFail("expected authFailed, got \(result.action)") }
        XCTAssertTrue(reason.contains("401"))
        XCTAssertNil(session.accessToken)
    }

    func testWrongPasswordIsAuthFailed() throws {
        for code in [400, 401] {
            var script = CallScript(callId: "c-pw-\(code)")
            let result = drive(delivery(inboundRinging(&script)),
                               [status(code, #"{"error":"invalid_grant","error_description":"Username or password is not valid."}"#)], now: now)
            guard case .authFailed(let reason, let state, _) = result.action else { return XCTFail("\(code): expected authFailed, got \(result.action)") }
            XCTAssertTrue(reason.contains("user name or password"), reason)
            XCTAssertFalse(reason.contains(settings.password))
            XCTAssertNil(state.callId)
        }
    }

    func testLockedOutUserIsAuthFailed() {
        var script = CallScript(callId: "c-403")
        let result = drive(delivery(inboundRinging(&script)), [status(403)], now: now)
        guard case .authFailed(let reason, _, _) = result.action else { return XCTFail("expected authFailed, got \(result.action)") }
        XCTAssertTrue(reason.contains("locked out"))
    }

    func testForbiddenApiCallIsAuthFailed() {
        var script = CallScript(callId: "c-403b")
        let result = drive(delivery(inboundRinging(&script), session: signedIn()), [status(403)], now: now)
        guard case .authFailed = result.action else { return XCTFail("expected authFailed, got \(result.action)") }
    }

    // MARK: failures

    func testServerErrorIsRetriedHonouringRetryAfterAndKeepsProgress() throws {
        var script = CallScript(callId: "c-500")
        let result = drive(delivery(inboundRinging(&script), session: signedIn()), [
            ok(#"{"CallId":77,"InitChannelId":78}"#), status(503, "busy", headers: [HTTPHeader("Retry-After", "120")]),
        ], now: now)
        guard case .retry(let reason, let after, let state, _) = result.action else { return XCTFail("expected retry, got \(result.action)") }
        XCTAssertEqual(after, 120)
        XCTAssertTrue(reason.contains("503"))
        XCTAssertEqual(state.callId, 77, "the call created before the failure must be remembered")

        let retried = drive(delivery(inboundRinging(&script), state: state, session: signedIn()), [ok(#"{"CallChannelId":79}"#)], now: now)
        XCTAssertEqual(retried.requests.map(\.path), ["/api/v1/telephony/channel"], "the retry must not create the call again")
        XCTAssertTrue(retried.isDone)
    }

    func testPlain500IsRetriedWithoutDelayHint() {
        var script = CallScript(callId: "c-500b")
        let result = drive(delivery(inboundRinging(&script), session: signedIn()), [status(500)], now: now)
        guard case .retry(_, let after, let state, _) = result.action else { return XCTFail("expected retry, got \(result.action)") }
        XCTAssertNil(after)
        XCTAssertEqual(state.unconfirmedCreateAttempts, 1)
    }

    func testBadRequestIsRejectedWithAnExcerpt() {
        var script = CallScript(callId: "c-400")
        let result = drive(delivery(inboundRinging(&script), session: signedIn()), [
            ok(#"{"CallId":5,"InitChannelId":6}"#), status(400, #"{"Message":"ChannelPeerName is invalid"}"#),
        ], now: now)
        guard case .rejected(let code, let reason, let excerpt, let state, _) = result.action else {
            return XCTFail("expected rejected, got \(result.action)")
        }
        XCTAssertEqual(code, 400)
        XCTAssertTrue(reason.contains("channel of 201"), reason)
        XCTAssertEqual(excerpt, #"{"Message":"ChannelPeerName is invalid"}"#)
        XCTAssertEqual(state.callId, 5)
    }

    func testRetryAfterLostChannelAnswerDoesNotCreateASecondCall() throws {
        var script = CallScript(callId: "c-lost")
        let first = drive(delivery(inboundRinging(&script)), [tokenAnswer, ok(#"{"CallId":8,"InitChannelId":80}"#), .timedOut], now: now)
        guard case .retry(_, _, let state, let session) = first.action else { return XCTFail("expected retry, got \(first.action)") }
        XCTAssertEqual(state.callId, 8)
        let second = drive(delivery(inboundRinging(&script), state: state, session: session), [ok(#"{"CallChannelId":81}"#)], now: now)
        XCTAssertEqual(second.requests.map(\.path), ["/api/v1/telephony/channel"])
        XCTAssertEqual(second.callState?.possibleDuplicateCalls, 0)
    }

    /// PayamGostar has no lookup by SourceId, so a CallCreate whose answer was lost cannot be
    /// checked: the retry creates again and the state says a duplicate may exist (docs/crm.md).
    func testRetryAfterLostCreateAnswerRecordsThePossibleDuplicate() throws {
        var script = CallScript(callId: "c-lost-create")
        let first = drive(delivery(inboundRinging(&script)), [tokenAnswer, .transportFailed(reason: "connection reset")], now: now)
        guard case .retry(let reason, _, let state, let session) = first.action else { return XCTFail("expected retry, got \(first.action)") }
        XCTAssertTrue(reason.contains("connection reset"))
        XCTAssertEqual(state.unconfirmedCreateAttempts, 1)
        let second = drive(delivery(inboundRinging(&script), state: state, session: session),
                           [ok(#"{"CallId":9,"InitChannelId":90}"#), ok(#"{"CallChannelId":91}"#)], now: now)
        XCTAssertEqual(second.requests.map(\.path), ["/api/v1/telephony/call", "/api/v1/telephony/channel"])
        XCTAssertEqual(second.callState?.possibleDuplicateCalls, 1)
        XCTAssertEqual(second.callState?.unconfirmedCreateAttempts, 0)
    }

    func testUnreadableCreateAnswerIsParkedNotRetried() {
        var script = CallScript(callId: "c-garbage")
        let result = drive(delivery(inboundRinging(&script), session: signedIn()), [ok("<html>oops</html>")], now: now)
        guard case .rejected(let code, _, let excerpt, _, _) = result.action else { return XCTFail("expected rejected, got \(result.action)") }
        XCTAssertEqual(code, 200)
        XCTAssertEqual(excerpt, "<html>oops</html>")
    }

    // MARK: peers, other events, secrets

    func testPeerAutoRegistrationLooksUpThenCreatesAndRemembers() throws {
        var script = CallScript(callId: "c-peers")
        let registering = PayamGostarSettings(userName: "admin", password: "pw", registerPeers: true)
        let result = drive(delivery(inboundRinging(&script), session: signedIn(), settings: registering), [
            status(404), ok(#"{"Id":"0b5e8d4e-0000-0000-0000-000000000001","Name":"01","TelephonySystemPeerType":2}"#),
            ok(#"{"Id":"0b5e8d4e-0000-0000-0000-000000000002","Name":"201","TelephonySystemPeerType":1}"#),
            ok(#"{"CallId":1,"InitChannelId":2}"#), ok(#"{"CallChannelId":3}"#),
        ], now: now)
        assertJSONRequest(result.requests[0], .get, "/api/v1/telephony/TEH-PBX/peer/01", bearer: "tok-1", body: nil)
        assertJSONRequest(result.requests[1], .post, "/api/v1/telephony/TEH-PBX/peer", body: [
            "Name": "01", "TelephonySystemPeerType": 2,
        ])
        assertJSONRequest(result.requests[2], .get, "/api/v1/telephony/TEH-PBX/peer/201", body: nil)
        XCTAssertEqual(result.requests[3].path, "/api/v1/telephony/call")
        XCTAssertEqual(result.session?.registeredPeers, ["TEH-PBX/Trunk/01", "TEH-PBX/Extension/201"])

        let answered = drive(delivery(script.event(.callAnswered, at: "2026-11-26T14:05:15+03:30") { $0.answeredBy = "201" },
                                      state: try XCTUnwrap(result.callState), session: try XCTUnwrap(result.session), settings: registering),
                             [ok(), ok()], now: now)
        XCTAssertEqual(answered.requests.map(\.path), ["/api/v1/telephony/channel", "/api/v1/telephony/channel"])
    }

    func testNonCallEventsSendNothing() {
        let event = CallEvent(eventId: "e1", type: .agentStatus, systemKey: "TEH-PBX", source: "smdr", at: now, state: "connected")
        let result = drive(PayamGostarDelivery(settings: settings, event: event, call: nil, callState: State(), session: Session()), [], now: now)
        XCTAssertTrue(result.requests.isEmpty)
        XCTAssertTrue(result.isDone)
    }

    func testCallWithoutDirectionIsRejectedLocally() {
        var script = CallScript(callId: "c-nodir")
        let step = script.event(.callRinging, at: "2026-11-26T14:05:09+03:30") { $0.from = "+989121234567" }
        let result = drive(delivery(step), [], now: now)
        guard case .rejected(0, let reason, _, _, _) = result.action else { return XCTFail("expected a local rejection, got \(result.action)") }
        XCTAssertTrue(reason.contains("no direction"))
    }

    func testSecretsNeverAppearInDescriptions() {
        var script = CallScript(callId: "c-secret")
        var machine = delivery(inboundRinging(&script))
        let first = machine.start(now: now)
        let afterToken = machine.received(tokenAnswer, now: now)
        let texts = ["\(first)", "\(afterToken)", "\(machine.session)", "\(settings)"]
        for text in texts {
            XCTAssertFalse(text.contains("s3cret"), text)
            XCTAssertFalse(text.contains("tok-1"), text)
        }
        guard case .send(let auth) = first, case .send(let create) = afterToken else { return XCTFail("expected two requests") }
        XCTAssertTrue(auth.description.contains("redacted"))
        XCTAssertTrue(create.description.contains("Authorization: <redacted>"))
    }
}
