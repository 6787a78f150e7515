import ConnectorKit
import Foundation
import PayamGostarConnector
import TamasEvents
import WebhookConnector
import XCTest
import ZammadConnector

/// Random CRM answers (statuses, garbage and mutated bodies, odd Retry-After) against random
/// call lives: every delivery must end within a bounded number of requests, never crash, never
/// leak a secret into a description, never create a PayamGostar call it already created, and
/// behave identically when replayed with the same seed.
final class ConnectorFuzzTests: XCTestCase {
    static let password = "fuzz-pass-Q9"
    static let token = "fuzz-token-7Y"
    let now = time("2026-11-26T14:05:10+03:30")

    func randomOutcome(_ rng: inout SplitMix64, plan: HTTPRequestPlan) -> HTTPOutcome {
        let validBodies = [
            #"{"access_token":"\#(Self.token)","expires_in":3600}"#, #"{"CallId":12,"InitChannelId":13,"IdentityId":null}"#,
            #"{"CallChannelId":14}"#, "{}", "",
        ]
        switch rng.next() % 12 {
        case 0: return .timedOut
        case 1: return .transportFailed(reason: "reset")
        case 2...6:
            let body = plan.path == "/api/v1/auth" ? validBodies[0] : validBodies[Int(rng.next() % UInt64(validBodies.count))]
            return ok(body)
        default:
            let statuses = [200, 201, 204, 302, 400, 401, 403, 404, 408, 409, 429, 500, 502, 503, Int(rng.next() % 600)]
            var body = Data(validBodies[Int(rng.next() % UInt64(validBodies.count))].utf8)
            if !body.isEmpty, rng.next() % 2 == 0 {
                for _ in 0..<(1 + rng.next() % 4) { body[Int(rng.next() % UInt64(body.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            if rng.next() % 4 == 0 { body = Data((0..<(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }) }
            let retryAfter = ["5", "-3", "Thu, 26 Nov 2026 11:00:00 GMT", "\u{0}", "99999999999999999999"][Int(rng.next() % 5)]
            return .response(HTTPResponse(status: statuses[Int(rng.next() % UInt64(statuses.count))],
                                          headers: [HTTPHeader("Retry-After", retryAfter)], body: body))
        }
    }

    func randomCall(_ rng: inout SplitMix64, index: Int) -> [(event: CallEvent, call: CallRecord)] {
        var script = CallScript(callId: "fuzz-\(index)")
        let direction = [Direction.inbound, .outbound, .internal, nil][Int(rng.next() % 4)]
        let extensions = Array(["201", "202", "203", "2040"].prefix(Int(rng.next() % 4)))
        let line: String? = rng.next() % 3 == 0 ? nil : "0\(rng.next() % 9)"
        var steps: [(event: CallEvent, call: CallRecord)] = []
        if rng.next() % 3 != 0 {
            steps.append(script.event(.callRinging, at: "2026-11-26T14:05:09+03:30") {
                $0.direction = direction
                $0.from = rng.next() % 4 == 0 ? nil : "+989121234567"
                $0.to = "201"
                $0.line = line
                $0.extensions = extensions
            })
        }
        let answered = rng.next() % 2 == 0
        if answered, rng.next() % 2 == 0 {
            steps.append(script.event(.callAnswered, at: "2026-11-26T14:05:15+03:30") { $0.answeredBy = extensions.last })
        }
        steps.append(script.event(.callEnded, at: "2026-11-26T14:07:15+03:30") {
            $0.direction = direction
            $0.line = line
            $0.extension = extensions.first
            $0.to = "+989123951418"
            $0.disposition = answered ? .answered : [.missed, .busy, .noAnswer, .failed, .cancelled][Int(rng.next() % 5)]
            $0.transferredTo = rng.next() % 5 == 0 ? "205" : nil
            $0.recording = rng.next() % 3 == 0 ? RecordingLink(ref: "r.wav") : nil
        })
        return steps
    }

    /// Drives one delivery with random answers; returns a transcript for the determinism check.
    func run<Machine: CRMConnector>(_ machine: Machine, _ rng: inout SplitMix64, secrets: [String],
                                    check: (HTTPRequestPlan) -> Void = { _ in }) -> (transcript: [String], action: ConnectorAction<Machine.CallState, Machine.Session>) {
        var machine = machine
        var transcript: [String] = []
        var action = machine.start(now: now)
        var requests = 0
        while case .send(let plan) = action {
            requests += 1
            check(plan)
            XCTAssertTrue(plan.path.hasPrefix("/"))
            transcript.append("\(plan.method.rawValue) \(plan.path) \(plan.body.base64EncodedString())")
            guard requests < 64 else {
                XCTFail("delivery did not end after 64 requests")
                break
            }
            action = machine.received(randomOutcome(&rng, plan: plan), now: now)
        }
        let text = "\(action)"
        for secret in secrets { XCTAssertFalse(text.contains(secret), "secret in \(text)") }
        transcript.append(text)
        return (transcript, action)
    }

    func finalValues<C, S>(_ action: ConnectorAction<C, S>) -> (C, S)? {
        switch action {
        case .send: nil
        case .done(let c, let s), .retry(_, _, let c, let s), .authFailed(_, let c, let s), .rejected(_, _, _, let c, let s): (c, s)
        }
    }

    func fuzzPayamGostar(seed: UInt64) -> [String] {
        var rng = SplitMix64(seed: seed)
        var transcript: [String] = []
        let settings = PayamGostarSettings(userName: "admin", password: Self.password, registerPeers: seed % 2 == 0)
        var session = PayamGostarSession()
        for index in 0..<40 {
            var state = PayamGostarCallState()
            for step in randomCall(&rng, index: index) {
                for _ in 0..<3 {
                    let knownCall = state.callId != nil
                    let result = run(PayamGostarDelivery(settings: settings, event: step.event, call: step.call, callState: state, session: session),
                                     &rng, secrets: [Self.password, Self.token]) { plan in
                        if plan.path == "/api/v1/telephony/call", plan.method == .post, knownCall { XCTFail("seed \(seed): re-create") }
                    }
                    transcript += result.transcript
                    guard let (newState, newSession) = finalValues(result.action) else { break }
                    state = newState
                    session = newSession
                    if case .done = result.action { break }
                }
            }
        }
        return transcript
    }

    func fuzzOthers(seed: UInt64) -> [String] {
        var rng = SplitMix64(seed: seed)
        var transcript: [String] = []
        let webhook = WebhookSettings(secret: Self.password)
        let zammad = ZammadSettings(token: Self.token, userNames: ["201": "A"], includeInternalCalls: seed % 2 == 0)
        for index in 0..<40 {
            var zammadState = ZammadCallState()
            for step in randomCall(&rng, index: index) {
                transcript += run(WebhookDelivery(settings: webhook, event: step.event, call: step.call, callState: NoCallState(), session: NoSession()),
                                  &rng, secrets: [Self.password]).transcript
                let result = run(ZammadDelivery(settings: zammad, event: step.event, call: step.call, callState: zammadState, session: NoSession()),
                                 &rng, secrets: [Self.token]) { plan in XCTAssertFalse(plan.description.contains(Self.token)) }
                transcript += result.transcript
                if let (state, _) = finalValues(result.action) { zammadState = state }
            }
        }
        return transcript
    }

    func testRandomAnswersNeverHangCrashLeakOrRecreate() {
        for seed in UInt64(1)...UInt64(25) {
            let first = fuzzPayamGostar(seed: seed)
            XCTAssertEqual(first, fuzzPayamGostar(seed: seed), "seed \(seed): PayamGostar is not deterministic")
            let others = fuzzOthers(seed: seed)
            XCTAssertEqual(others, fuzzOthers(seed: seed), "seed \(seed): webhook/Zammad are not deterministic")
        }
    }
}
