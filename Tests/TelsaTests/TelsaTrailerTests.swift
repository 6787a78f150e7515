import Foundation
import XCTest
import TamasEvents
import TestSupport
@testable import TelsaProtocol

let tehran = TimeZone(identifier: "Asia/Tehran")!

/// The fixture's trailer text, without the researcher's `# SOURCE` line.
func fixtureTrailer() throws -> [UInt8] {
    let text = String(decoding: try Fixtures.data("telsa/telsa64_trailer_sample.txt"), as: UTF8.self)
    return Array(text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("# ") }
        .joined(separator: "\n").utf8)
}

final class TelsaTrailerTests: XCTestCase {
    func testFixtureTrailerBehindAudioBytes() throws {
        let audio: [UInt8] = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }
        let result = TelsaTrailer.parse(tail: audio + (try fixtureTrailer()), timeZone: tehran)
        let trailer = try result.get()
        XCTAssertEqual(trailer.entries.map(\.type), ["Info", "Number", "CallWindow"])
        XCTAssertEqual(trailer.startedAt, Timestamp(iso8601: "2025-12-09T11:34:30+03:30"))
        XCTAssertEqual(trailer.channel, 1)
        XCTAssertEqual(trailer.number, "09123456789")
        XCTAssertEqual(trailer.fileName, "e9c9be2f-5932-4226-8ac7-5c5ab5de09e9")
        XCTAssertEqual(trailer.field("ServerName"), "TELSAPC")
        XCTAssertEqual(trailer.callWindowStatus, "Start")
        XCTAssertEqual(trailer.callType, "Voice_Call")
        XCTAssertEqual(trailer.declaredCount, 11)
        XCTAssertTrue(trailer.countMismatch, "the sample declares 11 but carries 3 entry lines")
    }

    func testCRLFAndTrailingBlankLines() throws {
        let text = "2025/12/09 11:34:30|Info|Channel:3\r\n1\r\nTelsa64\r\n\r\n"
        XCTAssertEqual(try TelsaTrailer.parse(tail: Array(text.utf8), timeZone: tehran).get().channel, 3)
    }

    func testAbsentAndMalformedTrailers() {
        func problem(_ text: String) -> TelsaTrailer.Problem? {
            if case .failure(let problem) = TelsaTrailer.parse(tail: Array(text.utf8), timeZone: tehran) { return problem }
            return nil
        }
        XCTAssertEqual(problem("RIFF....WAVEfmt ")?.absent, true)
        XCTAssertEqual(problem("")?.absent, true)
        XCTAssertEqual(problem("x\nTelsa64")?.absent, false, "no count")
        XCTAssertEqual(problem("junk\n3\nTelsa64")?.absent, false, "no entry line")
        XCTAssertEqual(problem("2025/13/09 11:34:30|Info|Channel:1\n1\nTelsa64")?.absent, false, "month 13 is not a date")
    }

    func testRandomAndMutatedTailsNeverTrap() throws {
        let real = try fixtureTrailer()
        var random = SplitMix64(seed: 2026)
        func next() -> UInt64 { random.next() }
        var parsed = 0
        for iteration in 0..<2000 {
            var bytes: [UInt8]
            if iteration % 2 == 0 {
                bytes = (0..<Int(next() % 600)).map { _ in UInt8(truncatingIfNeeded: next()) }
            } else {
                bytes = real
                for _ in 0..<(1 + Int(next() % 4)) where !bytes.isEmpty {
                    bytes[Int(next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: next())
                }
                bytes = Array(bytes.suffix(Int(next() % UInt64(bytes.count + 1))))
            }
            let first = TelsaTrailer.parse(tail: bytes, timeZone: tehran)
            XCTAssertEqual(first, TelsaTrailer.parse(tail: bytes, timeZone: tehran))
            if case .success(let trailer) = first {
                parsed += 1
                XCTAssertFalse(trailer.entries.isEmpty)
            }
        }
        XCTAssertGreaterThan(parsed, 0, "some mutated trailers still parse")
    }
}
