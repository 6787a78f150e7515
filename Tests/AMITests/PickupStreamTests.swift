import AMIProtocol
import Foundation
import TamasEvents
import XCTest

/// Call pickup (`*8` group pickup, `**202` directed pickup). No capture covers it, so the
/// streams are written the way each version reports it: 12+ raises `Pickup` (Channel = the
/// picker, TargetChannel = the ringing phone, each with Uniqueid and Linkedid, per the AMI
/// event documentation); 1.8 masquerades the picker into the ringing channel (Masquerade and
/// three Renames, as the 1.8/11 masquerades of the captures look); 11's own `Pickup` names only
/// the two channels and comes before that masquerade.
final class PickupStreamTests: XCTestCase {
    static let settings = AMISettings(systemKey: "office", numberPlan: NumberPlan(releaseCode: "9", countryCode: "98", cityCode: "21"))

    // MARK: - 12+

    static func snapshot(_ channel: String, _ uniqueid: String, linkedid: String, state: Int, exten: String, caller: String) -> [(String, String)] {
        [("Channel", channel), ("ChannelState", String(state)), ("CallerIDNum", caller), ("ConnectedLineNum", "<unknown>"),
         ("Context", "from-internal"), ("Exten", exten), ("Uniqueid", uniqueid), ("Linkedid", linkedid)]
    }

    /// 13+: 201 calls 202; while 202 rings, 203 dials `*8` and picks the call up.
    static func v13GroupPickup() -> [[(String, String)]] {
        let caller = "PJSIP/201-00000001", rung = "PJSIP/202-00000002", picker = "PJSIP/203-00000003"
        let call = "1764160000.1", pickerOwn = "1764160005.3"
        return [
            [("Event", "Newchannel")] + snapshot(caller, call, linkedid: call, state: 4, exten: "202", caller: "201"),
            [("Event", "Newchannel")] + snapshot(rung, "1764160000.2", linkedid: call, state: 0, exten: "s", caller: "202"),
            [("Event", "DialBegin")] + snapshot(caller, call, linkedid: call, state: 4, exten: "202", caller: "201")
                + [("DestChannel", rung), ("DestUniqueid", "1764160000.2"), ("DestLinkedid", call), ("DialString", "202")],
            [("Event", "Newstate")] + snapshot(rung, "1764160000.2", linkedid: call, state: 5, exten: "s", caller: "202"),
            [("Event", "Newchannel")] + snapshot(picker, pickerOwn, linkedid: pickerOwn, state: 4, exten: "*8", caller: "203"),
            [("Event", "Newstate")] + snapshot(picker, pickerOwn, linkedid: pickerOwn, state: 6, exten: "*8", caller: "203"),
            [("Event", "Pickup")] + snapshot(picker, pickerOwn, linkedid: pickerOwn, state: 6, exten: "*8", caller: "203")
                + [("TargetChannel", rung), ("TargetChannelState", "5"), ("TargetChannelStateDesc", "Ringing"), ("TargetCallerIDNum", "202"),
                   ("TargetContext", "from-internal"), ("TargetExten", "s"), ("TargetUniqueid", "1764160000.2"), ("TargetLinkedid", call)],
            [("Event", "Hangup")] + snapshot(rung + "<ZOMBIE>", "1764160000.2", linkedid: call, state: 5, exten: "s", caller: "202")
                + [("Cause", "26"), ("Cause-txt", "Answered elsewhere")],
            [("Event", "DialEnd")] + snapshot(caller, call, linkedid: call, state: 4, exten: "202", caller: "201")
                + [("DestChannel", picker), ("DestUniqueid", pickerOwn), ("DialStatus", "ANSWER")],
            [("Event", "Newstate")] + snapshot(caller, call, linkedid: call, state: 6, exten: "202", caller: "201"),
            [("Event", "Hangup")] + snapshot(picker, pickerOwn, linkedid: pickerOwn, state: 6, exten: "*8", caller: "203") + [("Cause", "16")],
            [("Event", "Hangup")] + snapshot(caller, call, linkedid: call, state: 6, exten: "202", caller: "201") + [("Cause", "16")],
        ]
    }

