import AMIProtocol
import Foundation
import TamasEvents
import TestSupport
import XCTest

/// Versions and cases no capture covers: 1.4 and 1.8 field shapes (FACTS.md section 2),
/// busy/no-answer dispositions, blind transfer, recordings and resync. Each stream is written
/// the way that version's manager.c emits the events.
final class HandBuiltStreamTests: XCTestCase {
    static let freepbx = AMISettings(systemKey: "office", numberPlan: NumberPlan(releaseCode: "9", countryCode: "98", cityCode: "21"))

    func golden(_ events: [CallEvent], _ name: String) throws {
        let json = EventJSON()
        try assertGolden(try events.map { try json.line($0) }.joined(separator: "\n") + "\n", path: "AMITests/Golden/\(name).jsonl")
        for event in events { XCTAssertNoThrow(try event.validate()) }
    }

    /// 1.4: a call from the PSTN rings a ring group (201, 202); nobody answers.
    static let v14RingGroupMissed: [[(String, String)]] = [
        [("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", "SIP/mytrunk-0a1b2c3d"), ("State", "Ring"), ("CallerID", "88776655"), ("CallerIDName", "<unknown>"), ("Uniqueid", "1764150001.10")],
        [("Event", "Newexten"), ("Privilege", "call,all"), ("Channel", "SIP/mytrunk-0a1b2c3d"), ("Context", "from-trunk"), ("Extension", "21000000"), ("Priority", "1"), ("Application", "Set"), ("AppData", "x"), ("Uniqueid", "1764150001.10")],
        [("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", "SIP/201-0a1b2c40"), ("State", "Down"), ("CallerID", "201"), ("CallerIDName", "Reception"), ("Uniqueid", "1764150002.11")],
        [("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", "SIP/202-0a1b2c41"), ("State", "Down"), ("CallerID", "202"), ("CallerIDName", "Sales"), ("Uniqueid", "1764150002.12")],
        [("Event", "Dial"), ("Privilege", "call,all"), ("Source", "SIP/mytrunk-0a1b2c3d"), ("Destination", "SIP/201-0a1b2c40"), ("CallerID", "88776655"), ("CallerIDName", "<unknown>"), ("SrcUniqueID", "1764150001.10"), ("DestUniqueID", "1764150002.11")],
        [("Event", "Dial"), ("Privilege", "call,all"), ("Source", "SIP/mytrunk-0a1b2c3d"), ("Destination", "SIP/202-0a1b2c41"), ("CallerID", "88776655"), ("CallerIDName", "<unknown>"), ("SrcUniqueID", "1764150001.10"), ("DestUniqueID", "1764150002.12")],
        [("Event", "Newstate"), ("Privilege", "call,all"), ("Channel", "SIP/201-0a1b2c40"), ("State", "Ringing"), ("CallerID", "201"), ("CallerIDName", "Reception"), ("Uniqueid", "1764150002.11")],
        [("Event", "Newstate"), ("Privilege", "call,all"), ("Channel", "SIP/202-0a1b2c41"), ("State", "Ringing"), ("CallerID", "202"), ("CallerIDName", "Sales"), ("Uniqueid", "1764150002.12")],
        [("Event", "Hangup"), ("Privilege", "call,all"), ("Channel", "SIP/201-0a1b2c40"), ("Uniqueid", "1764150002.11"), ("Cause", "19"), ("Cause-txt", "No answer")],
        [("Event", "Hangup"), ("Privilege", "call,all"), ("Channel", "SIP/202-0a1b2c41"), ("Uniqueid", "1764150002.12"), ("Cause", "19"), ("Cause-txt", "No answer")],
        [("Event", "Hangup"), ("Privilege", "call,all"), ("Channel", "SIP/mytrunk-0a1b2c3d"), ("Uniqueid", "1764150001.10"), ("Cause", "16"), ("Cause-txt", "Normal Clearing")],
    ]

    func testAsterisk14RingGroupMissed() throws {
        var runner = StreamRunner(settings: Self.freepbx)
        let events = runner.feed(Self.v14RingGroupMissed)
        let ended = events.ofType(.callEnded)
        XCTAssertEqual(ended.count, 1)
        XCTAssertEqual(ended.first?.direction, .inbound)
        XCTAssertEqual(ended.first?.disposition, .missed)
        XCTAssertEqual(ended.first?.from, "+982188776655")
        XCTAssertEqual(ended.first?.extensions, ["201", "202"])
        XCTAssertEqual(events.ofType(.callRinging).last?.extensions, ["201", "202"])
        try golden(events, "v14_ring_group_missed")
    }

