import AMIProtocol
import Foundation
import TamasEvents
import XCTest

/// A Hangup that never arrives (PAINPOINTS #9) must not leave a call open forever, and a flood
/// of channels whose Hangups are lost must not grow memory without bound. The clock is the one
/// passed in, so hours pass in an instant.
final class LostHangupTests: XCTestCase {
    static let settings = HandBuiltStreamTests.freepbx
    static let sweepReason = "no Hangup seen: closed after 12 h without an event for the call; endedAt is the last event seen"

    /// 13+: inbound call answered by 201 (the first six messages of the blind-transfer stream:
    /// Newchannel x2, DialBegin, Ringing, Up, DialEnd), then nothing: both Hangups are lost.
    func answeredCallWithoutHangups() -> (StreamRunner, [CallEvent]) {
        var runner = StreamRunner(settings: Self.settings)
        let events = runner.feed(Array(HandBuiltStreamTests.blindTransferStream().prefix(6)))
        return (runner, events)
    }

    func testAnAnsweredCallWhoseHangupsAreLostIsClosedAfterTwelveHoursWithoutEvents() throws {
        var (runner, events) = answeredCallWithoutHangups()
        let lastEvent = StreamRunner.defaultStart.adding(seconds: 6)
        XCTAssertEqual(events.ofType(.callEnded), [])
        XCTAssertEqual(runner.stream.tracker.liveCallCount, 1)

        XCTAssertEqual(runner.stream.tick(now: lastEvent.adding(seconds: 12 * 3600 - 60)), [], "not yet stale")
        XCTAssertEqual(runner.stream.tracker.liveChannelCount, 2)

        let sweepAt = lastEvent.adding(seconds: 12 * 3600 + 60)
        let swept = runner.stream.tick(now: sweepAt)
        let ended = swept.ofType(.callEnded)
        XCTAssertEqual(ended.count, 1)
        let call = try XCTUnwrap(ended.first)
        XCTAssertEqual(call.callId, events.ofType(.callAnswered).first?.callId)
        XCTAssertEqual(call.disposition, .answered, "the answer was seen; only the end is unknown")
        XCTAssertEqual(call.detail, Self.sweepReason)
        XCTAssertEqual(call.answeredBy, "201")
        XCTAssertEqual(call.answeredAt, StreamRunner.defaultStart.adding(seconds: 5))
        XCTAssertEqual(call.endedAt, lastEvent, "ends at the last event seen, not 12 h later")
        XCTAssertEqual(call.durationSec, 1)
        XCTAssertEqual(call.at, sweepAt)
        XCTAssertNoThrow(try call.validate())
        XCTAssertEqual(swept.ofType(.extensionState).map { "\($0.extension ?? "")=\($0.state ?? "")" }, ["201=idle"])
        XCTAssertEqual(runner.stream.tracker.liveCallCount, 0)
        XCTAssertEqual(runner.stream.tracker.liveChannelCount, 0)
        XCTAssertEqual(runner.stream.tick(now: sweepAt.adding(seconds: 3600)), [], "closed once")
    }

    func testAnyEventOnOneOfTheCallsChannelsKeepsItOpen() {
        var (runner, _) = answeredCallWithoutHangups()
        runner.now = StreamRunner.defaultStart.adding(seconds: 11 * 3600)
        let hold = [("Event", "Hold"), ("Channel", "PJSIP/201-00000031"), ("Uniqueid", "1764150400.51"), ("Linkedid", "1764150400.50")]
        _ = runner.feed([hold])
        XCTAssertEqual(runner.stream.tick(now: StreamRunner.defaultStart.adding(seconds: 13 * 3600)).ofType(.callEnded), [],
                       "the Hold two hours ago is recent activity")
        let ended = runner.stream.tick(now: StreamRunner.defaultStart.adding(seconds: 23 * 3600 + 2)).ofType(.callEnded)
        XCTAssertEqual(ended.map(\.endedAt), [StreamRunner.defaultStart.adding(seconds: 11 * 3600 + 1)])
    }

    func testTheSweepRunsAtMostOnceAMinute() {
        var (runner, _) = answeredCallWithoutHangups()
        let early = StreamRunner.defaultStart.adding(seconds: 12 * 3600)
        XCTAssertEqual(runner.stream.tick(now: early), [])
        XCTAssertEqual(runner.stream.tick(now: early.adding(seconds: 30)), [], "stale by now, but the last sweep was 30 s ago")
        XCTAssertEqual(runner.stream.tick(now: early.adding(seconds: 60)).ofType(.callEnded).count, 1)
    }

