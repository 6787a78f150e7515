import SMDRProtocol
import TamasEvents
import XCTest

/// Random bytes and damaged real lines, cut at random places: nothing crashes, every line
/// that is not understood comes out as line.unparsed, and the output does not depend on how
/// the bytes were fragmented.
final class SMDRFuzzTests: XCTestCase {
    private static let lineEnds: [[UInt8]] = [[0x0D], [0x0A], [0x0D, 0x0A], [0x0C]]

    func testRandomAndMutatedInputNeverCrashesAndNeverDropsALine() throws {
        let realLines = try ["italy-pattern-b__gestionecentralino.txt", "tde-kx824__delphi-service.txt",
                             "rs232-variants__lotus-project.txt", "manual-excerpts.txt"].flatMap(SMDRSample.lines)
            .map { Array($0.utf8) }
        var random = SplitMix64(seed: 0x5EED)
        for round in 0..<60 {
            var input: [UInt8] = []
            for _ in 0..<random.int(20...120) {
                input += makeLine(from: realLines, random: &random)
                input += Self.lineEnds[random.int(0...3)]
            }
            let settings = SMDRSettings(systemKey: "fuzz", model: round % 3 == 0 ? .kxTES824 : .auto,
                                        ignoredExtensions: ["601"], groupWindowSeconds: 30)
            let first = feed(input, settings: settings, random: &random)
            let second = feed(input, settings: settings, random: &random)
            XCTAssertEqual(first, second, "round \(round): fragmentation changed the events")
            for event in first { XCTAssertNoThrow(try event.validate(), "round \(round): \(event)") }
            assertEveryUnknownLineIsReported(input, events: first, round: round)
        }
    }

    private func makeLine(from realLines: [[UInt8]], random: inout SplitMix64) -> [UInt8] {
        switch random.int(0...9) {
        case 0...2:
            return (0..<random.int(0...130)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        case 3...4:
            return realLines[random.int(0...(realLines.count - 1))]
        default:
            var line = realLines[random.int(0...(realLines.count - 1))]
            for _ in 0..<random.int(1...6) {
                guard !line.isEmpty else { break }
                let index = random.int(0...(line.count - 1))
                switch random.int(0...4) {
                case 0: line[index] = UInt8(truncatingIfNeeded: random.next())
                case 1: line.remove(at: index)
                case 2: line.insert(Array(" 0123456789:'/<>*-\"".utf8)[random.int(0...18)], at: index)
                case 3: line = Array(line[..<index])
                default: line[index] = Array("0123456789".utf8)[random.int(0...9)]
                }
            }
            return line
        }
    }

    private func feed(_ input: [UInt8], settings: SMDRSettings, random: inout SplitMix64) -> [CallEvent] {
        var decoder = SMDRDecoder(settings: settings)
        var events: [CallEvent] = []
        var offset = 0
        var now = Timestamp(epochMillis: 1_800_000_000_000)
        while offset < input.count {
            let size = random.int(1...97)
            events += decoder.receive(Array(input[offset..<min(input.count, offset + size)]), now: now)
            offset += size
        }
        now = now.adding(seconds: 1)
        return events + decoder.finish(now: now)
    }

    private func assertEveryUnknownLineIsReported(_ input: [UInt8], events: [CallEvent], round: Int) {
        var framer = LineFramer()
        let lines = framer.push(input) + framer.flush()
        let reported = Set(events.filter { $0.type == .lineUnparsed }.compactMap(\.raw))
        for line in lines {
            let understood: Bool
            switch SMDRLineParser.parse(line.text) {
            case .record, .layoutLine: understood = !line.truncated
            case .unparsed, .notACall: understood = false
            }
            if !understood {
                XCTAssertTrue(reported.contains(line.text), "round \(round): no line.unparsed for \(line.text.debugDescription)")
            }
        }
    }
}
