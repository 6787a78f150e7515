@testable import AMIProtocol
import Foundation
import TamasEvents
import TestSupport
import XCTest

final class FramerTests: XCTestCase {
    private func frames(_ chunks: [[UInt8]], framer: AMIFramer = AMIFramer()) -> [AMIFrame] {
        var framer = framer
        var out: [AMIFrame] = []
        for chunk in chunks { out += framer.push(chunk) }
        return out + framer.finish()
    }

    private func messages(_ frames: [AMIFrame]) -> [AMIMessage] {
        frames.compactMap { if case .message(let message) = $0 { message } else { nil } }
    }

    func testBannerThenMessagesWithCRLFAndLF() {
        let text = "Asterisk Call Manager/2.10.6\r\nResponse: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\nEvent: FullyBooted\nPrivilege: system,all\nStatus: Fully Booted\n\n"
        let out = frames([Wire.bytes(text)])
        XCTAssertEqual(out.first, .banner(line: "Asterisk Call Manager/2.10.6", version: "2.10.6"))
        let parsed = messages(out)
        XCTAssertEqual(parsed.count, 2)
        XCTAssertEqual(parsed[0]["message"], "Authentication accepted")
        XCTAssertEqual(parsed[0].actionID, "1")
        XCTAssertEqual(parsed[1].eventName, "FullyBooted")
        XCTAssertEqual(parsed[1]["status"], "Fully Booted")
    }

    func testByteByByteAndRandomSplitsGiveTheSameFramesAsOneChunk() throws {
        let capture = try Fixtures.data("ami/panoramisk_ast11_originate_with_events.txt")
        let bytes = [UInt8](capture)
        let whole = frames([bytes])
        XCTAssertGreaterThan(messages(whole).count, 700)
        XCTAssertEqual(frames(bytes.map { [$0] }), whole)
        var random = SplitMix64(seed: 7)
        for _ in 0..<5 {
            var chunks: [[UInt8]] = []
            var index = 0
            while index < bytes.count {
                let size = 1 + Int(random.next() % 300)
                chunks.append(Array(bytes[index..<min(bytes.count, index + size)]))
                index += size
            }
            XCTAssertEqual(frames(chunks), whole)
        }
    }

    func testBurstOfManyMessagesInOneChunk() {
        let one = Wire.message([("Event", "Newstate"), ("Channel", "SIP/201-00000001"), ("ChannelState", "5"), ("Uniqueid", "1.1")])
        let out = messages(frames([Wire.bytes(String(repeating: one, count: 10_000))]))
        XCTAssertEqual(out.count, 10_000)
        XCTAssertEqual(out.last?["channelstate"], "5")
    }

    func testOldCommandFollowsOutputKeepsRawLinesWithColons() {
        let text = "Response: Follows\r\nPrivilege: Command\r\nActionID: a1\r\nAsterisk 11.11.0 built by root @ wheezy-farm on 2014-08-06 19:30:37 UTC\r\nChannel              Location\r\n\r\n0 active calls\r\n--END COMMAND--\r\n\r\n"
        let parsed = messages(frames([Wire.bytes(text)]))
        XCTAssertEqual(parsed.count, 1)
        XCTAssertEqual(parsed[0].actionID, "a1")
        XCTAssertEqual(AMICommandOutput.lines(of: parsed[0]), [
            "Asterisk 11.11.0 built by root @ wheezy-farm on 2014-08-06 19:30:37 UTC", "Channel              Location", "", "0 active calls",
        ])
    }

    func testNewCommandOutputHeaders() {
        let text = "Response: Success\r\nActionID: a2\r\nMessage: Command output follows\r\nOutput: Asterisk 18.26.4 built by x\r\nOutput: second: line\r\n\r\n"
        let parsed = messages(frames([Wire.bytes(text)]))
        XCTAssertEqual(AMICommandOutput.lines(of: parsed[0]), ["Asterisk 18.26.4 built by x", "second: line"])
    }

    func testMalformedLineIsReportedAndTheMessageStillDelivered() {
        let text = "Event: Hangup\r\nthis line has no separator\r\nUniqueid: 1.5\r\n\r\n"
        let out = frames([Wire.bytes(text)])
        XCTAssertTrue(out.contains(.unparsed(raw: "this line has no separator", reason: "AMI line without 'Key: Value' separator")))
        XCTAssertEqual(messages(out).first?["uniqueid"], "1.5")
    }

    func testOverlongLineIsReportedTruncatedAndItsMessageSkipped() {
        var framer = AMIFramer(maxLineBytes: 1024, maxMessageBytes: 4096)
        let long = "Event: VarSet\r\nValue: " + String(repeating: "x", count: 100_000) + "\r\n\r\n"
        let next = Wire.message([("Event", "Hangup"), ("Uniqueid", "9.9")])
        var out: [AMIFrame] = []
        for chunk in stride(from: 0, to: long.utf8.count, by: 333).map({ Array(Array(long.utf8)[$0..<min(long.utf8.count, $0 + 333)]) }) {
            out += framer.push(chunk)
        }
        out += framer.push(Wire.bytes(next))
        let reports = out.compactMap { if case .unparsed(let raw, let reason) = $0 { (raw, reason) } else { nil } }
        XCTAssertEqual(reports.count, 1)
        XCTAssertLessThanOrEqual(reports[0].0.utf8.count, AMIFramer.reportedBytes)
        XCTAssertTrue(reports[0].1.contains("longer than 1024"))
        XCTAssertEqual(messages(out).map { $0["uniqueid"] }, ["9.9"])
    }

    func testOverlongMessageIsReportedAndSkipped() {
        var framer = AMIFramer(maxLineBytes: 1024, maxMessageBytes: 2048)
        var text = "Event: Newexten\r\n"
        for index in 0..<200 { text += "Key\(index): value\r\n" }
        text += "\r\n" + Wire.message([("Event", "Hangup"), ("Uniqueid", "2.2")])
        let out = framer.push(Wire.bytes(text))
        XCTAssertEqual(out.filter { if case .unparsed = $0 { true } else { false } }.count, 1)
        XCTAssertEqual(messages(out).map { $0["uniqueid"] }, ["2.2"])
    }

    func testDroppedEventsAreSkippedRightAfterTheEventLine() {
        let framer = AMIFramer(droppedEvents: ["VarSet", "Newexten"])
        let text = Wire.message([("Event", "VarSet"), ("Variable", "X"), ("Value", "1")])
            + Wire.message([("Event", "Newexten"), ("Extension", "s")])
            + Wire.message([("Event", "Hangup"), ("Uniqueid", "3.3")])
        var copy = framer
        let out = copy.push(Wire.bytes(text))
        XCTAssertEqual(messages(out).map { $0.eventName }, ["Hangup"])
        XCTAssertEqual(copy.droppedEventCount, 2)
    }

    func testCaseInsensitiveKeysAndValueComparison() {
        let parsed = messages(frames([Wire.bytes("EVENT: Dial\r\nUniqueID: 4.4\r\nSubEvent: end\r\n\r\n")]))
        XCTAssertEqual(parsed[0]["uniqueid"], "4.4")
        XCTAssertTrue(parsed[0].value("subevent", is: "End"))
    }

    func testInvalidUTF8IsKeptAsLatin1() {
        let bytes: [UInt8] = Array("Event: Newchannel\r\nCallerIDName: ".utf8) + [0xE9, 0xFF] + Array("\r\n\r\n".utf8)
        XCTAssertEqual(messages(frames([bytes])).first?["calleridname"], "\u{E9}\u{FF}")
    }
}
