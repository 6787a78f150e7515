import ConnectorKit
import Foundation
import TamasEvents
import XCTest

final class ConnectorKitTests: XCTestCase {
    let now = time("2026-11-26T10:35:10Z")

    func testClassificationTable() {
        let expectations: [(Int, ResponseClass)] = [
            (200, .success), (201, .success), (204, .success), (401, .unauthorized), (403, .forbidden),
            (408, .transient(reason: "HTTP 408", afterSeconds: nil)), (429, .transient(reason: "HTTP 429", afterSeconds: nil)),
            (500, .transient(reason: "HTTP 500", afterSeconds: nil)), (503, .transient(reason: "HTTP 503", afterSeconds: nil)),
            (400, .invalid(status: 400)), (404, .invalid(status: 404)), (409, .invalid(status: 409)), (422, .invalid(status: 422)),
            (302, .transient(reason: "unexpected HTTP 302", afterSeconds: nil)),
        ]
        for (code, expected) in expectations {
            XCTAssertEqual(ResponseClass.of(status(code), now: now), expected, "HTTP \(code)")
        }
        XCTAssertEqual(ResponseClass.of(.timedOut, now: now), .transient(reason: "no answer before the timeout", afterSeconds: nil))
        XCTAssertEqual(ResponseClass.of(.transportFailed(reason: "refused"), now: now),
                       .transient(reason: "transport failure: refused", afterSeconds: nil))
    }

    func testRetryAfterSecondsAndHTTPDate() {
        XCTAssertEqual(RetryAfter.seconds("120", now: now), 120)
        XCTAssertEqual(RetryAfter.seconds(" 0 ", now: now), 0)
        XCTAssertEqual(RetryAfter.seconds("Thu, 26 Nov 2026 10:36:10 GMT", now: now), 60)
        XCTAssertEqual(RetryAfter.seconds("Thu, 26 Nov 2026 10:00:00 GMT", now: now), 0, "a date in the past means now")
        XCTAssertNil(RetryAfter.seconds("soon", now: now))
        XCTAssertNil(RetryAfter.seconds("Thu, 31 Foo 2026 10:36:10 GMT", now: now))
        XCTAssertNil(RetryAfter.seconds("Thu, 31 Nov 2026 10:36:10 GMT", now: now))
        XCTAssertNil(RetryAfter.seconds("Thu, 26 Nov 9223372036854775807 10:36:10 GMT", now: now), "no overflow on absurd years")
        XCTAssertEqual(ResponseClass.of(status(503, headers: [HTTPHeader("retry-after", "7")]), now: now),
                       .transient(reason: "HTTP 503", afterSeconds: 7))
    }

    func testFormEncodingEscapesEverythingButUnreservedCharacters() {
        XCTAssertEqual(String(decoding: FormEncoding.encode([("user[]", "Emma Taylor"), ("p", "a&b=c+d%é")]), as: UTF8.self),
                       "user%5B%5D=Emma+Taylor&p=a%26b%3Dc%2Bd%25%C3%A9")
        XCTAssertEqual(FormEncoding.pathSegment("a b/c"), "a%20b%2Fc")
    }

    func testNumberFormats() {
        let plan = NumberPlan(countryCode: "98")
        XCTAssertEqual(NumberFormat.national.format("+989121234567", plan: plan), "09121234567")
        XCTAssertEqual(NumberFormat.national.format("+442071234567", plan: plan), "00442071234567")
        XCTAssertEqual(NumberFormat.e164.format("+989121234567", plan: plan), "+989121234567")
        XCTAssertEqual(NumberFormat.e164Digits.format("+989121234567", plan: plan), "989121234567")
        XCTAssertEqual(NumberFormat.national.format("201", plan: plan), "201")
    }

    func testBodyExcerptIsShortPrintableAndSecretFree() {
        let long = Data((String(repeating: "x", count: 400) + "secret").utf8)
        let excerpt = BodyExcerpt.make(long, hiding: ["secret"])
        XCTAssertEqual(excerpt.count, BodyExcerpt.limit + 1)
        XCTAssertTrue(excerpt.hasSuffix("…"))
        XCTAssertEqual(BodyExcerpt.make(Data("pw=secret\u{0}\u{7}".utf8), hiding: ["secret"]), "pw=<redacted>  ")
        XCTAssertEqual(BodyExcerpt.make(Data([0xFF, 0xFE, 0x41])), "\u{FFFD}\u{FFFD}A")
    }

    func testPlanDescriptionHidesAuthorizationAndSecretBodies() {
        let plan = HTTPRequestPlan(method: .post, path: "/x/TOKEN", headers: [HTTPHeader("Authorization", "Bearer abc")],
                                   body: Data("password=pw".utf8), timeoutSeconds: 5, pathForLogs: "/x/<token>", bodyIsSecret: true)
        XCTAssertEqual(plan.description, "POST /x/<token> [Authorization: <redacted>] <11 bytes redacted>")
    }
}
