import SMDRProtocol
import TamasEvents
import XCTest

/// Ids come from the lines: re-reading them (PBX resend, agent restart, another fragmentation)
/// must not create a second call.
final class SMDRStabilityTests: XCTestCase {
    private let settings = SMDRSettings(systemKey: "costa", timeZone: "Europe/Rome")
    private let file = "italy-pattern-b__gestionecentralino.txt"

    func testReplayIntoAFreshDecoderGivesIdenticalEvents() throws {
        let lines = try SMDRSample.lines(file)
        XCTAssertEqual(SMDRCallTests.decode(lines, settings), SMDRCallTests.decode(lines, settings))
    }

    func testFeedingTheSameLinesTwiceAddsNoCall() throws {
        let lines = try SMDRSample.lines(file)
        let once = SMDRCallTests.decode(lines, settings)
        let twice = SMDRCallTests.decode(lines + lines, settings)
        XCTAssertEqual(Set(twice.map(\.eventId)), Set(once.map(\.eventId)))
        XCTAssertEqual(Self.collectorView(twice), Self.collectorView(once))
    }

    /// What the collector ends up with: it keeps the first event of each eventId and folds.
    static func collectorView(_ events: [CallEvent]) -> [String: String] {
        var seen = Set<String>()
        let unique = events.filter { seen.insert($0.eventId).inserted }
        return SMDRCallTests.calls(unique).mapValues { call in
            [call.direction?.rawValue, call.disposition?.rawValue, call.answeredBy, call.transferredTo,
             call.durationSec.map(String.init), call.extensions.joined(separator: ","), call.startedAt?.iso8601,
             call.endedAt?.iso8601].map { $0 ?? "-" }.joined(separator: " ")
        }
    }

    /// The agent read the first part, died without finishing, and re-reads the file from the
    /// start: together both runs must describe exactly the calls of one clean run.
    func testRestartMidFileAndRereadAddsNoCall() throws {
        let lines = try SMDRSample.lines(file)
        let clean = SMDRCallTests.decode(lines, settings)
        for cut in stride(from: 1, to: lines.count, by: 7) {
            let beforeCrash = SMDRCallTests.decode(Array(lines[..<cut]), settings, finish: false)
            let afterRestart = SMDRCallTests.decode(lines, settings)
            let cleanIds = Set(clean.compactMap(\.callId))
            XCTAssertTrue(Set(beforeCrash.compactMap(\.callId)).isSubset(of: cleanIds), "cut at \(cut)")
            XCTAssertTrue(Set(beforeCrash.map(\.eventId)).isSubset(of: Set(clean.map(\.eventId))), "cut at \(cut)")
            XCTAssertEqual(Self.collectorView(beforeCrash + afterRestart), Self.collectorView(clean), "cut at \(cut)")
        }
    }

    func testFragmentationDoesNotChangeTheEvents() throws {
        let bytes = try SMDRSample.bytes(file)
        let whole = SMDRCallTests.decode(try SMDRSample.lines(file), settings)
        var random = SplitMix64(seed: 7)
        for _ in 0..<20 {
            var decoder = SMDRDecoder(settings: settings)
            var events: [CallEvent] = []
            var offset = 0
            while offset < bytes.count {
                let size = random.int(1...300)
                events += decoder.receive(Array(bytes[offset..<min(bytes.count, offset + size)]), now: SMDRCallTests.now)
                offset += size
            }
            events += decoder.finish(now: SMDRCallTests.now)
            XCTAssertEqual(events, whole)
        }
    }

    /// A copy of the decoder shares its calls until one side changes them; it must still be a
    /// value of its own.
    func testACopiedDecoderContinuesIndependently() throws {
        let bytes = try SMDRSample.bytes(file)
        let whole = SMDRCallTests.decode(try SMDRSample.lines(file), settings)
        let half = bytes.count / 2
        var original = SMDRDecoder(settings: settings)
        let firstHalf = original.receive(Array(bytes[..<half]), now: SMDRCallTests.now)
        var copy = original
        let rest = Array(bytes[half...])
        let originalEvents = firstHalf + original.receive(rest, now: SMDRCallTests.now) + original.finish(now: SMDRCallTests.now)
        let copyEvents = firstHalf + copy.receive(rest, now: SMDRCallTests.now) + copy.finish(now: SMDRCallTests.now)
        XCTAssertEqual(originalEvents, whole)
        XCTAssertEqual(copyEvents, whole)
    }

    /// Days of traffic, with a retention of half their span: the tracker drops old calls many
    /// times over, and a resend of lines from three quarters in, which hundreds of newer calls
    /// followed, must still land on the calls it belongs to. Resent backwards, so each ring
    /// group's later lines come before its first one: a decoder that had forgotten those calls
    /// would start new ones with other callIds.
    func testAResendWithinTheRetentionAfterManySweepsAddsNoCall() {
        let start = Timestamp(epochMillis: 1_790_000_000_000)
        let traffic = SMDRTrafficGenerator(model: .kxTDE100, seed: 11, start: start, callCount: 3_000).generate()
        let measured = SMDRCallTests.decode(traffic.lines, SMDRSettings(systemKey: "sweep", model: .kxTDE100))
        let spanSeconds = Int(((measured.compactMap(\.endedAt).max() ?? start).epochMillis - start.epochMillis) / 1000)
        let settings = SMDRSettings(systemKey: "sweep", model: .kxTDE100, linkRetentionSeconds: spanSeconds / 2)
        let threeQuarters = traffic.lines.count * 3 / 4
        let resent = Array(traffic.lines[threeQuarters..<threeQuarters + 60].reversed())
        var decoder = SMDRDecoder(settings: settings)
        let original = decoder.receive(traffic.bytes, now: SMDRCallTests.now)
        let knownCalls = Set(original.compactMap(\.callId))
        let fresh = SMDRCallTests.decode(resent, settings)
        XCTAssertFalse(Set(fresh.compactMap(\.callId)).isSubset(of: knownCalls), "the resend would not show a forgotten call")
        let afterResend = decoder.receive(Array((resent.joined(separator: "\r\n") + "\r\n").utf8), now: SMDRCallTests.now)
        XCTAssertTrue(Set(afterResend.compactMap(\.callId)).isSubset(of: knownCalls))
        XCTAssertTrue(Set(afterResend.map(\.eventId)).isSubset(of: Set(original.map(\.eventId))))
    }

    func testTwoSystemsWithTheSameLinesGetDifferentIds() throws {
        let line = ["07/12/20 11:01    401 06 234                  00:00'13 EU00000.00               "]
        let first = SMDRCallTests.decode(line, SMDRSettings(systemKey: "a"))
        let second = SMDRCallTests.decode(line, SMDRSettings(systemKey: "b"))
        XCTAssertNotEqual(first.first?.callId, second.first?.callId)
    }
}