    /// 1.8: 201 calls 202, which rings; then nothing. Unanswered outbound/internal -> failed;
    /// an inbound call nobody answered stays missed (the caller still needs a call back).
    func testUnansweredCallsWithoutHangupAreFailedOrMissed() {
        var runner = StreamRunner(settings: Self.settings)
        _ = runner.feed([
            [("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", "SIP/201-00000010"), ("ChannelState", "4"), ("ChannelStateDesc", "Ring"), ("CallerIDNum", "201"), ("CallerIDName", "Reception"), ("AccountCode", ""), ("Exten", "202"), ("Context", "from-internal"), ("Uniqueid", "1764150200.30")],
            [("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", "SIP/202-00000011"), ("ChannelState", "0"), ("ChannelStateDesc", "Down"), ("CallerIDNum", "202"), ("CallerIDName", "Sales"), ("AccountCode", ""), ("Exten", ""), ("Context", "from-internal"), ("Uniqueid", "1764150200.31")],
            [("Event", "Dial"), ("Privilege", "call,all"), ("SubEvent", "Begin"), ("Channel", "SIP/201-00000010"), ("Destination", "SIP/202-00000011"), ("CallerIDNum", "201"), ("CallerIDName", "Reception"), ("ConnectedLineNum", "202"), ("ConnectedLineName", "Sales"), ("UniqueID", "1764150200.30"), ("DestUniqueID", "1764150200.31"), ("Dialstring", "202")],
            [("Event", "Newstate"), ("Privilege", "call,all"), ("Channel", "SIP/202-00000011"), ("ChannelState", "5"), ("ChannelStateDesc", "Ringing"), ("CallerIDNum", "202"), ("CallerIDName", "Sales"), ("ConnectedLineNum", "201"), ("ConnectedLineName", "Reception"), ("Uniqueid", "1764150200.31")],
        ])
        _ = runner.feed(Array(HandBuiltStreamTests.v14RingGroupMissed.prefix(8)))
        let ended = runner.stream.tick(now: runner.now.adding(seconds: 13 * 3600)).ofType(.callEnded)
        XCTAssertEqual(ended.map { "\($0.direction?.rawValue ?? "") \($0.disposition?.rawValue ?? "") \($0.durationSec ?? -1)" },
                       ["inbound missed 0", "internal failed 0"])
        XCTAssertEqual(ended.map(\.detail), [Self.sweepReason, Self.sweepReason])
        XCTAssertEqual(ended.map(\.extensions), [["201", "202"], ["202"]])
        XCTAssertEqual(runner.stream.tracker.liveChannelCount, 0)
    }

    /// One inbound channel per call (a trunk channel ringing in, Linkedid = its Uniqueid).
    static func ringingInbound(_ number: Int) -> [(String, String)] {
        let uniqueid = "1764170000.\(number)"
        return [("Event", "Newchannel"), ("Channel", "PJSIP/mytrunk-\(1000 + number)"), ("ChannelState", "4"), ("CallerIDNum", "0912000\(1000 + number)"),
                ("Context", "from-pstn"), ("Exten", "88776655"), ("Uniqueid", uniqueid), ("Linkedid", uniqueid)]
    }

