import Foundation
import XCTest
import TamasEvents
@testable import CallerIDProtocol

/// Random bytes and mutated real records, in random fragmentation, through every protocol.
final class CallerIDFuzzTests: XCTestCase {
    private let realRecords = [
        "L1C09191714505@", "L1R01@", "L1HF@", "L1D0@", "L1HND:091219913344 T0257@", "L1HND: T0000@",
        "@www.POSwareSystems.com\r\n", "L2:09121234567@", "L2 hook-off@", "L2 Dialed:0912@", "L2 hook-on@",
        "RING\r\n", "DATE = 1105\r\n", "NMBR = 9495551212\r\n", "NAME = Jesse James\r\n", "OK\r\n",
    ]

    private func input(_ random: inout SplitMix64) -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<(20 + random.below(60)) {
            if random.below(4) == 0 {
                bytes += (0..<random.below(40)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                var record = Array(realRecords[random.below(realRecords.count)].utf8)
                for _ in 0..<random.below(3) where !record.isEmpty {
                    let index = random.below(record.count)
                    switch random.below(3) {
                    case 0: record[index] = UInt8(truncatingIfNeeded: random.next())
                    case 1: record.remove(at: index)
                    default: record.insert(UInt8(truncatingIfNeeded: random.next()), at: index)
                    }
                }
                bytes += record
            }
        }
        return bytes
    }

    private func run(_ bytes: [UInt8], _ settings: CallerIDSettings, _ random: inout SplitMix64) -> [CallEvent] {
        var decoder = CallerIDDecoder(settings: settings)
        var events: [CallEvent] = []
        var offset = 0
        var second = 0
        while offset < bytes.count {
            let size = 1 + random.below(24)
            let end = min(bytes.count, offset + size)
            second += random.below(4)
            let now = testStart.adding(seconds: second)
            events += decoder.tick(now: now)
            events += decoder.receive(Array(bytes[offset..<end]), now: now)
            offset = end
        }
        return events + decoder.finish(now: testStart.adding(seconds: second + 3600))
    }

    func testNoCrashEveryEventValidAndReplayIdentical() throws {
        for iteration in 0..<300 {
            var random = SplitMix64(seed: UInt64(iteration) &* 7919)
            let bytes = input(&random)
            let settings = segalSettings { $0.protocol = CallerIDProtocol.allCases[iteration % 3] }
            let fragmentSeed = random.next()
            var first = SplitMix64(seed: fragmentSeed)
            var second = SplitMix64(seed: fragmentSeed)
            let events = run(bytes, settings, &first)
            XCTAssertEqual(events, run(bytes, settings, &second), "iteration \(iteration)")
            for event in events {
                XCTAssertNoThrow(try event.validate(), "iteration \(iteration): \(event)")
                if event.type == .lineUnparsed { XCTAssertFalse((event.reason ?? "").isEmpty) }
            }
            XCTAssertEqual(Set(events.map(\.eventId)).count, events.count, "iteration \(iteration): ids are distinct")
        }
    }

    func testFragmentationDoesNotChangeEventsAtOneInstant() {
        var random = SplitMix64(seed: 42)
        for iteration in 0..<100 {
            let bytes = input(&random)
            let settings = segalSettings { $0.protocol = CallerIDProtocol.allCases[iteration % 3] }
            var whole = CallerIDDecoder(settings: settings)
            let expected = whole.receive(bytes, now: testStart) + whole.finish(now: testStart)
            var pieces = CallerIDDecoder(settings: settings)
            var actual: [CallEvent] = []
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + 1 + random.below(7))
                actual += pieces.receive(Array(bytes[offset..<end]), now: testStart)
                offset = end
            }
            actual += pieces.finish(now: testStart)
            XCTAssertEqual(actual, expected, "iteration \(iteration)")
        }
    }

    /// Every non-blank record the parser does not recognise must come out as line.unparsed.
    func testEveryUnknownRecordIsReported() {
        var random = SplitMix64(seed: 99)
        for _ in 0..<500 {
            let junk = String((0..<(1 + random.below(12))).map { _ in Character(Unicode.Scalar(UInt8(33 + random.below(90)))) })
                .replacingOccurrences(of: "@", with: "")
            guard !junk.isEmpty else { continue }
            for proto in CallerIDProtocol.allCases {
                let records = CallerIDRecordParser(protocol: proto).parse(junk)
                var decoder = CallerIDDecoder(settings: segalSettings { $0.protocol = proto })
                let events = decoder.receive(Array((junk + "\r\n").utf8), now: testStart)
                let unparsedRecords = records.filter { if case .unparsed = $0 { true } else { false } }.count
                let reported = events.filter { $0.type == .lineUnparsed && $0.raw == junk.trimmingCharacters(in: .whitespaces) }
                XCTAssertEqual(reported.count, unparsedRecords, "\(proto) \(junk)")
            }
        }
    }
}
