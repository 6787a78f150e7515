import JSONLAgent
import JSONLProtocol
import TamasEvents
import XCTest

final class JSONLDecoderTests: XCTestCase {
    let now = Timestamp(iso8601: "2026-11-26T12:00:00+03:30")!

    func decode(_ text: String, chunk: Int = .max) -> [CallEvent] {
        var decoder = JSONLDecoder(systemKey: "office1")
        let bytes = Array(text.utf8)
        var events: [CallEvent] = []
        var index = 0
        while index < bytes.count {
            events += decoder.receive(Array(bytes[index..<min(index + chunk, bytes.count)]), now: now)
            index += chunk
        }
        return events + decoder.finish(now: now)
    }

    func testDefaultsAreFilledAndIdsComeFromTheLine() throws {
        let line = #"{"type":"call.ended","at":"2026-11-26T10:00:00+03:30","callId":"c1","direction":"outbound","to":"+982188776655","disposition":"answered","startedAt":"2026-11-26T09:59:00+03:30","endedAt":"2026-11-26T10:00:00+03:30","durationSec":50}"#
        let events = decode(line + "\n" + line + "\n")
        XCTAssertEqual(events.count, 2)
        XCTAssertEqual(events[0].systemKey, "office1")
        XCTAssertEqual(events[0].source, "jsonl")
        XCTAssertEqual(events[0].eventId, events[1].eventId, "the same line always has the same id")
        XCTAssertEqual(decode(line, chunk: 3), [events[0]], "any fragmentation, no final newline")
    }

    func testUnusableLinesBecomeUnparsedWithLineAndField() {
        let input = """
            not json
            {"type":"call.ended","at":"2026-11-26T10:00:00+03:30","callId":"c1","direction":"outbound"}

            {"type":"call.ringing","callId":"c2","direction":"inbound"}
            {"type":"call.exploded","at":"2026-11-26T10:00:00Z"}
            {"type":"call.ringing","at":"yesterday","callId":"c3","direction":"inbound"}
            [1,2,3]
            """
        let events = decode(input)
        XCTAssertEqual(events.map(\.type), Array(repeating: .lineUnparsed, count: 6))
        let reasons = events.compactMap(\.reason)
        XCTAssertTrue(reasons[0].hasPrefix("line 1: not a JSON object"), reasons[0])
        XCTAssertTrue(reasons[1].hasPrefix("line 2: disposition"), reasons[1])
        XCTAssertTrue(reasons[2].hasPrefix("line 4: at"), reasons[2])
        XCTAssertTrue(reasons[3].hasPrefix("line 5: type"), reasons[3])
        XCTAssertTrue(reasons[4].contains("ISO 8601"), reasons[4])
        XCTAssertTrue(reasons[5].hasPrefix("line 7"), reasons[5])
        XCTAssertEqual(events[0].raw, "not json")
        XCTAssertTrue(events.allSatisfy { (try? $0.validate()) != nil }, "unparsed events are themselves valid events")
    }
}
