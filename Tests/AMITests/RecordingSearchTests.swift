import AMIProtocol
import Foundation
import TamasEvents
import XCTest

/// Recordings found by the call's id when no channel variable names them: what the tracker asks
/// for (`AMIRecordingSearch`), how a folder listing is matched, and when searches run.
final class RecordingSearchTests: XCTestCase {
    static let root = "/var/spool/asterisk/monitor"
    static let callKey = "1764150400.50"
    static var settings: AMISettings {
        var settings = HandBuiltStreamTests.freepbx
        settings.searchRecordingsByUniqueid = true
        return settings
    }

    /// The tracker alone, one second per message from `StreamRunner.defaultStart`, collecting searches.
    func run(_ messages: [[(String, String)]], settings: AMISettings = RecordingSearchTests.settings)
        -> (events: [CallEvent], searches: [AMIRecordingSearch]) {
        var tracker = AMICallTracker(settings: settings)
        var events: [CallEvent] = []
        var searches: [AMIRecordingSearch] = []
        for (index, pairs) in messages.enumerated() {
            events += tracker.handle(AMIMessage(pairs), now: StreamRunner.defaultStart.adding(seconds: index + 1))
            searches += tracker.takeRecordingSearches()
        }
        XCTAssertEqual(tracker.takeRecordingSearches(), [], "taking empties the list")
        return (events, searches)
    }

    static func mixMonitor(_ path: String) -> [(String, String)] {
        [("Event", "VarSet"), ("Channel", "PJSIP/mytrunk-00000030"), ("Variable", "MIXMONITOR_FILENAME"), ("Value", path),
         ("Uniqueid", callKey), ("Linkedid", callKey)]
    }

    func testAnAnsweredCallWithoutRecordingVariablesAsksForOneSearchByItsIds() throws {
        let (events, searches) = run(HandBuiltStreamTests.blindTransferStream())
        XCTAssertEqual(events.ofType(.recordingAvailable), [])
        XCTAssertNil(events.ofType(.callEnded).first?.recording)
        XCTAssertEqual(searches.count, 1)
        let search = try XCTUnwrap(searches.first)
        let ended = try XCTUnwrap(events.ofType(.callEnded).first)
        XCTAssertEqual(search.callId, StableID.make("office", "ami", Self.callKey))
        XCTAssertEqual(search.callId, ended.callId)
        XCTAssertEqual(search.systemKey, "office")
        XCTAssertEqual(search.line, "mytrunk")
        XCTAssertEqual(search.startedAt, ended.answeredAt)
        XCTAssertEqual(search.durationSec, ended.durationSec)
        XCTAssertEqual(search.endedAt, ended.endedAt)
        // Started 2025-11-26T09:40:01Z, 13:10:01 at the server's +03:30: its local day.
        XCTAssertEqual(search.candidates.directories, [Self.root + "/2025/11/26", Self.root])
        XCTAssertEqual(Array(search.candidates.fileNameSuffixes.prefix(5)),
                       ["-1764150400.50.wav", "-1764150400.50.WAV", "-1764150400.50.mp3", "-1764150400.50.gsm", "-1764150400.51.wav"])
        XCTAssertEqual(search.candidates.fileNameSuffixes.count, 12, "the call's id and each leg's (201, 202), four extensions each")
    }

    func testNoSearchWhenAVariableNamedTheFileTheCallWasNotAnsweredOrSearchingIsOff() {
        var stream = HandBuiltStreamTests.blindTransferStream()
        stream.insert(Self.mixMonitor(Self.root + "/2025/11/26/named.wav"), at: 1)
        let named = run(stream)
        XCTAssertEqual(named.searches, [])
        XCTAssertEqual(named.events.ofType(.recordingAvailable).map(\.ref), [Self.root + "/2025/11/26/named.wav"])

        let unanswered = run(Array(HandBuiltStreamTests.blindTransferStream().prefix(4)) + [
            [("Event", "Hangup"), ("Channel", "PJSIP/201-00000031"), ("Uniqueid", "1764150400.51"), ("Linkedid", Self.callKey), ("Cause", "19")],
            [("Event", "Hangup"), ("Channel", "PJSIP/mytrunk-00000030"), ("Uniqueid", Self.callKey), ("Linkedid", Self.callKey), ("Cause", "16")],
        ])
        XCTAssertEqual(unanswered.events.ofType(.callEnded).first?.disposition, .missed)
        XCTAssertEqual(unanswered.searches, [])

        var off = Self.settings
        off.searchRecordingsByUniqueid = false
        XCTAssertEqual(run(HandBuiltStreamTests.blindTransferStream(), settings: off).searches, [])
        off.searchRecordingsByUniqueid = true
        off.recordingEnabled = false
        XCTAssertEqual(run(HandBuiltStreamTests.blindTransferStream(), settings: off).searches, [])
    }