    /// 1.4: 201 dials 9 + a mobile number (release code 9) out of trunk `mytrunk`, answered,
    /// Link/Unlink. The stream is a transcript file the agent's end-to-end test also sends.
    func testAsterisk14OutboundWithReleaseCode() throws {
        var settings = Self.freepbx
        settings.version = .v1_4
        var runner = StreamRunner(settings: settings)
        let events = runner.feed(try Wire.transcript("v14_outbound_release_code"))
        let ended = events.ofType(.callEnded)
        XCTAssertEqual(ended.first?.direction, .outbound)
        XCTAssertEqual(ended.first?.disposition, .answered)
        XCTAssertEqual(ended.first?.to, "+989121234567")
        XCTAssertEqual(ended.first?.toRaw, "909121234567")
        XCTAssertEqual(ended.first?.from, "201")
        XCTAssertEqual(ended.first?.line, "mytrunk")
        XCTAssertEqual(ended.first?.durationSec, 4)
        try golden(events, "v14_outbound_release_code")
    }

    /// 1.4: a PSTN caller reaches the DID, 201 answers (Dial without SubEvent, Link/Unlink,
    /// Newchannel/Newstate with `State` and `CallerID`). Sent end to end too.
    func testAsterisk14InboundAnswered() throws {
        var settings = Self.freepbx
        settings.version = .v1_4
        var runner = StreamRunner(settings: settings)
        let events = runner.feed(try Wire.transcript("v14_inbound_answered"))
        XCTAssertEqual(events.filter { $0.type.isCallEvent }.map(\.type), [.callRinging, .callAnswered, .callEnded])
        let ended = try XCTUnwrap(events.ofType(.callEnded).first)
        XCTAssertEqual(ended.direction, .inbound)
        XCTAssertEqual(ended.disposition, .answered)
        XCTAssertEqual(ended.from, "+982188776655")
        XCTAssertEqual(ended.fromRaw, "02188776655")
        XCTAssertEqual(ended.to, "201")
        XCTAssertEqual(ended.answeredBy, "201")
        XCTAssertEqual(ended.extensions, ["201"])
        XCTAssertEqual(ended.line, "mytrunk")
        XCTAssertEqual(ended.ringSec, 5)
        XCTAssertEqual(ended.durationSec, 4)
    }

    /// 1.8: 202 dials 9 + a Tehran number out of `mytrunk` (Dial SubEvent Begin/End, Bridge
    /// Link/Unlink, Hangup with ConnectedLine*). Sent end to end too.
    func testAsterisk18OutboundAnswered() throws {
        var runner = StreamRunner(settings: Self.freepbx)
        let events = runner.feed(try Wire.transcript("v18_outbound_answered"))
        XCTAssertEqual(events.filter { $0.type.isCallEvent }.map(\.type), [.callRinging, .callAnswered, .callEnded])
        let ended = try XCTUnwrap(events.ofType(.callEnded).first)
        XCTAssertEqual(ended.direction, .outbound)
        XCTAssertEqual(ended.disposition, .answered)
        XCTAssertEqual(ended.from, "202")
        XCTAssertEqual(ended.to, "+982144556677")
        XCTAssertEqual(ended.toRaw, "902144556677")
        XCTAssertEqual(ended.line, "mytrunk")
        XCTAssertEqual(ended.extension, "202")
        XCTAssertEqual(ended.durationSec, 5)
    }

