import Foundation
import XCTest
import TamasEvents
@testable import CallerIDProtocol

final class CallerIDTrafficGeneratorTests: XCTestCase {
    func testGeneratedTrafficDecodesToTheExpectedCalls() {
        let generator = CallerIDTrafficGenerator(seed: 2026, lines: 4, calls: 60, ringTimeoutSeconds: 10)
        let traffic = generator.generate()
        XCTAssertEqual(traffic.expectedCalls.count, 60)
        XCTAssertEqual(Set(traffic.expectedCalls.map(\.kind)).count, 3, "all three kinds are generated")
        var decoder = CallerIDDecoder(settings: segalSettings { $0.ringTimeoutSeconds = 10 })
        var events: [CallEvent] = []
        for chunk in traffic.chunks {
            let now = Timestamp(epochMillis: testStart.epochMillis + Int64(chunk.offsetMillis), offsetSeconds: testStart.offsetSeconds)
            events += decoder.tick(now: now)
            events += decoder.receive(chunk.bytes, now: now)
        }
        events += decoder.finish(now: Timestamp(epochMillis: testStart.epochMillis + Int64(traffic.quietAfterMillis), offsetSeconds: testStart.offsetSeconds))
        XCTAssertEqual(events.filter { $0.type == .lineUnparsed }, [])
        let calls = calls(in: events).sorted { ($0.startedAt ?? testStart, $0.line ?? "") < ($1.startedAt ?? testStart, $1.line ?? "") }
        let numbers = CallerIDNumbers(plan: segalSettings().numberPlan)
        XCTAssertEqual(calls.count, traffic.expectedCalls.count)
        var unmatched = calls
        for expected in traffic.expectedCalls {
            let direction: Direction = expected.kind == .outbound ? .outbound : .inbound
            let number = numbers.normalize(expected.numberRaw, direction: direction)
            guard let index = unmatched.firstIndex(where: {
                $0.line == expected.line && $0.direction == direction && (direction == .inbound ? $0.from : $0.to) == number
                    && $0.durationSec == expected.durationSec
                    && $0.disposition == (expected.kind == .inboundMissed ? .missed : .answered)
            }) else { XCTFail("no decoded call for \(expected)"); continue }
            unmatched.remove(at: index)
        }
        XCTAssertEqual(unmatched.count, 0)
    }

    func testSameSeedSameTrafficDifferentSeedDifferentTraffic() {
        let a = CallerIDTrafficGenerator(seed: 7, lines: 2, calls: 10).generate()
        let b = CallerIDTrafficGenerator(seed: 7, lines: 2, calls: 10).generate()
        let c = CallerIDTrafficGenerator(seed: 8, lines: 2, calls: 10).generate()
        XCTAssertEqual(a.chunks, b.chunks)
        XCTAssertEqual(a.expectedCalls, b.expectedCalls)
        XCTAssertNotEqual(a.bytes, c.bytes)
    }

    func testLinesInterleave() {
        let traffic = CallerIDTrafficGenerator(seed: 3, lines: 3, calls: 30).generate()
        let lineOrder = traffic.chunks.compactMap { String(decoding: $0.bytes, as: UTF8.self).dropFirst().first }
        let switches = zip(lineOrder, lineOrder.dropFirst()).filter { $0 != $1 }.count
        XCTAssertGreaterThan(switches, 10, "records of different lines are mixed, not one call after another")
    }
}