    /// A file found by searching announces exactly what the variable would have: same id (a
    /// retry, a second search or a restart never doubles it), same fields.
    func testTheFoundFileGivesTheSameEventAsAVariableNamingIt() throws {
        let path = Self.root + "/2025/11/26/in-88776655-02144556677-20251126-011641-1764150400.50.wav"
        var stream = HandBuiltStreamTests.blindTransferStream()
        stream.insert(Self.mixMonitor(path), at: 1)
        let viaVariable = try XCTUnwrap(run(stream).events.ofType(.recordingAvailable).first)
        // The variable-free stream has one message less, so the hangup is a second earlier.
        let search = try XCTUnwrap(run(HandBuiltStreamTests.blindTransferStream()).searches.first)
        let found = search.availableEvent(path: path)
        XCTAssertEqual(found.eventId, viaVariable.eventId)
        XCTAssertEqual(found.type, .recordingAvailable)
        XCTAssertEqual(found.callId, viaVariable.callId)
        XCTAssertEqual(found.line, viaVariable.line)
        XCTAssertEqual(found.ref, path)
        XCTAssertEqual(found.format, "wav")
        XCTAssertEqual(found.source, "ami")
        XCTAssertEqual(found.durationSec, viaVariable.durationSec)
        XCTAssertEqual(found.startedAt, search.startedAt)
        XCTAssertEqual(found.at, search.endedAt)
        XCTAssertEqual(search.availableEvent(path: path), found, "deterministic")
        XCTAssertNoThrow(try found.validate())
    }

    func testMatchingAFolderListing() {
        let candidates = AMIRecordings.candidates(uniqueids: ["1764150400.50", "1764150400.51", "1764150400.50"],
                                                  at: StreamRunner.defaultStart, root: Self.root + "/")
        XCTAssertEqual(candidates.directories, [Self.root + "/2025/11/26", Self.root])
        XCTAssertEqual(candidates.fileNameSuffixes.count, 8, "a repeated id is looked for once")
        let search = AMIRecordingSearch(systemKey: "office", callId: "c", line: nil, startedAt: StreamRunner.defaultStart, durationSec: 3,
                                        endedAt: StreamRunner.defaultStart, candidates: candidates)
        XCTAssertNil(search.recording(amongFileNames: []))
        XCTAssertNil(search.recording(amongFileNames: ["x-1764150400.500.wav", "x-11764150400.50.wav", "x-1764150400.50.wav.part", "-1764150400.50.wav"]),
                     "a longer id, a different id, a file still being converted, a bare suffix")
        XCTAssertEqual(search.recording(amongFileNames: ["q-1-2-20251126-011641-1764150400.51.wav", "out-201-09121234567-20251126-011641-1764150400.50.mp3"]),
                       "out-201-09121234567-20251126-011641-1764150400.50.mp3", "the call's own id wins over a leg's")
        XCTAssertEqual(search.recording(amongFileNames: ["exten-201-202-20251126-011641-1764150400.51.WAV"]), "exten-201-202-20251126-011641-1764150400.51.WAV")
        XCTAssertEqual(search.recording(amongFileNames: ["a-1764150400.50.gsm", "b-1764150400.50.wav"]), "b-1764150400.50.wav")
    }

    func testScheduleDelaysRetriesAndStaysBounded() throws {
        let search = AMIRecordingSearch(systemKey: "office", callId: "c1", line: nil, startedAt: StreamRunner.defaultStart, durationSec: 3,
                                        endedAt: StreamRunner.defaultStart, candidates: AMIRecordings.candidates(uniqueid: "1.1", at: StreamRunner.defaultStart, root: "/r"))
        var other = search
        other.callId = "c2"
        var schedule = AMIRecordingSearchSchedule(delayMillis: 5000, attempts: 3, capacity: 2)
        XCTAssertTrue(schedule.add(search, nowMillis: 1000))
        XCTAssertTrue(schedule.add(other, nowMillis: 2000))
        XCTAssertFalse(schedule.add(other, nowMillis: 2000), "full")
        XCTAssertEqual(schedule.nextDueMillis, 6000)
        XCTAssertEqual(schedule.takeDue(nowMillis: 5999), [])
        let first = schedule.takeDue(nowMillis: 6000)
        XCTAssertEqual(first.map(\.search.callId), ["c1"])
        XCTAssertEqual(first.map(\.attempt), [1])
        XCTAssertTrue(schedule.retry(try XCTUnwrap(first.first), nowMillis: 6500))
        XCTAssertEqual(schedule.takeDue(nowMillis: 7000).map(\.search.callId), ["c2"])
        let second = schedule.takeDue(nowMillis: 11_500)
        XCTAssertEqual(second.map(\.attempt), [2])
        XCTAssertTrue(schedule.retry(try XCTUnwrap(second.first), nowMillis: 11_500))
        let third = schedule.takeDue(nowMillis: 16_500)
        XCTAssertEqual(third.map(\.attempt), [3])
        XCTAssertFalse(schedule.retry(try XCTUnwrap(third.first), nowMillis: 16_500), "three attempts, then it gives up")
        XCTAssertEqual(schedule.count, 0)
        XCTAssertNil(schedule.nextDueMillis)
    }
}