    /// 1.8: 201 calls 202, which is busy; MixMonitor had been started (MIXMONITOR_FILENAME).
    func testAsterisk18InternalBusy() throws {
        var runner = StreamRunner(settings: Self.freepbx)
        let events = runner.feed([
            [("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", "SIP/201-00000010"), ("ChannelState", "4"), ("ChannelStateDesc", "Ring"), ("CallerIDNum", "201"), ("CallerIDName", "Reception"), ("AccountCode", ""), ("Exten", "202"), ("Context", "from-internal"), ("Uniqueid", "1764150200.30")],
            [("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", "SIP/202-00000011"), ("ChannelState", "0"), ("ChannelStateDesc", "Down"), ("CallerIDNum", "202"), ("CallerIDName", "Sales"), ("AccountCode", ""), ("Exten", ""), ("Context", "from-internal"), ("Uniqueid", "1764150200.31")],
            [("Event", "Dial"), ("Privilege", "call,all"), ("SubEvent", "Begin"), ("Channel", "SIP/201-00000010"), ("Destination", "SIP/202-00000011"), ("CallerIDNum", "201"), ("CallerIDName", "Reception"), ("ConnectedLineNum", "202"), ("ConnectedLineName", "Sales"), ("UniqueID", "1764150200.30"), ("DestUniqueID", "1764150200.31"), ("Dialstring", "202")],
            [("Event", "Hangup"), ("Privilege", "call,all"), ("Channel", "SIP/202-00000011"), ("Uniqueid", "1764150200.31"), ("CallerIDNum", "202"), ("CallerIDName", "Sales"), ("ConnectedLineNum", "201"), ("ConnectedLineName", "Reception"), ("Cause", "17"), ("Cause-txt", "User busy")],
            [("Event", "Dial"), ("Privilege", "call,all"), ("SubEvent", "End"), ("Channel", "SIP/201-00000010"), ("UniqueID", "1764150200.30"), ("DialStatus", "BUSY")],
            [("Event", "Hangup"), ("Privilege", "call,all"), ("Channel", "SIP/201-00000010"), ("Uniqueid", "1764150200.30"), ("CallerIDNum", "201"), ("CallerIDName", "Reception"), ("ConnectedLineNum", "202"), ("ConnectedLineName", "Sales"), ("Cause", "17"), ("Cause-txt", "User busy")],
        ])
        let ended = events.ofType(.callEnded)
        XCTAssertEqual(ended.first?.direction, .internal)
        XCTAssertEqual(ended.first?.disposition, .busy)
        XCTAssertEqual(ended.first?.to, "202")
        XCTAssertEqual(ended.first?.durationSec, 0)
        try golden(events, "v18_internal_busy")
    }

    /// 1.8 FreePBX: inbound answered by 201 with call recording named by CALLFILENAME + MON_FMT
    /// (a transcript file, sent end to end too).
    func testAsterisk18InboundWithFreePBXRecording() throws {
        var runner = StreamRunner(settings: Self.freepbx)
        let events = runner.feed(try Wire.transcript("v18_inbound_freepbx_recording"))
        let ended = events.ofType(.callEnded)
        XCTAssertEqual(ended.first?.disposition, .answered)
        XCTAssertEqual(ended.first?.answeredBy, "201")
        XCTAssertEqual(ended.first?.from, "+989121234567")
        let path = "/var/spool/asterisk/monitor/2025/11/26/in-88776655-09121234567-20251126-143001-1764150300.40.WAV"
        XCTAssertEqual(ended.first?.recording?.ref, path)
        XCTAssertEqual(events.ofType(.recordingAvailable).first?.ref, path)
        XCTAssertEqual(events.ofType(.recordingAvailable).first?.callId, ended.first?.callId)
        try golden(events, "v18_inbound_freepbx_recording")
    }

    static func blindTransferStream() -> [[(String, String)]] {
        func snapshot(_ channel: String, _ uniqueid: String, state: Int, exten: String = "s", context: String = "from-internal", caller: String) -> [(String, String)] {
            [("Channel", channel), ("ChannelState", String(state)), ("CallerIDNum", caller), ("ConnectedLineNum", "<unknown>"), ("Context", context), ("Exten", exten), ("Uniqueid", uniqueid), ("Linkedid", "1764150400.50")]
        }
        let trunk = "PJSIP/mytrunk-00000030", a = "PJSIP/201-00000031", b = "PJSIP/202-00000032"
        return [
            [("Event", "Newchannel")] + snapshot(trunk, "1764150400.50", state: 4, exten: "88776655", context: "from-pstn", caller: "02144556677"),
            [("Event", "Newchannel")] + snapshot(a, "1764150400.51", state: 0, caller: "201"),
            [("Event", "DialBegin")] + snapshot(trunk, "1764150400.50", state: 4, caller: "02144556677") + [("DestChannel", a), ("DestUniqueid", "1764150400.51"), ("DestLinkedid", "1764150400.50"), ("DialString", "201")],
            [("Event", "Newstate")] + snapshot(a, "1764150400.51", state: 5, caller: "201"),
            [("Event", "Newstate")] + snapshot(a, "1764150400.51", state: 6, caller: "201"),
            [("Event", "DialEnd")] + snapshot(trunk, "1764150400.50", state: 4, caller: "02144556677") + [("DestChannel", a), ("DestUniqueid", "1764150400.51"), ("DialStatus", "ANSWER")],
            [("Event", "Hold")] + snapshot(a, "1764150400.51", state: 6, caller: "201"),
            [("Event", "BlindTransfer"), ("Result", "Success"), ("TransfererChannel", a), ("TransfererUniqueid", "1764150400.51"), ("TransfererLinkedid", "1764150400.50"), ("TransfereeChannel", trunk), ("TransfereeUniqueid", "1764150400.50"), ("IsExternal", "No"), ("Context", "from-internal"), ("Extension", "202")],
            [("Event", "Hangup")] + snapshot(a, "1764150400.51", state: 6, caller: "201") + [("Cause", "16")],
            [("Event", "Newchannel")] + snapshot(b, "1764150400.52", state: 0, caller: "202"),
            [("Event", "DialBegin")] + snapshot(trunk, "1764150400.50", state: 6, caller: "02144556677") + [("DestChannel", b), ("DestUniqueid", "1764150400.52"), ("DestLinkedid", "1764150400.50"), ("DialString", "202")],
            [("Event", "Newstate")] + snapshot(b, "1764150400.52", state: 5, caller: "202"),
            [("Event", "Newstate")] + snapshot(b, "1764150400.52", state: 6, caller: "202"),
            [("Event", "Hangup")] + snapshot(trunk, "1764150400.50", state: 6, caller: "02144556677") + [("Cause", "16")],
            [("Event", "Hangup")] + snapshot(b, "1764150400.52", state: 6, caller: "202") + [("Cause", "16")],
        ]
    }

