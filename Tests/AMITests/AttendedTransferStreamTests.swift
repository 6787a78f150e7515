import AMIProtocol
import Foundation
import TamasEvents
import XCTest

/// Attended transfer: a customer calls 201, 201 puts them on hold and calls 202 (the
/// consultation), then completes the transfer; the customer talks to 202. No capture covers
/// it, so the streams are hand-built:
/// - 12+: `AttendedTransfer` with the `OrigTransferer*` (201's leg with the customer),
///   `SecondTransferer*` (201's consultation leg) snapshots, `DestType: Bridge` (the AMI event
///   documentation of 12+; FACTS.md only says the event was added in 12). Asterisk merges the
///   two bridges and moves the consultation's channels to the older Linkedid; the Hangups after
///   the transfer carry it.
/// - 1.8: a SIP phone's own transfer (REFER with Replaces): chan_sip masquerades the customer's
///   channel into 201's consultation channel (`Masquerade`, then the `Rename` chain through
///   `<MASQ>` and `<ZOMBIE>` that the captures show for Local channels, where the channel taking
///   over a name keeps its own Uniqueid). Inferred from chan_sip's `attempt_transfer`; no 1.8
///   transcript was found.
/// Either way: the customer's call stays one call, answered by 201, `transferredTo` 202, ending
/// when the customer and 202 hang up. The consultation is the internal call it was (201 to 202,
/// ringing and answer already announced) and ends at the transfer.
final class AttendedTransferStreamTests: XCTestCase {
    static let settings = HandBuiltStreamTests.freepbx
    static let customer = "1764180000.50", consultation = "1764180030.53"

    static func snapshot(_ channel: String, _ uniqueid: String, linkedid: String, state: Int, exten: String = "s",
                         context: String = "from-internal", caller: String) -> [(String, String)] {
        [("Channel", channel), ("ChannelState", String(state)), ("CallerIDNum", caller), ("ConnectedLineNum", "<unknown>"),
         ("Context", context), ("Exten", exten), ("Uniqueid", uniqueid), ("Linkedid", linkedid)]
    }

    static func prefixed(_ prefix: String, _ pairs: [(String, String)]) -> [(String, String)] {
        pairs.map { (prefix + $0.0, $0.1) }
    }

