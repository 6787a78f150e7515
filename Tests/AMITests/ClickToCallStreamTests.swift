import AMIProtocol
import Foundation
import TamasEvents
import XCTest

/// Click-to-call pain points (PAINPOINTS #29-31): carriers that answer `183 Session Progress`
/// and never `180 Ringing` (no Newstate Ringing for the trunk leg, cacofonisk #27), and an
/// originate to a phone that cannot be rung, whose failure must reach the caller at once.
final class ClickToCallStreamTests: XCTestCase {
    static let settings = HandBuiltStreamTests.freepbx

    /// A trunk's channel is created in the trunk endpoint's context (FreePBX: from-pstn).
    static func snapshot(_ channel: String, _ uniqueid: String, state: Int, exten: String = "s", caller: String) -> [(String, String)] {
        [("Channel", channel), ("ChannelState", String(state)), ("CallerIDNum", caller), ("ConnectedLineNum", "<unknown>"),
         ("Context", channel.contains("mytrunk") ? "from-pstn" : "from-internal"), ("Exten", exten), ("Uniqueid", uniqueid), ("Linkedid", "1764190000.60")]
    }

    /// 13+ click-to-call: Originate rings 201 first; once it answers, the dialplan dials the
    /// carrier, which answers 183 (early media) and then 200: Asterisk raises no Newstate
    /// Ringing for the trunk leg, only DialBegin and later Up.
    static func originateOverA183Carrier() -> [[(String, String)]] {
        let phone = "PJSIP/201-00000060", trunk = "PJSIP/mytrunk-00000061"
        return [
            [("Event", "Newchannel")] + snapshot(phone, "1764190000.60", state: 0, caller: "201"),
            [("Event", "Newstate")] + snapshot(phone, "1764190000.60", state: 5, caller: "201"),
            [("Event", "Newstate")] + snapshot(phone, "1764190000.60", state: 6, caller: "201"),
            [("Event", "Newchannel")] + snapshot(trunk, "1764190000.61", state: 0, caller: "201"),
            [("Event", "DialBegin")] + snapshot(phone, "1764190000.60", state: 6, exten: "909121234567", caller: "201")
                + [("DestChannel", trunk), ("DestChannelState", "0"), ("DestUniqueid", "1764190000.61"), ("DestLinkedid", "1764190000.60"),
                   ("DialString", "09121234567@mytrunk")],
            [("Event", "Newstate")] + snapshot(trunk, "1764190000.61", state: 6, caller: "201"),
            [("Event", "DialEnd")] + snapshot(phone, "1764190000.60", state: 6, exten: "909121234567", caller: "201")
                + [("DestChannel", trunk), ("DestUniqueid", "1764190000.61"), ("DialStatus", "ANSWER")],
            [("Event", "Hangup")] + snapshot(trunk, "1764190000.61", state: 6, caller: "201") + [("Cause", "16")],
            [("Event", "Hangup")] + snapshot(phone, "1764190000.60", state: 6, caller: "201") + [("Cause", "16")],
        ]
    }

    func testACarrierAnswering183WithoutRingingStillGivesCallRinging() {
        var runner = StreamRunner(settings: Self.settings)
        let events = runner.feed(Self.originateOverA183Carrier())
        let callEvents = events.filter { $0.type.isCallEvent }
        XCTAssertEqual(callEvents.map(\.type), [.callRinging, .callAnswered, .callEnded])
        let ringing = callEvents.first
        XCTAssertEqual(ringing?.at, StreamRunner.defaultStart.adding(seconds: 5), "at the DialBegin to the carrier")
        XCTAssertEqual(ringing?.direction, .outbound)
        XCTAssertEqual(ringing?.from, "201")
        XCTAssertEqual(ringing?.to, "+989121234567", "the customer's number, not the caller's own")
        XCTAssertEqual(ringing?.line, "mytrunk")
        XCTAssertEqual(callEvents.last?.disposition, .answered)
        XCTAssertEqual(callEvents.last?.durationSec, 3, "answered at the trunk's Up (message 6), ended at message 9")
        XCTAssertEqual(events.ofType(.extensionState).filter { $0.extension == "201" }.map(\.state), ["ringing", "inUse", "idle"])
    }

    /// An originate to a phone that is not registered: Asterisk queues it (`Response: Success`)
    /// and at once sends `OriginateResponse` with `Response: Failure` and `Reason: 0` (the
    /// channel could not be created; pbx.c maps an unavailable device to 0). The final answer
    /// comes with that message, not after the originate timeout.
    func testAnOriginateToAnUnavailablePhoneFailsAtOnce() throws {
        let t0 = StreamRunner.defaultStart
        var client = AMIClientStateMachine(settings: Self.settings, jitter: FixedJitter(value: 0))
        _ = client.connected(now: t0)
        _ = client.receive(Wire.bytes("Asterisk Call Manager/2.10.6\r\n"), now: t0)
        _ = client.receive(Wire.bytes(Wire.message([("Response", "Success"), ("ActionID", "tamas-1-1"), ("Message", "Authentication accepted")])), now: t0)
        let (id, outputs) = client.send(try client.clickToCall(userExtension: "204", number: "09121234567"), now: t0)
        let actionID = id ?? ""
        XCTAssertEqual(outputs.count, 1)
        let answer = Wire.message([("Response", "Success"), ("ActionID", actionID), ("Message", "Originate successfully queued")])
            + Wire.message([("Event", "OriginateResponse"), ("Privilege", "call,all"), ("ActionID", actionID), ("Response", "Failure"),
                            ("Channel", "PJSIP/204"), ("Context", "from-internal"), ("Exten", "909121234567"), ("Reason", "0"),
                            ("Uniqueid", "<null>"), ("CallerIDNum", "<unknown>"), ("CallerIDName", "<unknown>")])
        let results = client.receive(Wire.bytes(answer), now: t0.adding(seconds: 1))
            .compactMap { if case .result(let result) = $0 { result } else { nil } }
        XCTAssertEqual(results.map(\.final), [false, true])
        XCTAssertEqual(results.last?.actionID, actionID)
        XCTAssertEqual(results.last?.success, false)
        XCTAssertEqual(results.last?.message, "reason 0")
    }
}