    /// 13+: inbound answered by 201, blind-transferred to 202, which answers: one call.
    func testAsterisk13BlindTransferKeepsOneCall() throws {
        var runner = StreamRunner(settings: Self.freepbx)
        let events = runner.feed(Self.blindTransferStream())
        let ended = events.ofType(.callEnded)
        XCTAssertEqual(ended.count, 1)
        XCTAssertEqual(ended.first?.answeredBy, "201")
        XCTAssertEqual(ended.first?.transferredTo, "202")
        XCTAssertEqual(ended.first?.from, "+982144556677")
        XCTAssertEqual(Set(events.filter { $0.type.isCallEvent }.compactMap(\.callId)).count, 1)
        XCTAssertTrue(events.ofType(.extensionState).contains { $0.extension == "201" && $0.state == "onHold" })
        try golden(events, "v13_blind_transfer")
    }

    /// A reconnect in mid-call: CoreShowChannels lists the call; ids match the live events, and
    /// a second listing after the call ended closes it.
    func testResyncPicksUpCallsInProgressWithTheSameIds() throws {
        let stream = Self.blindTransferStream()
        var live = StreamRunner(settings: Self.freepbx)
        let liveEvents = live.feed(Array(stream.prefix(6)))

        var reconnected = StreamRunner(settings: Self.freepbx)
        let listing: [[(String, String)]] = [
            [("Event", "CoreShowChannel"), ("ActionID", "r1"), ("Channel", "PJSIP/mytrunk-00000030"), ("Uniqueid", "1764150400.50"), ("Linkedid", "1764150400.50"), ("ChannelState", "6"), ("CallerIDNum", "02144556677"), ("Context", "from-pstn"), ("Exten", "88776655"), ("Duration", "00:00:06"), ("BridgeId", "b1")],
            [("Event", "CoreShowChannel"), ("ActionID", "r1"), ("Channel", "PJSIP/201-00000031"), ("Uniqueid", "1764150400.51"), ("Linkedid", "1764150400.50"), ("ChannelState", "6"), ("CallerIDNum", "201"), ("Context", "from-internal"), ("Exten", ""), ("Duration", "00:00:05"), ("BridgeId", "b1")],
            [("Event", "CoreShowChannelsComplete"), ("ActionID", "r1"), ("EventList", "Complete"), ("ListItems", "2")],
        ]
        let resynced = reconnected.feed(listing)
        let answeredLive = liveEvents.ofType(.callAnswered)
        let answeredResync = resynced.ofType(.callAnswered)
        XCTAssertEqual(answeredResync.map(\.callId), answeredLive.map(\.callId))
        XCTAssertEqual(answeredResync.map(\.eventId), answeredLive.map(\.eventId))
        XCTAssertEqual(resynced.ofType(.callRinging).first?.eventId, liveEvents.ofType(.callRinging).first?.eventId)
        XCTAssertEqual(reconnected.feed(listing).filter { $0.type.isCallEvent }, [], "a second listing of known channels changes nothing")

        var tracker = reconnected.stream.tracker
        tracker.beginChannelResync()
        let ended = tracker.handle(AMIMessage([("Event", "CoreShowChannelsComplete"), ("EventList", "Complete")]), now: reconnected.now.adding(seconds: 60))
        XCTAssertEqual(ended.ofType(.callEnded).first?.callId, answeredLive.first?.callId)
        XCTAssertEqual(ended.ofType(.callEnded).first?.disposition, .answered)
    }