    static func v13AttendedTransfer() -> [[(String, String)]] {
        let trunk = "PJSIP/mytrunk-00000050", a = "PJSIP/201-00000051", aConsult = "PJSIP/201-00000053", b = "PJSIP/202-00000054"
        let call = customer, consult = consultation
        let trunkUp = snapshot(trunk, call, linkedid: call, state: 6, exten: "88776655", context: "from-pstn", caller: "02144556677")
        let aUp = snapshot(a, "1764180000.51", linkedid: call, state: 6, caller: "201")
        var consultUp = snapshot(aConsult, consult, linkedid: consult, state: 6, exten: "202", caller: "201")
        consultUp[3] = ("ConnectedLineNum", "202")
        return [
            [("Event", "Newchannel")] + snapshot(trunk, call, linkedid: call, state: 4, exten: "88776655", context: "from-pstn", caller: "02144556677"),
            [("Event", "Newchannel")] + snapshot(a, "1764180000.51", linkedid: call, state: 0, caller: "201"),
            [("Event", "DialBegin")] + snapshot(trunk, call, linkedid: call, state: 4, exten: "88776655", context: "from-pstn", caller: "02144556677")
                + [("DestChannel", a), ("DestUniqueid", "1764180000.51"), ("DestLinkedid", call), ("DialString", "201")],
            [("Event", "Newstate")] + snapshot(a, "1764180000.51", linkedid: call, state: 5, caller: "201"),
            [("Event", "Newstate")] + aUp,
            [("Event", "DialEnd")] + trunkUp + [("DestChannel", a), ("DestUniqueid", "1764180000.51"), ("DialStatus", "ANSWER")],
            [("Event", "Hold")] + aUp,
            [("Event", "Newchannel")] + snapshot(aConsult, consult, linkedid: consult, state: 4, exten: "202", caller: "201"),
            [("Event", "Newchannel")] + snapshot(b, "1764180030.54", linkedid: consult, state: 0, caller: "202"),
            [("Event", "DialBegin")] + snapshot(aConsult, consult, linkedid: consult, state: 4, exten: "202", caller: "201")
                + [("DestChannel", b), ("DestUniqueid", "1764180030.54"), ("DestLinkedid", consult), ("DialString", "202")],
            [("Event", "Newstate")] + snapshot(b, "1764180030.54", linkedid: consult, state: 5, caller: "202"),
            [("Event", "Newstate")] + snapshot(b, "1764180030.54", linkedid: consult, state: 6, caller: "202"),
            [("Event", "DialEnd")] + consultUp + [("DestChannel", b), ("DestUniqueid", "1764180030.54"), ("DialStatus", "ANSWER")],
            [("Event", "AttendedTransfer"), ("Result", "Success")]
                + prefixed("OrigTransferer", aUp) + [("OrigBridgeUniqueid", "bridge-1"), ("OrigBridgeType", "basic"), ("OrigBridgeNumChannels", "2")]
                + prefixed("SecondTransferer", consultUp) + [("SecondBridgeUniqueid", "bridge-2"), ("SecondBridgeType", "basic"), ("SecondBridgeNumChannels", "2")]
                + [("DestType", "Bridge"), ("DestBridgeUniqueid", "bridge-1"), ("IsExternal", "No")],
            [("Event", "Hangup")] + aUp + [("Cause", "16"), ("Cause-txt", "Normal Clearing")],
            [("Event", "Hangup")] + consultUp + [("Cause", "16"), ("Cause-txt", "Normal Clearing")],
            [("Event", "Hangup")] + trunkUp + [("Cause", "16"), ("Cause-txt", "Normal Clearing")],
            [("Event", "Hangup")] + snapshot(b, "1764180030.54", linkedid: call, state: 6, caller: "202") + [("Cause", "16"), ("Cause-txt", "Normal Clearing")],
        ]
    }

