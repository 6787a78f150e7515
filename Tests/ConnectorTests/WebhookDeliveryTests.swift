import ConnectorKit
import Foundation
import TamasEvents
import TestSupport
import WebhookConnector
import XCTest

final class WebhookDeliveryTests: XCTestCase {
    let settings = WebhookSettings(path: "/hooks/tamas", secret: "whsec-Zx81!")
    let now = time("2026-11-26T14:05:10+03:30")

    func answeredCall() -> (event: CallEvent, call: CallRecord) {
        var script = CallScript(callId: "c-hook")
        _ = script.event(.callRinging, at: "2026-11-26T14:05:09+03:30") {
            $0.direction = .inbound
            $0.from = "+989121234567"
            $0.line = "01"
            $0.extensions = ["201"]
        }
        return script.event(.callAnswered, at: "2026-11-26T14:05:15+03:30") { $0.answeredBy = "201" }
    }

    func delivery(_ step: (event: CallEvent, call: CallRecord)) -> WebhookDelivery {
        WebhookDelivery(settings: settings, event: step.event, call: step.call, callState: NoCallState(), session: NoSession())
    }

    func testRequestCarriesEventCallAndSignedHeaders() throws {
        let step = answeredCall()
        let result = drive(delivery(step), [ok()], now: now)
        XCTAssertTrue(result.isDone)
        let request = try XCTUnwrap(result.requests.first)
        XCTAssertEqual(result.requests.count, 1)
        XCTAssertEqual(request.method, .post)
        XCTAssertEqual(request.path, "/hooks/tamas")
        XCTAssertEqual(request.header("Content-Type"), "application/json")
        XCTAssertEqual(request.header("Idempotency-Key"), step.event.eventId)
        XCTAssertEqual(request.header("X-Tamas-Timestamp"), "1795689310")
        let payload = try JSONDecoder().decode(WebhookPayload.self, from: request.body)
        XCTAssertEqual(payload.event, step.event)
        XCTAssertEqual(payload.call, step.call)
        let object = try XCTUnwrap(jsonObject(request.body))
        XCTAssertEqual(Set(object.allKeys.compactMap { $0 as? String }), ["event", "call"])
        XCTAssertEqual((object["event"] as? NSDictionary)?["type"] as? String, "call.answered")
        XCTAssertEqual((object["call"] as? NSDictionary)?["answeredBy"] as? String, "201")
        XCTAssertEqual(request.header("X-Tamas-Signature"),
                       WebhookSignature.sign(body: request.body, timestamp: 1_795_689_310, secret: settings.secret))
    }

    /// RFC 4231 test case 2 pins the primitive to standard HMAC-SHA256; the header is that over `<ts>.<body>`.
    func testSignatureIsStandardHMACSHA256OverTimestampDotBody() {
        XCTAssertEqual(WebhookSignature.hmacHex(message: Data("what do ya want for nothing?".utf8), secret: "Jefe"),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(WebhookSignature.sign(body: Data("ya want for nothing?".utf8), timestamp: 1_795_689_310, secret: "Jefe"),
                       "sha256=" + WebhookSignature.hmacHex(message: Data("1795689310.ya want for nothing?".utf8), secret: "Jefe"))
    }

    func testPythonExampleVerifiesWhatSwiftSigned() throws {
        let result = drive(delivery(answeredCall()), [ok()], now: now)
        let request = try XCTUnwrap(result.requests.first)
        let timestamp = try XCTUnwrap(request.header("X-Tamas-Timestamp"))
        let signature = try XCTUnwrap(request.header("X-Tamas-Signature"))

        XCTAssertEqual(try runVerifier(body: request.body, timestamp: timestamp, signature: signature, now: 1_795_689_320), 0)
        var tampered = request.body
        tampered[tampered.count - 2] ^= 0x01
        XCTAssertEqual(try runVerifier(body: tampered, timestamp: timestamp, signature: signature, now: 1_795_689_320), 1)
        XCTAssertEqual(try runVerifier(body: request.body, timestamp: timestamp, signature: signature, now: 1_795_689_310 + 301), 1,
                       "outside the 300 s replay window")
        XCTAssertEqual(try runVerifier(body: request.body, timestamp: timestamp, signature: signature, now: 1_795_689_320,
                                       secret: "another secret"), 1)
    }

    private func runVerifier(body: Data, timestamp: String, signature: String, now: Int, secret: String? = nil) throws -> Int32 {
        let script = Fixtures.repositoryRoot.appendingPathComponent("docs/examples/verify_webhook.py")
        return try runToolAllowingFailure(
            "/usr/bin/env", ["python3", script.path, "--timestamp", timestamp, "--signature", signature, "--now", String(now)],
            environment: ["TAMAS_WEBHOOK_SECRET": secret ?? settings.secret], input: body).status
    }

    func testRetryOfTheSameEventKeepsItsIdempotencyKeyAndSignsAFreshTimestamp() throws {
        let step = answeredCall()
        let first = drive(delivery(step), [status(502)], now: now)
        let later = now.adding(seconds: 90)
        let second = drive(delivery(step), [ok(status: 204)], now: later)
        XCTAssertEqual(first.requests.first?.header("Idempotency-Key"), second.requests.first?.header("Idempotency-Key"))
        XCTAssertEqual(first.requests.first?.body, second.requests.first?.body)
        XCTAssertEqual(second.requests.first?.header("X-Tamas-Timestamp"), String(later.epochSeconds))
        XCTAssertNotEqual(first.requests.first?.header("X-Tamas-Signature"), second.requests.first?.header("X-Tamas-Signature"))
        XCTAssertTrue(second.isDone)
    }

    func testResponseClassification() {
        let step = answeredCall()
        guard case .retry(_, 30, _, _) = drive(delivery(step), [status(429, headers: [HTTPHeader("Retry-After", "30")])], now: now).action
        else { return XCTFail("429 must be retried after 30 s") }
        guard case .retry(_, nil, _, _) = drive(delivery(step), [status(500)], now: now).action else { return XCTFail("500 must be retried") }
        guard case .retry = drive(delivery(step), [.timedOut], now: now).action else { return XCTFail("a timeout must be retried") }
        guard case .rejected(400, _, let excerpt, _, _) = drive(delivery(step), [status(400, "unknown field")], now: now).action
        else { return XCTFail("400 must be rejected") }
        XCTAssertEqual(excerpt, "unknown field")
        guard case .authFailed(let reason, _, _) = drive(delivery(step), [status(401)], now: now).action
        else { return XCTFail("401 must stop the endpoint") }
        XCTAssertFalse(reason.contains(settings.secret))
    }

    func testEventsWithoutACallAreSentWithoutCall() throws {
        let event = CallEvent(eventId: "u1", type: .lineUnparsed, systemKey: "TEH-PBX", source: "smdr", at: now, raw: "garbage", reason: "no date")
        let machine = WebhookDelivery(settings: settings, event: event, call: nil, callState: NoCallState(), session: NoSession())
        let result = drive(machine, [ok()], now: now)
        let object = try XCTUnwrap(jsonObject(try XCTUnwrap(result.requests.first).body))
        XCTAssertNil(object["call"])
        XCTAssertEqual((object["event"] as? NSDictionary)?["reason"] as? String, "no date")
    }
}
