@testable import AMIProtocol
import Foundation
import TamasEvents
import TestSupport
import XCTest

/// Seeded fuzzing: random bytes and mutated real captures, in random fragmentation. Nothing
/// may crash, every event must satisfy the contract, garbage lines must come out as
/// line.unparsed, and the same input must give the same events.
final class FuzzTests: XCTestCase {
    /// The clock stands still so that only the fragmentation differs between two runs.
    private func run(_ bytes: [UInt8], seed: UInt64, settings: AMISettings = AMISettings(systemKey: "fuzz")) -> [CallEvent] {
        var random = SplitMix64(seed: seed)
        var stream = AMIEventStream(settings: settings)
        let now = Timestamp(epochMillis: 1_764_150_000_000)
        var events: [CallEvent] = []
        var index = 0
        while index < bytes.count {
            let size = 1 + Int(random.next() % 512)
            events += stream.receive(Array(bytes[index..<min(bytes.count, index + size)]), now: now)
            index += size
        }
        return events + stream.finish(now: now)
    }

    func testRandomBytes() throws {
        var random = SplitMix64(seed: 0xA11CE)
        for round in 0..<40 {
            let length = Int(random.next() % 20_000)
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let first = run(bytes, seed: UInt64(round))
            XCTAssertEqual(first, run(bytes, seed: UInt64(round)))
            for event in first { XCTAssertNoThrow(try event.validate()) }
        }
    }

    func testMutatedCapturesStayDeterministicAndValid() throws {
        let capture = [UInt8](try Fixtures.data("ami/panoramisk_ast11_originate_with_events.txt"))
        let settings = ReplayGoldenTests.xivo
        var random = SplitMix64(seed: 0xBEEF)
        for round in 0..<25 {
            var bytes = capture
            for _ in 0..<(1 + Int(random.next() % 200)) {
                let position = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 4 {
                case 0: bytes[position] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes.remove(at: position)
                case 2: bytes.insert(contentsOf: Array("\r\n".utf8), at: position)
                default: bytes.insert(contentsOf: Array("Event: Hangup\r\nUniqueid: 1414510600.0\r\n\r\n".utf8), at: position)
                }
            }
            let first = run(bytes, seed: UInt64(round), settings: settings)
            XCTAssertEqual(first, run(bytes, seed: UInt64(round) + 1000, settings: settings), "fragmentation must not change the events")
            for event in first { XCTAssertNoThrow(try event.validate()) }
        }
    }

    func testEveryGarbageLineInsideAStreamBecomesUnparsed() throws {
        var random = SplitMix64(seed: 99)
        var text = "Asterisk Call Manager/2.10.6\r\n"
        var garbage: [String] = []
        for index in 0..<200 {
            if random.next() % 3 == 0 {
                let line = "garbage line \(index) without separator"
                garbage.append(line)
                text += "Event: Newstate\r\n\(line)\r\nUniqueid: 9.\(index)\r\n\r\n"
            } else {
                text += "Event: Newstate\r\nChannel: SIP/201-\(index)\r\nUniqueid: 9.\(index)\r\n\r\n"
            }
        }
        let events = run(Array(text.utf8), seed: 5)
        XCTAssertEqual(events.ofType(.lineUnparsed).compactMap(\.raw), garbage)
    }

    /// Found by a coverage-guided fuzzing campaign (libFuzzer, 2026-11-27): 16- to 19-digit
    /// numbers in `Timestamp:`, `Duration:` and `Seconds:` overflowed the tracker's arithmetic
    /// and ended the agent. Such a message is now read with the arrival time or no duration.
    func testAbsurdNumbersInTimesAndDurationsDoNotCrash() throws {
        let messages = [
            "Event: Newchannel\r\nTimestamp: 9223372036854776\r\nUniqueid: 1.1\r\nChannel: SIP/201-1\r\n\r\n",
            "Event: Newchannel\r\nTimestamp: -9223372036854775\r\nUniqueid: 1.2\r\nChannel: SIP/202-1\r\n\r\n",
            "Event: CoreShowChannel\r\nUniqueid: 1.3\r\nChannel: SIP/203-1\r\nDuration: 9999999999999999:00:00\r\n\r\n",
            "Event: CoreShowChannel\r\nUniqueid: 1.4\r\nChannel: SIP/204-1\r\nSeconds: 9300000000000000\r\n\r\n",
            "Event: CoreShowChannel\r\nUniqueid: 1.5\r\nChannel: SIP/205-1\r\nSeconds: -9223372036854775808\r\n\r\n",
            "Event: CoreShowChannel\r\nUniqueid: 1.6\r\nChannel: SIP/206-1\r\nDuration: 1:99:-5\r\n\r\n",
        ]
        for message in messages {
            var stream = AMIEventStream(settings: AMISettings(systemKey: "fuzz"))
            let now = Timestamp(epochMillis: 1_764_150_000_000)
            let events = stream.receive(Array(message.utf8), now: now) + stream.tick(now: now.adding(seconds: 100 * 3600))
                + stream.finish(now: now.adding(seconds: 100 * 3600))
            for event in events {
                XCTAssertNoThrow(try event.validate(), message)
                XCTAssertTrue(Timestamp.plausibleEpochSeconds.contains(event.at.epochSeconds), "\(event.at) from \(message)")
            }
        }
        XCTAssertNil(ReplayClock.epochMillis("99999999999999999999.1"))
        XCTAssertNil(ReplayClock.epochMillis("9223372036854775.1"))
    }
}