    /// `consultedPhoneMoves`: the other way round, 202's channel is masqueraded into 201's
    /// channel with the customer (also seen with Asterisk's own transfer code paths); 201's
    /// consultation channel then hangs up on its own.
    static func v18AttendedTransfer(consultedPhoneMoves: Bool = false) -> [[(String, String)]] {
        let trunk = "SIP/mytrunk-00000050", a = "SIP/201-00000051", aConsult = "SIP/201-00000053", b = "SIP/202-00000054"
        func newchannel(_ channel: String, _ uniqueid: String, state: Int, _ text: String, caller: String, exten: String, context: String) -> [(String, String)] {
            [("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", channel), ("ChannelState", String(state)), ("ChannelStateDesc", text),
             ("CallerIDNum", caller), ("CallerIDName", ""), ("AccountCode", ""), ("Exten", exten), ("Context", context), ("Uniqueid", uniqueid)]
        }
        func newstate(_ channel: String, _ uniqueid: String, _ state: Int, _ text: String, caller: String) -> [(String, String)] {
            [("Event", "Newstate"), ("Privilege", "call,all"), ("Channel", channel), ("ChannelState", String(state)), ("ChannelStateDesc", text),
             ("CallerIDNum", caller), ("CallerIDName", ""), ("ConnectedLineNum", ""), ("ConnectedLineName", ""), ("Uniqueid", uniqueid)]
        }
        func hangup(_ channel: String, _ uniqueid: String, caller: String) -> [(String, String)] {
            [("Event", "Hangup"), ("Privilege", "call,all"), ("Channel", channel), ("Uniqueid", uniqueid), ("CallerIDNum", caller), ("CallerIDName", ""),
             ("ConnectedLineNum", ""), ("ConnectedLineName", ""), ("Cause", "16"), ("Cause-txt", "Normal Clearing")]
        }
        func dial(_ source: String, _ sourceId: String, _ destination: String, _ destinationId: String, caller: String, dialString: String) -> [(String, String)] {
            [("Event", "Dial"), ("Privilege", "call,all"), ("SubEvent", "Begin"), ("Channel", source), ("Destination", destination), ("CallerIDNum", caller),
             ("CallerIDName", ""), ("ConnectedLineNum", ""), ("ConnectedLineName", ""), ("UniqueID", sourceId), ("DestUniqueID", destinationId), ("Dialstring", dialString)]
        }
        func bridge(_ one: String, _ oneId: String, _ two: String, _ twoId: String) -> [(String, String)] {
            [("Event", "Bridge"), ("Privilege", "call,all"), ("Bridgestate", "Link"), ("Bridgetype", "core"), ("Channel1", one), ("Channel2", two),
             ("Uniqueid1", oneId), ("Uniqueid2", twoId), ("CallerID1", ""), ("CallerID2", "")]
        }
        let call = customer, consult = consultation
        return [
            newchannel(trunk, call, state: 4, "Ring", caller: "02144556677", exten: "88776655", context: "from-trunk"),
            newchannel(a, "1764180000.51", state: 0, "Down", caller: "201", exten: "", context: "from-internal"),
            dial(trunk, call, a, "1764180000.51", caller: "02144556677", dialString: "201"),
            newstate(a, "1764180000.51", 5, "Ringing", caller: "201"),
            newstate(a, "1764180000.51", 6, "Up", caller: "201"),
            [("Event", "Dial"), ("Privilege", "call,all"), ("SubEvent", "End"), ("Channel", trunk), ("UniqueID", call), ("DialStatus", "ANSWER")],
            bridge(trunk, call, a, "1764180000.51"),
            newchannel(aConsult, consult, state: 4, "Ring", caller: "201", exten: "202", context: "from-internal"),
            newchannel(b, "1764180030.54", state: 0, "Down", caller: "202", exten: "", context: "from-internal"),
            dial(aConsult, consult, b, "1764180030.54", caller: "201", dialString: "202"),
            newstate(b, "1764180030.54", 5, "Ringing", caller: "202"),
            newstate(b, "1764180030.54", 6, "Up", caller: "202"),
            [("Event", "Dial"), ("Privilege", "call,all"), ("SubEvent", "End"), ("Channel", aConsult), ("UniqueID", consult), ("DialStatus", "ANSWER")],
            bridge(aConsult, consult, b, "1764180030.54"),
        ] + (consultedPhoneMoves ? [
            [("Event", "Masquerade"), ("Privilege", "call,all"), ("Clone", b), ("CloneState", "Up"), ("Original", a), ("OriginalState", "Up")],
            [("Event", "Rename"), ("Privilege", "call,all"), ("Channel", b), ("Newname", b + "<MASQ>"), ("Uniqueid", "1764180030.54")],
            [("Event", "Rename"), ("Privilege", "call,all"), ("Channel", a), ("Newname", b), ("Uniqueid", "1764180000.51")],
            [("Event", "Rename"), ("Privilege", "call,all"), ("Channel", b + "<MASQ>"), ("Newname", a + "<ZOMBIE>"), ("Uniqueid", "1764180030.54")],
            hangup(a + "<ZOMBIE>", "1764180030.54", caller: "202"),
            hangup(aConsult, consult, caller: "201"),
            hangup(trunk, call, caller: "02144556677"),
            hangup(b, "1764180000.51", caller: "202"),
        ] : [
            [("Event", "Masquerade"), ("Privilege", "call,all"), ("Clone", trunk), ("CloneState", "Up"), ("Original", aConsult), ("OriginalState", "Up")],
            [("Event", "Rename"), ("Privilege", "call,all"), ("Channel", trunk), ("Newname", trunk + "<MASQ>"), ("Uniqueid", call)],
            [("Event", "Rename"), ("Privilege", "call,all"), ("Channel", aConsult), ("Newname", trunk), ("Uniqueid", consult)],
            [("Event", "Rename"), ("Privilege", "call,all"), ("Channel", trunk + "<MASQ>"), ("Newname", aConsult + "<ZOMBIE>"), ("Uniqueid", call)],
            hangup(aConsult + "<ZOMBIE>", call, caller: "02144556677"),
            hangup(a, "1764180000.51", caller: "201"),
            hangup(trunk, consult, caller: "02144556677"),
            hangup(b, "1764180030.54", caller: "202"),
        ])
    }