    func testTheChannelLimitClosesTheLeastRecentlyActiveCallsAndSaysSoOnce() {
        var settings = Self.settings
        settings.maxTrackedChannels = 10
        var runner = StreamRunner(settings: settings)
        let events = runner.feed((1...12).map(Self.ringingInbound))
        let limitReason = "no Hangup seen: closed to stay under maxTrackedChannels (10) as one of the least recently active calls; endedAt is the last event seen"
        let ended = events.ofType(.callEnded)
        XCTAssertEqual(ended.map(\.callId), [1, 2].map { StableID.make("office", "ami", "1764170000.\($0)") },
                       "the 11th channel makes room for 9: the two oldest calls go")
        XCTAssertEqual(ended.map(\.disposition), [.missed, .missed])
        XCTAssertEqual(ended.map(\.detail), [limitReason, limitReason])
        XCTAssertEqual(ended.map(\.endedAt), [1, 2].map { StreamRunner.defaultStart.adding(seconds: $0) })
        let statuses = events.ofType(.agentStatus)
        XCTAssertEqual(statuses.map(\.state), ["channelLimit"], "one status, not one per channel")
        XCTAssertEqual(statuses.first?.detail, "more than 10 channels tracked (maxTrackedChannels): the 2 least recently active calls were closed as if hung up; Hangups are being lost or the limit is too low")
        XCTAssertEqual(runner.stream.tracker.liveChannelCount, 10)

        let more = runner.feed((13...14).map(Self.ringingInbound))
        XCTAssertEqual(more.ofType(.callEnded).map(\.callId), [3, 4].map { StableID.make("office", "ami", "1764170000.\($0)") })
        XCTAssertEqual(more.ofType(.agentStatus), [], "still over the limit: already said")

        _ = runner.feed((5...9).map { [("Event", "Hangup"), ("Uniqueid", "1764170000.\($0)"), ("Cause", "16")] })
        let recovered = runner.stream.tick(now: runner.now.adding(seconds: 1)).ofType(.agentStatus)
        XCTAssertEqual(recovered.map(\.state), ["channelsOk"])
        XCTAssertEqual(recovered.first?.detail, "5 channels tracked, under half the limit of 10")
    }

    /// Through the client state machine: the sweep runs from `tick` while logged in, but not
    /// while the channel listing of a resync is outstanding (that listing ends gone calls itself).
    func testTheClientSweepsFromTickOnlyWhenNoResyncListingIsOutstanding() {
        let t0 = StreamRunner.defaultStart
        func client(listingAnswered: Bool) -> AMIClientStateMachine {
            var client = AMIClientStateMachine(settings: Self.settings, jitter: FixedJitter(value: 0))
            _ = client.connected(now: t0)
            _ = client.receive(Wire.bytes("Asterisk Call Manager/2.10.6\r\n"), now: t0)
            _ = client.receive(Wire.bytes(Wire.message([("Response", "Success"), ("ActionID", "tamas-1-1"), ("Message", "Authentication accepted")])), now: t0)
            var answers = (3...6).map { Wire.message([("Response", "Error"), ("ActionID", "tamas-1-\($0)"), ("Message", "Permission denied")]) }.joined()
            if listingAnswered {
                answers += Wire.message([("Response", "Success"), ("ActionID", "tamas-1-2"), ("EventList", "start")])
                    + Wire.message([("Event", "CoreShowChannelsComplete"), ("ActionID", "tamas-1-2"), ("EventList", "Complete"), ("ListItems", "0")])
            }
            _ = client.receive(Wire.bytes(answers), now: t0)
            _ = client.receive(Wire.bytes(HandBuiltStreamTests.blindTransferStream().prefix(6).map { Wire.message($0) }.joined()), now: t0)
            return client
        }
        func ended(_ outputs: [AMIClientStateMachine.Output]) -> [CallEvent] {
            outputs.compactMap { if case .events(let events) = $0 { events } else { nil } }.flatMap { $0 }.ofType(.callEnded)
        }
        /// Pings go out on ticks too; an unanswered one would count as a dead link.
        func tickAnsweringPing(_ client: inout AMIClientStateMachine, at now: Timestamp) -> [AMIClientStateMachine.Output] {
            let outputs = client.tick(now: now)
            for case .send(let bytes) in outputs {
                let text = String(decoding: bytes, as: UTF8.self)
                guard text.hasPrefix("Action: Ping"), let id = text.split(separator: "\r\n").first(where: { $0.hasPrefix("ActionID: ") })?.dropFirst(10) else { continue }
                _ = client.receive(Wire.bytes(Wire.message([("Response", "Success"), ("ActionID", String(id)), ("Ping", "Pong")])), now: now)
            }
            return outputs
        }
        var listed = client(listingAnswered: true)
        XCTAssertEqual(ended(tickAnsweringPing(&listed, at: t0.adding(seconds: 12 * 3600 - 1))), [])
        XCTAssertEqual(ended(tickAnsweringPing(&listed, at: t0.adding(seconds: 12 * 3600 + 60))).map(\.detail), [Self.sweepReason])
        XCTAssertTrue(listed.isLoggedIn)

        var listing = client(listingAnswered: false)
        XCTAssertEqual(ended(listing.tick(now: t0.adding(seconds: 12 * 3600 + 60))), [], "CoreShowChannels is still unanswered")
    }
}
