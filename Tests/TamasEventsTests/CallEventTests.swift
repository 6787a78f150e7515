import Foundation
import XCTest
import TamasEvents

final class CallEventTests: XCTestCase {
    func sampleEnded() -> CallEvent {
        let start = Timestamp(iso8601: "2026-11-26T14:05:09+03:30")!
        return CallEvent(
            eventId: StableID.make("smdr", "office1", "line"), type: .callEnded, systemKey: "office1", source: "smdr",
            at: start.adding(seconds: 70), raw: "11/26/26 2:05PM 201 01 <I> 88776655 00:01:10",
            callId: "c1", direction: .inbound, from: "+982188776655", to: "201", extension: "201", line: "01",
            disposition: .answered, startedAt: start, answeredAt: start.adding(seconds: 10),
            endedAt: start.adding(seconds: 70), ringSec: 10, durationSec: 60)
    }

    func testJSONUsesContractNamesAndOmitsAbsentFields() throws {
        let line = try EventJSON().line(sampleEnded())
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["type"] as? String, "call.ended")
        XCTAssertEqual(object["schema"] as? Int, 1)
        XCTAssertEqual(object["startedAt"] as? String, "2026-11-26T14:05:09+03:30")
        XCTAssertEqual(object["disposition"] as? String, "answered")
        XCTAssertNil(object["answeredBy"], "absent optionals are omitted, not null")
        XCTAssertNil(object["recording"])
        XCTAssertFalse(line.contains("\n"))
    }

    func testRoundTrip() throws {
        let json = EventJSON()
        let event = sampleEnded()
        XCTAssertEqual(try json.decode(json.encode(event)), event)
    }

    func testDecodesContractExampleAndRejectsUnknownType() throws {
        let text = #"{"schema":1,"eventId":"e1","type":"call.ringing","systemKey":"K1","source":"jsonl","at":"2026-11-26T14:05:09+03:30","callId":"c","direction":"inbound","from":"+982188776655","extensions":["201","202"],"custom":"kept by the collector"}"#
        let event = try EventJSON().decode(Data(text.utf8))
        XCTAssertEqual(event.extensions, ["201", "202"])
        XCTAssertNoThrow(try event.validate())
        let bad = text.replacingOccurrences(of: "call.ringing", with: "call.exploded")
        XCTAssertThrowsError(try EventJSON().decode(Data(bad.utf8)))
    }

    func testValidationNamesTheField() {
        var event = sampleEnded()
        event.disposition = nil
        XCTAssertThrowsError(try event.validate()) { XCTAssertEqual(($0 as? EventValidationError)?.field, "disposition") }
        event = sampleEnded()
        event.systemKey = "bad key!"
        XCTAssertThrowsError(try event.validate()) { XCTAssertEqual(($0 as? EventValidationError)?.field, "systemKey") }
        event = sampleEnded()
        event.type = .extensionState
        event.state = "sleeping"
        XCTAssertThrowsError(try event.validate()) { XCTAssertEqual(($0 as? EventValidationError)?.field, "state") }
        XCTAssertNoThrow(try sampleEnded().validate())
    }

    /// Events share their fields until one of them changes a field.
    func testCopiesChangeIndependently() {
        let original = sampleEnded()
        var changed = original
        changed.detail = "changed"
        changed.extensions = ["201"]
        XCTAssertNil(original.detail)
        XCTAssertNil(original.extensions)
        XCTAssertNotEqual(changed, original)
        changed.detail = nil
        changed.extensions = nil
        XCTAssertEqual(changed, original)
        XCTAssertEqual(changed.hashValue, original.hashValue)
    }

    func testDigestHashesLikeItsText() {
        var line = StableID.Builder()
        line.append("pbx")
        line.append("07/12/20 11:01    401 06 234                  00:00'13")
        let digest = line.digest
        XCTAssertEqual(digest.id, line.id)
        var event = StableID.Builder()
        event.append(digest)
        event.append("call.ended")
        XCTAssertEqual(event.id, StableID.make(digest.id, "call.ended"))
    }

    /// A source may hand its ids over as digests; read, encoded, compared and hashed, the event
    /// is the one it would be with the same ids as text.
    func testIdsGivenAsDigestsBehaveAsTheirText() throws {
        var line = StableID.Builder()
        line.append("office1")
        line.append("11/26/26 2:05PM 201 01 <I> 88776655 00:01:10")
        var eventKey = StableID.Builder()
        eventKey.append(line.digest)
        eventKey.append("call.ended")
        var asText = sampleEnded()
        asText.eventId = eventKey.id
        asText.callId = line.id
        var asDigests = sampleEnded()
        asDigests.identify(eventId: eventKey.digest, callId: line.digest)
        XCTAssertEqual(asDigests.eventId, eventKey.id)
        XCTAssertEqual(asDigests.callId, line.id)
        XCTAssertEqual(asDigests, asText)
        XCTAssertEqual(asDigests.hashValue, asText.hashValue)
        let json = EventJSON()
        XCTAssertEqual(try json.encode(asDigests), try json.encode(asText))
        XCTAssertEqual(try json.decode(json.encode(asDigests)), asDigests)
        var otherEvent = asDigests
        otherEvent.identify(eventId: line.digest, callId: line.digest)
        XCTAssertNotEqual(otherEvent, asDigests)
        asDigests.identify(eventId: eventKey.digest, callId: nil)
        XCTAssertNil(asDigests.callId)
    }

    func testStableIDs() {
        XCTAssertEqual(StableID.make("a", "b"), StableID.make(["a", "b"]))
        XCTAssertNotEqual(StableID.make("ab", "c"), StableID.make("a", "bc"))
        XCTAssertEqual(StableID.make("x").count, 32)
        XCTAssertEqual(StableID.make(""), "6c62272e07bb014262b821756295c58d", "FNV-1a 128 offset basis for empty input")
        XCTAssertEqual(StableID.make("a"), "d228cb696f1a8caf78912b704e4a8964", "FNV-1a 128 test vector")
    }
}
