import Foundation
@testable import TamasEvents
import XCTest

/// The fast JSON path may only ever agree with `JSONDecoder` or decline: checked on the JSON
/// Tamas writes (where it must not decline), on hand-picked edge cases, and on many thousand
/// mutated documents (where whatever it accepts, Foundation must read the same way).
final class FastJSONTests: XCTestCase {
    let eventJSON = EventJSON()
    let plainEncoder = JSONEncoder()
    let foundation = JSONDecoder()

    func testEveryEventTamasWritesIsReadByTheFastPathExactlyAsFoundationReadsIt() throws {
        var random = SplitMix64(seed: 0xFA57)
        for _ in 0..<3000 {
            let event = randomEvent(&random)
            for data in [try eventJSON.encode(event), try plainEncoder.encode(event)] {
                let fast = try XCTUnwrap(CallEvent.fastDecoded(data), String(decoding: data, as: UTF8.self))
                XCTAssertEqual(fast, event)
                XCTAssertEqual(fast, try foundation.decode(CallEvent.self, from: data))
            }
        }
    }

    func testCallRecordsRoundTripThroughBothWritersAndBothReaders() throws {
        var random = SplitMix64(seed: 0xCA11)
        let json = CallRecordJSON()
        for _ in 0..<3000 {
            let call = randomCall(&random)
            let fastWritten = json.encode(call)
            XCTAssertEqual(try foundation.decode(CallRecord.self, from: fastWritten), call, String(decoding: fastWritten, as: UTF8.self))
            XCTAssertEqual(CallRecord.fastDecoded(fastWritten), call)
            XCTAssertEqual(CallRecord.fastDecoded(try plainEncoder.encode(call)), call)
        }
    }