    func testUnknownMessageShapeAndMissingIdsBecomeUnparsed() {
        var runner = StreamRunner(settings: Self.freepbx)
        let events = runner.feed([
            [("Foo", "bar")],
            [("Event", "Hangup"), ("Channel", "SIP/201-1")],
            [("Event", "Newchannel"), ("Channel", "SIP/201-1")],
        ])
        XCTAssertEqual(events.map(\.type), [.lineUnparsed, .lineUnparsed, .lineUnparsed])
        XCTAssertEqual(events.map(\.reason), ["AMI message without Event, Response or Action header", "Hangup without Uniqueid", "Newchannel without Channel or Uniqueid"])
    }

    func testExtensionStatesFromPBXEvents() {
        var runner = StreamRunner(settings: Self.freepbx)
        let events = runner.feed([
            [("Event", "ExtensionStatus"), ("Exten", "201"), ("Context", "ext-local"), ("Hint", "SIP/201"), ("Status", "8"), ("StatusText", "Ringing")],
            [("Event", "DeviceStateChange"), ("Device", "PJSIP/202"), ("State", "INUSE")],
            [("Event", "DeviceStateChange"), ("Device", "Queue:support"), ("State", "INUSE")],
            [("Event", "PeerStatus"), ("ChannelType", "SIP"), ("Peer", "SIP/203"), ("PeerStatus", "Unregistered")],
            [("Event", "PeerStatus"), ("ChannelType", "SIP"), ("Peer", "SIP/203"), ("PeerStatus", "Registered")],
            [("Event", "PeerEntry"), ("Channeltype", "SIP"), ("ObjectName", "204"), ("IPaddress", "-none-"), ("Status", "UNKNOWN")],
            [("Event", "EndpointList"), ("ObjectName", "205"), ("DeviceState", "On Hold")],
        ])
        XCTAssertEqual(events.map { "\($0.extension ?? "")=\($0.state ?? "")" }, ["201=ringing", "202=inUse", "203=unavailable", "203=idle", "204=unavailable", "205=onHold"])
    }

    func testRecordingCandidatePaths() {
        let at = Timestamp(epochMillis: 1_764_156_600_000, offsetSeconds: 12_600)
        let candidates = AMIRecordings.candidates(uniqueid: "1764156600.7", at: at, root: "/var/spool/asterisk/monitor/")
        XCTAssertEqual(candidates.directories, ["/var/spool/asterisk/monitor/2025/11/26", "/var/spool/asterisk/monitor"])
        XCTAssertEqual(candidates.fileNameSuffixes.first, "-1764156600.7.wav")
        XCTAssertEqual(AMIRecordings.path(forFileName: "exten-201-202-20251126-143001-1764156600.7.wav", root: "/r"), "/r/2025/11/26/exten-201-202-20251126-143001-1764156600.7.wav")
        XCTAssertEqual(AMIRecordings.path(forFileName: "odd.wav", root: "/r"), "/r/odd.wav")
    }

    func testClassifierDefaults() {
        let classifier = AMIChannelClassifier(rules: AMIChannelRules())
        XCTAssertEqual(classifier.kind(channel: "SIP/201-0000001a", context: "from-internal"), .extension("201"))
        XCTAssertEqual(classifier.kind(channel: "PJSIP/3001-0000001a", context: nil), .extension("3001"))
        XCTAssertEqual(classifier.kind(channel: "SIP/mytrunk-0000001a", context: nil), .trunk("mytrunk"))
        XCTAssertEqual(classifier.kind(channel: "SIP/mytrunk-0000001a", context: "from-trunk"), .trunk("mytrunk"))
        XCTAssertEqual(classifier.kind(channel: "SIP/frontdesk-0000001a", context: "from-internal"), .extension("frontdesk"))
        XCTAssertEqual(classifier.kind(channel: "SIP/0212345678-0000001a", context: "from-trunk"), .trunk("0212345678"))
        XCTAssertEqual(classifier.kind(channel: "DAHDI/1-1", context: "from-internal"), .extension("1"))
        XCTAssertEqual(classifier.kind(channel: "DAHDI/i1/09121234567-5", context: "from-pstn"), .trunk("i1/09121234567"))
        XCTAssertEqual(classifier.kind(channel: "Local/201@from-internal-00000011;2", context: nil), .plumbing)
        XCTAssertEqual(classifier.kind(channel: "SIP/201-0000000d<ZOMBIE>", context: nil), .plumbing)
    }
}