    func testAsterisk13GroupPickupIsOneCallAnsweredByThePicker() {
        var runner = StreamRunner(settings: Self.settings)
        let events = runner.feed(Self.v13GroupPickup())
        let callId = StableID.make("office", "ami", "1764160000.1")
        XCTAssertEqual(Set(events.filter { $0.type.isCallEvent }.compactMap(\.callId)), [callId], "the picker's *8 is no call of its own")
        XCTAssertEqual(events.filter { $0.type.isCallEvent }.map(\.type), [.callRinging, .callAnswered, .callEnded])
        XCTAssertEqual(events.ofType(.callRinging).map(\.extension), ["202"])
        XCTAssertEqual(events.ofType(.callAnswered).first?.answeredBy, "203")
        let ended = events.ofType(.callEnded)
        XCTAssertEqual(ended.count, 1)
        XCTAssertEqual(ended.first?.disposition, .answered)
        XCTAssertEqual(ended.first?.answeredBy, "203")
        XCTAssertEqual(ended.first?.extensions, ["202"])
        XCTAssertEqual(ended.first?.direction, .internal)
        XCTAssertEqual(ended.first?.from, "201")
        XCTAssertEqual(ended.first?.to, "203")
        XCTAssertEqual(ended.first?.durationSec, 5, "answered at the Pickup (message 7), ended at message 12")
        XCTAssertEqual(events.ofType(.extensionState).filter { $0.extension == "202" }.map(\.state), ["ringing", "idle"])
        XCTAssertEqual(events.ofType(.extensionState).filter { $0.extension == "203" }.map { "\($0.state ?? "") \($0.callId == callId)" },
                       ["inUse false", "inUse true", "idle true"], "after the pickup 203's state names the picked-up call")
    }

    // MARK: - 1.8 and 11

    /// 1.8: a call from the PSTN rings 202; 203 dials `**202` (directed pickup). With
    /// `announcePickup` the stream carries 11's `Pickup` event before the masquerade.
    static func v18DirectedPickup(announcePickup: Bool) -> [[(String, String)]] {
        let trunk = "SIP/mytrunk-00000040", rung = "SIP/202-00000041", picker = "SIP/203-00000042"
        func state(_ channel: String, _ uniqueid: String, _ number: Int, _ text: String, caller: String) -> [(String, String)] {
            [("Event", "Newstate"), ("Privilege", "call,all"), ("Channel", channel), ("ChannelState", String(number)), ("ChannelStateDesc", text),
             ("CallerIDNum", caller), ("CallerIDName", ""), ("ConnectedLineNum", ""), ("ConnectedLineName", ""), ("Uniqueid", uniqueid)]
        }
        let pickup: [[(String, String)]] = announcePickup
            ? [[("Event", "Pickup"), ("Privilege", "call,all"), ("Channel", picker), ("TargetChannel", rung)]] : []
        return [
            [("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", trunk), ("ChannelState", "4"), ("ChannelStateDesc", "Ring"), ("CallerIDNum", "09121234567"), ("CallerIDName", ""), ("AccountCode", ""), ("Exten", "88776655"), ("Context", "from-trunk"), ("Uniqueid", "1764160100.40")],
            [("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", rung), ("ChannelState", "0"), ("ChannelStateDesc", "Down"), ("CallerIDNum", "202"), ("CallerIDName", "Sales"), ("AccountCode", ""), ("Exten", ""), ("Context", "from-internal"), ("Uniqueid", "1764160101.41")],
            [("Event", "Dial"), ("Privilege", "call,all"), ("SubEvent", "Begin"), ("Channel", trunk), ("Destination", rung), ("CallerIDNum", "09121234567"), ("CallerIDName", ""), ("ConnectedLineNum", "202"), ("ConnectedLineName", "Sales"), ("UniqueID", "1764160100.40"), ("DestUniqueID", "1764160101.41"), ("Dialstring", "202")],
            state(rung, "1764160101.41", 5, "Ringing", caller: "202"),
            [("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", picker), ("ChannelState", "4"), ("ChannelStateDesc", "Ring"), ("CallerIDNum", "203"), ("CallerIDName", "Support"), ("AccountCode", ""), ("Exten", "**202"), ("Context", "from-internal"), ("Uniqueid", "1764160105.42")],
            state(picker, "1764160105.42", 6, "Up", caller: "203"),
        ] + pickup + [
            [("Event", "Masquerade"), ("Privilege", "call,all"), ("Clone", picker), ("CloneState", "Up"), ("Original", rung), ("OriginalState", "Ringing")],
            [("Event", "Rename"), ("Privilege", "call,all"), ("Channel", picker), ("Newname", picker + "<MASQ>"), ("Uniqueid", "1764160105.42")],
            [("Event", "Rename"), ("Privilege", "call,all"), ("Channel", rung), ("Newname", picker), ("Uniqueid", "1764160101.41")],
            [("Event", "Rename"), ("Privilege", "call,all"), ("Channel", picker + "<MASQ>"), ("Newname", rung + "<ZOMBIE>"), ("Uniqueid", "1764160105.42")],
            [("Event", "Hangup"), ("Privilege", "call,all"), ("Channel", rung + "<ZOMBIE>"), ("Uniqueid", "1764160105.42"), ("CallerIDNum", "203"), ("CallerIDName", "Support"), ("Cause", "16"), ("Cause-txt", "Normal Clearing")],
            state(picker, "1764160101.41", 6, "Up", caller: "203"),
            [("Event", "Dial"), ("Privilege", "call,all"), ("SubEvent", "End"), ("Channel", trunk), ("UniqueID", "1764160100.40"), ("DialStatus", "ANSWER")],
            [("Event", "Bridge"), ("Privilege", "call,all"), ("Bridgestate", "Link"), ("Bridgetype", "core"), ("Channel1", trunk), ("Channel2", picker), ("Uniqueid1", "1764160100.40"), ("Uniqueid2", "1764160101.41"), ("CallerID1", "09121234567"), ("CallerID2", "203")],
            [("Event", "Hangup"), ("Privilege", "call,all"), ("Channel", picker), ("Uniqueid", "1764160101.41"), ("CallerIDNum", "203"), ("CallerIDName", "Support"), ("Cause", "16"), ("Cause-txt", "Normal Clearing")],
            [("Event", "Hangup"), ("Privilege", "call,all"), ("Channel", trunk), ("Uniqueid", "1764160100.40"), ("CallerIDNum", "09121234567"), ("CallerIDName", ""), ("Cause", "16"), ("Cause-txt", "Normal Clearing")],
        ]
    }