    func assertOneCustomerCall(_ events: [CallEvent], transferAt: Int, endAt: Int, file: StaticString = #filePath, line: UInt = #line) {
        let customerId = StableID.make("office", "ami", Self.customer)
        let consultId = StableID.make("office", "ami", Self.consultation)
        let ended = events.ofType(.callEnded)
        XCTAssertEqual(ended.map(\.callId), [consultId, customerId], "the consultation ends at the transfer, the customer's call at the end", file: file, line: line)
        let customer = ended.last
        XCTAssertEqual(customer?.direction, .inbound, file: file, line: line)
        XCTAssertEqual(customer?.from, "+982144556677", file: file, line: line)
        XCTAssertEqual(customer?.disposition, .answered, file: file, line: line)
        XCTAssertEqual(customer?.answeredBy, "201", file: file, line: line)
        XCTAssertEqual(customer?.transferredTo, "202", file: file, line: line)
        XCTAssertEqual(customer?.to, "201", file: file, line: line)
        XCTAssertEqual(customer?.extensions, ["201"], "202 never rang for the customer", file: file, line: line)
        XCTAssertEqual(customer?.answeredAt, StreamRunner.defaultStart.adding(seconds: 5), file: file, line: line)
        XCTAssertEqual(customer?.endedAt, StreamRunner.defaultStart.adding(seconds: endAt), "ends when the last of customer and 202 hangs up", file: file, line: line)
        let consultation = ended.first
        XCTAssertEqual(consultation?.direction, .internal, file: file, line: line)
        XCTAssertEqual(consultation?.from, "201", file: file, line: line)
        XCTAssertEqual(consultation?.to, "202", file: file, line: line)
        XCTAssertEqual(consultation?.answeredBy, "202", file: file, line: line)
        XCTAssertEqual(consultation?.endedAt, StreamRunner.defaultStart.adding(seconds: transferAt), file: file, line: line)
        XCTAssertEqual(events.ofType(.callAnswered).map(\.callId), [customerId, consultId], file: file, line: line)
        XCTAssertTrue(events.ofType(.extensionState).contains { $0.extension == "202" && $0.state == "inUse" && $0.callId == customerId && $0.peer == "+982144556677" },
                      "202's dashboard state names the customer's call after the transfer", file: file, line: line)
        XCTAssertEqual(events.ofType(.extensionState).filter { $0.extension == "202" }.last?.state, "idle", file: file, line: line)
        for event in events { XCTAssertNoThrow(try event.validate(), file: file, line: line) }
    }

    func testAsterisk13AttendedTransferKeepsTheCustomersCallOne() {
        var runner = StreamRunner(settings: Self.settings)
        let events = runner.feed(Self.v13AttendedTransfer())
        assertOneCustomerCall(events, transferAt: 14, endAt: 18)
        XCTAssertEqual(runner.stream.tracker.liveCallCount, 0)
        XCTAssertEqual(runner.stream.tracker.liveChannelCount, 0)
    }

    func testAsterisk18AttendedTransferByMasqueradeKeepsTheCustomersCallOne() {
        var runner = StreamRunner(settings: Self.settings)
        let events = runner.feed(Self.v18AttendedTransfer())
        assertOneCustomerCall(events, transferAt: 17, endAt: 22)
        XCTAssertEqual(runner.stream.tracker.liveCallCount, 0)
        XCTAssertEqual(runner.stream.tracker.liveChannelCount, 0)
    }

    func testAsterisk18AttendedTransferMovingTheConsultedPhoneKeepsTheCustomersCallOne() {
        var runner = StreamRunner(settings: Self.settings)
        let events = runner.feed(Self.v18AttendedTransfer(consultedPhoneMoves: true))
        assertOneCustomerCall(events, transferAt: 20, endAt: 22)
        XCTAssertEqual(runner.stream.tracker.liveCallCount, 0)
        XCTAssertEqual(runner.stream.tracker.liveChannelCount, 0)
    }
}