    func testWhatTheFastPathDeclinesFallsBackToFoundation() throws {
        let base = #"{"schema":1,"eventId":"e1","type":"call.ringing","systemKey":"k","source":"smdr","at":"2026-11-26T10:00:00+03:30""#
        let declined = [
            base + #","callId":"c","callId":"d"}"#,
            base + #","custom":"kept by the agent that wrote it"}"#,
            base + #","ringSec":1.0}"#,
            base + #","ringSec":1e3}"#,
            base + #","ringSec":01}"#,
            base + "}x",
            base + #","from":"\ud800"}"#,
            base.replacingOccurrences(of: #""schema":1"#, with: #""schema":null"#) + "}",
            base.replacingOccurrences(of: #""type":"call.ringing""#, with: #""type":"call.exploded""#) + "}",
        ]
        for text in declined {
            XCTAssertNil(CallEvent.fastDecoded(Data(text.utf8)), text)
        }
        let extra = try eventJSON.decode(Data((base + #","custom":{"a":[1,2]}}"#).utf8))
        XCTAssertEqual(extra.eventId, "e1")
        XCTAssertThrowsError(try eventJSON.decode(Data((base + #","ringSec":"ten"}"#).utf8)))

        let spaced = " {\n \"schema\" : 1 , \"eventId\":\"e\\u00e9\\ud83d\\ude00\\/\" ,\"type\":\"call.ended\",\"systemKey\":\"k\",\"source\":\"s\",\"at\":\"2026-11-26T10:00:00Z\",\"from\":null } \n"
        let fast = try XCTUnwrap(CallEvent.fastDecoded(Data(spaced.utf8)))
        XCTAssertEqual(fast, try foundation.decode(CallEvent.self, from: Data(spaced.utf8)))
        XCTAssertEqual(fast.eventId, "eé😀/")
        XCTAssertNil(fast.from)
    }

    func testMutatedDocumentsAreEitherDeclinedOrReadAsFoundationReadsThem() throws {
        var random = SplitMix64(seed: 0xBADC0DE)
        var accepted = 0
        let alphabet = Array(#"{}[]:,"\ 0123456789-.eEnul/abtfru"#.utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xA9, 0xFF]
        for round in 0..<20_000 {
            var bytes = Array(try eventJSON.encode(randomEvent(&random)))
            for _ in 0...Int.random(in: 0..<4, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes[position] = alphabet.randomElement(using: &random) ?? 0
                case 1: bytes.remove(at: position)
                case 2: bytes.insert(alphabet.randomElement(using: &random) ?? 0, at: position)
                default: bytes = Array(bytes[..<position])
                }
                if bytes.isEmpty { bytes = [UInt8(ascii: "{")] }
            }
            let data = Data(bytes)
            guard let fast = CallEvent.fastDecoded(data) else { continue }
            accepted += 1
            XCTAssertEqual(fast, try? foundation.decode(CallEvent.self, from: data),
                           "round \(round): \(String(decoding: data, as: UTF8.self))")
        }
        XCTAssertGreaterThan(accepted, 100, "the mutations should leave some documents valid")
    }

    // MARK: Random values

    func randomText(_ random: inout SplitMix64) -> String {
        let pieces = ["201", "09121234567", "+98", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "\u{1F}", "é", "ی", "😀", "<I>", "'", "00:01'23\""]
        return (0..<Int.random(in: 0...6, using: &random)).map { _ in pieces.randomElement(using: &random) ?? "" }.joined()
    }

    func maybe<Value>(_ random: inout SplitMix64, _ make: (inout SplitMix64) -> Value) -> Value? {
        Bool.random(using: &random) ? make(&random) : nil
    }

    func randomTimestamp(_ random: inout SplitMix64) -> Timestamp {
        let offsets: [Int32] = [0, 12_600, 16_200, -18_000]
        return Timestamp(epochMillis: Int64.random(in: 1_500_000_000_000...1_900_000_000_000, using: &random) / 1000 * 1000,
                         offsetSeconds: offsets.randomElement(using: &random) ?? 0)
    }

    func randomEvent(_ random: inout SplitMix64) -> CallEvent {
        var event = CallEvent(eventId: randomText(&random), type: EventType.allCases.randomElement(using: &random) ?? .callRinging,
                              systemKey: randomText(&random), source: randomText(&random), at: randomTimestamp(&random))
        event.raw = maybe(&random, randomText)
        event.callId = maybe(&random, randomText)
        event.direction = maybe(&random) { Direction.allCases.randomElement(using: &$0) }.flatMap { $0 }
        event.from = maybe(&random, randomText)
        event.to = maybe(&random, randomText)
        event.fromRaw = maybe(&random, randomText)
        event.toRaw = maybe(&random, randomText)
        event.extension = maybe(&random, randomText)
        event.line = maybe(&random, randomText)
        event.extensions = maybe(&random) { random in (0..<Int.random(in: 0...3, using: &random)).map { _ in randomText(&random) } }
        event.answeredBy = maybe(&random, randomText)
        event.disposition = maybe(&random) { Disposition.allCases.randomElement(using: &$0) }.flatMap { $0 }
        event.startedAt = maybe(&random, randomTimestamp)
        event.answeredAt = maybe(&random, randomTimestamp)
        event.endedAt = maybe(&random, randomTimestamp)
        event.ringSec = maybe(&random) { Int.random(in: 0...100_000, using: &$0) }
        event.durationSec = maybe(&random) { Int.random(in: -5...100_000, using: &$0) }
        event.transferredTo = maybe(&random, randomText)
        event.recording = maybe(&random) { random in
            RecordingLink(ref: randomText(&random), agent: maybe(&random, randomText), url: maybe(&random, randomText))
        }
        event.state = maybe(&random, randomText)
        event.peer = maybe(&random, randomText)
        event.ref = maybe(&random, randomText)
        event.format = maybe(&random, randomText)
        event.reason = maybe(&random, randomText)
        event.detail = maybe(&random, randomText)
        return event
    }

    func randomCall(_ random: inout SplitMix64) -> CallRecord {
        var call = CallRecord(systemKey: randomText(&random), callId: randomText(&random), source: randomText(&random))
        call.phase = [.ringing, .answered, .ended].randomElement(using: &random) ?? .ringing
        call.direction = maybe(&random) { Direction.allCases.randomElement(using: &$0) }.flatMap { $0 }
        call.from = maybe(&random, randomText)
        call.to = maybe(&random, randomText)
        call.fromRaw = maybe(&random, randomText)
        call.toRaw = maybe(&random, randomText)
        call.extension = maybe(&random, randomText)
        call.line = maybe(&random, randomText)
        call.extensions = (0..<Int.random(in: 0...4, using: &random)).map { _ in randomText(&random) }
        call.answeredBy = maybe(&random, randomText)
        call.disposition = maybe(&random) { Disposition.allCases.randomElement(using: &$0) }.flatMap { $0 }
        call.startedAt = maybe(&random, randomTimestamp)
        call.answeredAt = maybe(&random, randomTimestamp)
        call.endedAt = maybe(&random, randomTimestamp)
        call.ringSec = maybe(&random) { Int.random(in: 0...100_000, using: &$0) }
        call.durationSec = maybe(&random) { Int.random(in: Int.min / 2...Int.max / 2, using: &$0) }
        call.transferredTo = maybe(&random, randomText)
        call.recording = maybe(&random) { random in
            RecordingLink(ref: randomText(&random), agent: maybe(&random, randomText), url: maybe(&random, randomText))
        }
        call.eventCount = Int.random(in: 0...50, using: &random)
        call.lastEventAt = maybe(&random, randomTimestamp)
        return call
    }
}
