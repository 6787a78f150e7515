import Foundation
import XCTest
import TamasEvents
@testable import CallerIDProtocol

final class CallerIDModemTests: XCTestCase {
    private func modem() -> CallerIDDecoder { CallerIDDecoder(settings: segalSettings { $0.protocol = .modem }) }

    func testCallerIDAfterRingOneTwoOrThreeGivesOneCallWithTheNumber() {
        for ringsBefore in 1...3 {
            var decoder = modem()
            var steps: [(Int, String)] = (0..<ringsBefore).map { ($0 * 5, "RING\r\n") }
            let cidAt = (ringsBefore - 1) * 5 + 2
            steps += [(cidAt, "DATE = 1105\r\n"), (cidAt, "TIME = 2106\r\n"), (cidAt, "NMBR = 09121234567\r\n"), (cidAt, "NAME = Jesse James\r\n")]
            steps.append((ringsBefore * 5, "RING\r\n"))
            let events = feed(&decoder, steps, endAt: 300)
            let calls = calls(in: events)
            XCTAssertEqual(calls.count, 1, "caller ID after ring \(ringsBefore)")
            XCTAssertEqual(calls.first?.from, "+989121234567", "caller ID after ring \(ringsBefore)")
            XCTAssertEqual(calls.first?.disposition, .missed)
            XCTAssertEqual(calls.first?.line, "1")
            XCTAssertEqual(events.filter { $0.type == .lineUnparsed }, [])
        }
    }

    func testRingWithoutCallerIDIsStillACall() {
        var decoder = modem()
        let events = feed(&decoder, [(0, "RING\r\n"), (5, "RING\r\n"), (10, "RING\r\n")], endAt: 300)
        let calls = calls(in: events)
        XCTAssertEqual(calls.count, 1)
        XCTAssertNil(calls.first?.from)
        XCTAssertEqual(events.filter { $0.type == .callRinging }.map(\.at), [testStart.adding(seconds: 10)], "announced at the third ring")
        XCTAssertEqual(calls.first?.disposition, .missed)
        XCTAssertNotNil(events.last?.detail, "a modem cannot see answers; the event says so")
    }

    func testWithheldNumberHasNoFromButKeepsTheRawCode() {
        var decoder = modem()
        let events = feed(&decoder, [(0, "RING\r\n"), (2, "NMBR = P\r\n")], endAt: 300)
        XCTAssertEqual(events.first?.type, .callRinging)
        XCTAssertNil(events.first?.from)
        XCTAssertEqual(events.first?.fromRaw, "P")
    }

    func testPortOpenSendsTheInitString() {
        var decoder = modem()
        XCTAssertEqual(decoder.portOpened(now: testStart), Array("AT+VCID=1\r".utf8))
        XCTAssertEqual(decoder.receive(Array("AT+VCID=1\r\nOK\r\n".utf8), now: testStart), [], "the answer to our init is quiet")
        XCTAssertEqual(decoder.takeBytesToWrite(), [])
        var box = CallerIDDecoder(settings: segalSettings())
        XCTAssertEqual(box.portOpened(now: testStart), [], "Segal boxes need no init")
    }

    func testUnsolicitedOKAfterAResetResendsTheInit() {
        var decoder = modem()
        _ = decoder.portOpened(now: testStart)
        _ = decoder.receive(Array("OK\r\n".utf8), now: testStart)
        let events = decoder.receive(Array("OK\r\n".utf8), now: testStart.adding(seconds: 3600))
        XCTAssertEqual(events.map(\.type), [.agentStatus])
        XCTAssertEqual(events.first?.state, "modemReinit")
        XCTAssertEqual(decoder.takeBytesToWrite(), Array("AT+VCID=1\r".utf8))
        XCTAssertEqual(decoder.receive(Array("OK\r\n".utf8), now: testStart.adding(seconds: 3601)), [], "that OK answers the re-init")
        XCTAssertEqual(decoder.takeBytesToWrite(), [])
    }

    func testRingsWithoutCallerIDResendTheInitOncePerCall() {
        var decoder = modem()
        _ = decoder.portOpened(now: testStart)
        _ = decoder.receive(Array("OK\r\n".utf8), now: testStart)
        let events = feed(&decoder, [(100, "RING\r\n"), (105, "RING\r\n"), (110, "RING\r\n"), (115, "RING\r\n")])
        XCTAssertEqual(events.filter { $0.type == .agentStatus }.map(\.state), ["modemReinit"])
        XCTAssertEqual(decoder.takeBytesToWrite(), Array("AT+VCID=1\r".utf8))
    }

    func testErrorAnswerToTheInitIsReported() {
        var decoder = modem()
        _ = decoder.portOpened(now: testStart)
        let events = decoder.receive(Array("ERROR\r\n".utf8), now: testStart)
        XCTAssertEqual(events.map(\.state), ["modemInitRejected"])
        XCTAssertEqual(decoder.takeBytesToWrite(), [], "no retry loop against a modem that rejects the string")
    }

    func testModemFieldVariants() {
        let parser = CallerIDRecordParser(protocol: .modem)
        XCTAssertEqual(parser.parse("NMBR=4075551212"), [.callerID(line: "1", number: "4075551212")])
        XCTAssertEqual(parser.parse("NBR=0632727751"), [.callerID(line: "1", number: "0632727751")])
        XCTAssertEqual(parser.parse("DDN_NMBR = 88776655"), [.calledNumber(line: "1", number: "88776655")])
        XCTAssertEqual(parser.parse("CID RING"), [.ring(line: "1", count: nil)])
        guard case .unparsed = parser.parse("DATE = 1399")[0] else { return XCTFail("a bad DATE is reported, not a crash (PAINPOINTS 28, #107)") }
        guard case .unparsed = parser.parse("MESG = 060342")[0] else { return XCTFail("MESG carries data the modem did not decode") }
    }
}