    func assertPickedUpInboundCall(_ events: [CallEvent], answeredAfterMessages: Int, file: StaticString = #filePath, line: UInt = #line) {
        let callId = StableID.make("office", "ami", "1764160100.40")
        XCTAssertEqual(Set(events.filter { $0.type.isCallEvent }.compactMap(\.callId)), [callId], file: file, line: line)
        XCTAssertEqual(events.filter { $0.type.isCallEvent }.map(\.type), [.callRinging, .callAnswered, .callEnded], file: file, line: line)
        XCTAssertEqual(events.ofType(.callAnswered).first?.answeredBy, "203", file: file, line: line)
        XCTAssertEqual(events.ofType(.callAnswered).first?.at, StreamRunner.defaultStart.adding(seconds: answeredAfterMessages), file: file, line: line)
        let ended = events.ofType(.callEnded)
        XCTAssertEqual(ended.count, 1, file: file, line: line)
        XCTAssertEqual(ended.first?.direction, .inbound, file: file, line: line)
        XCTAssertEqual(ended.first?.disposition, .answered, file: file, line: line)
        XCTAssertEqual(ended.first?.answeredBy, "203", file: file, line: line)
        XCTAssertEqual(ended.first?.extensions, ["202"], file: file, line: line)
        XCTAssertEqual(ended.first?.from, "+989121234567", file: file, line: line)
        XCTAssertEqual(ended.first?.to, "203", file: file, line: line)
        XCTAssertEqual(ended.first?.line, "mytrunk", file: file, line: line)
        XCTAssertEqual(events.ofType(.extensionState).filter { $0.extension == "202" }.map(\.state), ["ringing", "idle"], file: file, line: line)
        XCTAssertEqual(events.ofType(.extensionState).filter { $0.extension == "203" }.map { "\($0.state ?? "") \($0.callId == callId)" },
                       ["inUse false", "inUse true", "idle true"], file: file, line: line)
    }

    func testAsterisk18DirectedPickupByMasqueradeIsOneCallAnsweredByThePicker() {
        var runner = StreamRunner(settings: Self.settings)
        let events = runner.feed(Self.v18DirectedPickup(announcePickup: false))
        assertPickedUpInboundCall(events, answeredAfterMessages: 9)
    }

    func testAsterisk11PickupEventBeforeTheMasqueradeGivesTheSameCall() {
        var runner = StreamRunner(settings: Self.settings)
        let events = runner.feed(Self.v18DirectedPickup(announcePickup: true))
        assertPickedUpInboundCall(events, answeredAfterMessages: 7)
    }
}
