import SMDRProtocol
import TamasEvents
import XCTest

/// End to end: a generated stream decodes to exactly the calls the generator says it holds.
final class SMDRTrafficGeneratorTests: XCTestCase {
    private let start = Timestamp(epochMillis: 1_767_225_600_000)

    func testEveryLayoutDecodesToTheExpectedCalls() {
        let cases: [(SMDRModel, SMDRLayout, SMDRDateOrder)] = [
            (.kxTDE100, .patternA, .dayMonthYear), (.kxNS500, .patternB, .yearMonthDay),
            (.kxTDA600, .patternC, .dayMonthYear), (.kxTES824, .style824, .monthDayYear),
            (.kxTA824, .style824, .dayMonthYear),
        ]
        for (model, layout, order) in cases {
            let traffic = SMDRTrafficGenerator(model: model, layout: layout, dateFormat: order, seed: 11, start: start,
                                               callCount: 1500).generate()
            var decoder = SMDRDecoder(settings: SMDRSettings(systemKey: "gen", model: model, dateFormat: order))
            let events = decoder.receive(traffic.bytes, now: start) + decoder.finish(now: start)
            let label = "\(model.rawValue) \(layout.rawValue)"
            XCTAssertEqual(events.filter { $0.type == .lineUnparsed }.map { $0.raw ?? "" }, [], label)
            let calls = SMDRStabilityTests.collectorCalls(events)
            let counts = calls.reduce(into: [String: Int]()) {
                $0["\($1.direction?.rawValue ?? "-")/\($1.disposition?.rawValue ?? "-")", default: 0] += 1
            }
            XCTAssertEqual(counts, traffic.counts, label)
            let decoded = calls.map { SMDRExpectedCall.summary($0.direction, $0.disposition, $0.answeredBy, $0.transferredTo) }
            let expected = traffic.calls.map { SMDRExpectedCall.summary($0.direction, $0.disposition, $0.answeredBy, $0.transferredTo) }
            XCTAssertEqual(decoded.sorted(), expected.sorted(), label)
        }
    }

    func testSameSeedSameStreamOtherSeedOtherStream() {
        let first = SMDRTrafficGenerator(model: .kxTDE200, seed: 1, start: start, callCount: 200).generate()
        XCTAssertEqual(first.lines, SMDRTrafficGenerator(model: .kxTDE200, seed: 1, start: start, callCount: 200).generate().lines)
        XCTAssertNotEqual(first.lines, SMDRTrafficGenerator(model: .kxTDE200, seed: 2, start: start, callCount: 200).generate().lines)
        XCTAssertEqual(first.calls.count, 200)
        XCTAssertTrue(first.lines.contains { $0.hasPrefix("  Date") }, "page headers are part of the stream")
    }
}

extension SMDRExpectedCall {
    static func summary(_ direction: Direction?, _ disposition: Disposition?, _ answeredBy: String?, _ transferredTo: String?) -> String {
        [direction?.rawValue, disposition?.rawValue, direction == .inbound ? answeredBy : nil, transferredTo]
            .map { $0 ?? "-" }.joined(separator: " ")
    }
}

extension SMDRStabilityTests {
    static func collectorCalls(_ events: [CallEvent]) -> [CallRecord] {
        var seen = Set<String>()
        return Array(SMDRCallTests.calls(events.filter { seen.insert($0.eventId).inserted }).values)
    }
}
