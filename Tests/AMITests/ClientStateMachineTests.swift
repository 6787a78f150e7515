import AMIProtocol
import Foundation
import TamasEvents
import XCTest

final class ClientStateMachineTests: XCTestCase {
    let t0 = Timestamp(epochMillis: 1_764_150_000_000)

    func settings(_ change: (inout AMISettings) -> Void = { _ in }) -> AMISettings {
        var settings = AMISettings(systemKey: "pbx1", username: "nnnnnnnnn", secret: "yyyyyyyyyyyy", version: .auto, channelTechnology: .pjsip)
        change(&settings)
        return settings
    }

    private func sent(_ outputs: [AMIClientStateMachine.Output]) -> [String] {
        outputs.compactMap { if case .send(let bytes) = $0 { String(decoding: bytes, as: UTF8.self) } else { nil } }
    }

    private func statuses(_ outputs: [AMIClientStateMachine.Output]) -> [AMIClientStateMachine.Status] {
        outputs.compactMap { if case .status(let status) = $0 { status } else { nil } }
    }

    private func loggedIn(_ settings: AMISettings, banner: String = "Asterisk Call Manager/2.10.6") -> AMIClientStateMachine {
        var client = AMIClientStateMachine(settings: settings, jitter: FixedJitter(value: 0))
        _ = client.connected(now: t0)
        _ = client.receive(Wire.bytes(banner + "\r\n"), now: t0)
        _ = client.receive(Wire.bytes(Wire.message([("Response", "Success"), ("ActionID", "tamas-1-1"), ("Message", "Authentication accepted")])), now: t0)
        return client
    }

    func testPlainLoginThenResyncForThirteenPlus() {
        var client = AMIClientStateMachine(settings: settings(), jitter: FixedJitter(value: 0))
        XCTAssertEqual(statuses(client.connected(now: t0)), [.awaitingBanner])
        let afterBanner = client.receive(Wire.bytes("Asterisk Call Manager/2.10.6\r\n"), now: t0)
        XCTAssertEqual(statuses(afterBanner), [.authenticating(.v13plus)])
        XCTAssertEqual(sent(afterBanner), ["Action: Login\r\nActionID: tamas-1-1\r\nUsername: nnnnnnnnn\r\nSecret: yyyyyyyyyyyy\r\nEvents: on\r\n\r\n"])
        let afterLogin = client.receive(Wire.bytes(Wire.message([("Response", "Success"), ("ActionID", "tamas-1-1"), ("Message", "Authentication accepted")])), now: t0)
        XCTAssertEqual(statuses(afterLogin), [.connected(.v13plus)])
        XCTAssertEqual(sent(afterLogin), [
            "Action: CoreShowChannels\r\nActionID: tamas-1-2\r\n\r\n",
            "Action: ExtensionStateList\r\nActionID: tamas-1-3\r\n\r\n",
            "Action: PJSIPShowEndpoints\r\nActionID: tamas-1-4\r\n\r\n",
        ])
        XCTAssertTrue(client.isLoggedIn)
        let events = afterLogin.compactMap { if case .events(let events) = $0 { events } else { nil } }.flatMap { $0 }
        XCTAssertEqual(events.map(\.state), ["connected"])
    }

    func testVersionDetectionFromBanner() {
        XCTAssertEqual(AMIDialect(bannerVersion: "1.0"), .v1_4)
        XCTAssertEqual(AMIDialect(bannerVersion: "1.1"), .v1_8)
        XCTAssertEqual(AMIDialect(bannerVersion: "1.3"), .v11)
        XCTAssertEqual(AMIDialect(bannerVersion: "7.0.3"), .v13plus)
        var client = AMIClientStateMachine(settings: settings { $0.channelTechnology = .sip }, jitter: FixedJitter(value: 0))
        _ = client.connected(now: t0)
        _ = client.receive(Wire.bytes("Asterisk Call Manager/1.0\r\n"), now: t0)
        let outputs = client.receive(Wire.bytes(Wire.message([("Response", "Success"), ("ActionID", "tamas-1-1")])), now: t0)
        XCTAssertEqual(client.dialect, .v1_4)
        XCTAssertEqual(sent(outputs), ["Action: Status\r\nActionID: tamas-1-2\r\n\r\n", "Action: SIPpeers\r\nActionID: tamas-1-3\r\n\r\n"])
    }

    func testRejectedLoginIsTerminalNotARetryStorm() {
        var client = AMIClientStateMachine(settings: settings(), jitter: FixedJitter(value: 0))
        _ = client.connected(now: t0)
        _ = client.receive(Wire.bytes("Asterisk Call Manager/1.3\r\n"), now: t0)
        let outputs = client.receive(Wire.bytes(Wire.message([("Response", "Error"), ("Message", "Authentication failed"), ("ActionID", "tamas-1-1")])), now: t0)
        XCTAssertEqual(statuses(outputs), [.loginRejected(reason: "login rejected: Authentication failed")])
        XCTAssertTrue(outputs.contains(.close))
        let events = outputs.compactMap { if case .events(let events) = $0 { events } else { nil } }.flatMap { $0 }
        XCTAssertEqual(events.first?.type, .agentStatus)
        XCTAssertEqual(events.first?.state, "loginRejected")
        XCTAssertEqual(client.connectionClosed(now: t0.adding(seconds: 1)), [])
        XCTAssertEqual(client.tick(now: t0.adding(seconds: 100)), [])
        XCTAssertEqual(client.connected(now: t0.adding(seconds: 200)), [.close])
    }

    func testMD5ChallengeLogin() {
        var client = AMIClientStateMachine(settings: settings { $0.authentication = .md5 }, jitter: FixedJitter(value: 0))
        _ = client.connected(now: t0)
        let challenge = client.receive(Wire.bytes("Asterisk Call Manager/7.0.3\r\n"), now: t0)
        XCTAssertEqual(sent(challenge), ["Action: Challenge\r\nActionID: tamas-1-1\r\nAuthType: MD5\r\n\r\n"])
        let login = client.receive(Wire.bytes(Wire.message([("Response", "Success"), ("Challenge", "145769581"), ("ActionID", "tamas-1-1")])), now: t0)
        XCTAssertEqual(sent(login), ["Action: Login\r\nActionID: tamas-1-2\r\nAuthType: MD5\r\nUsername: nnnnnnnnn\r\nKey: e9a862b3f6a759df261c435b8fb13493\r\nEvents: on\r\n\r\n"])
        let done = client.receive(Wire.bytes(Wire.message([("Response", "Success"), ("ActionID", "tamas-1-2"), ("Message", "Authentication accepted")])), now: t0)
        XCTAssertEqual(statuses(done), [.connected(.v13plus)])
    }

    func testPingKeepaliveAndMissedPongMeansReconnect() {
        var client = loggedIn(settings())
        XCTAssertEqual(client.tick(now: t0.adding(seconds: 5)), [])
        let ping = client.tick(now: t0.adding(seconds: 20))
        XCTAssertEqual(sent(ping), ["Action: Ping\r\nActionID: tamas-1-5\r\n\r\n"])
        _ = client.receive(Wire.bytes(Wire.message([("Response", "Success"), ("ActionID", "tamas-1-5"), ("Ping", "Pong"), ("Timestamp", "1409169929.412068")])), now: t0.adding(seconds: 21))
        XCTAssertEqual(client.tick(now: t0.adding(seconds: 35)), [])
        let second = client.tick(now: t0.adding(seconds: 40))
        XCTAssertEqual(sent(second), ["Action: Ping\r\nActionID: tamas-1-6\r\n\r\n"])
        XCTAssertEqual(client.tick(now: t0.adding(seconds: 49)), [])
        let dead = client.tick(now: t0.adding(seconds: 50))
        XCTAssertEqual(statuses(dead), [.linkLost(reason: "no answer to Ping within 10 s")])
        XCTAssertTrue(dead.contains(.reconnect(afterMillis: 500)))
        XCTAssertFalse(client.isLoggedIn)
    }

    func testOldPongFormIsAccepted() {
        var client = loggedIn(settings { $0.channelTechnology = .sip }, banner: "Asterisk Call Manager/1.0")
        let ping = sent(client.tick(now: t0.adding(seconds: 20)))
        XCTAssertEqual(ping, ["Action: Ping\r\nActionID: tamas-1-4\r\n\r\n"])
        _ = client.receive(Wire.bytes(Wire.message([("Response", "Pong"), ("ActionID", "tamas-1-4")])), now: t0.adding(seconds: 21))
        XCTAssertEqual(client.tick(now: t0.adding(seconds: 35)), [])
    }

    func testBackoffGrowsWithJitterAndIsCappedAtSixtySeconds() {
        var client = AMIClientStateMachine(settings: settings(), jitter: FixedJitter(value: UInt64.max))
        var delays: [Int64] = []
        for attempt in 0..<12 {
            let now = t0.adding(seconds: attempt * 100)
            _ = client.connected(now: now)
            for output in client.connectionClosed(now: now) {
                if case .reconnect(let millis) = output { delays.append(millis) }
            }
        }
        XCTAssertEqual(delays.count, 12)
        XCTAssertEqual(delays.first, 1000)
        XCTAssertEqual(delays.max(), 60_000)
        XCTAssertEqual(delays, delays.sorted())
        var low = AMIClientStateMachine(settings: settings(), jitter: FixedJitter(value: 0))
        _ = low.connected(now: t0)
        XCTAssertTrue(low.connectionClosed(now: t0).contains(.reconnect(afterMillis: 500)))
    }

    func testNoBannerWithinTimeoutReconnects() {
        var client = AMIClientStateMachine(settings: settings(), jitter: FixedJitter(value: 0))
        _ = client.connected(now: t0)
        XCTAssertEqual(client.tick(now: t0.adding(seconds: 9)), [])
        XCTAssertTrue(client.tick(now: t0.adding(seconds: 10)).contains(.reconnect(afterMillis: 500)))
    }

    func testEventListIsCollectedUntilComplete() {
        var client = loggedIn(settings())
        let (id, outputs) = client.send(AMIActions.coreShowChannels(), now: t0)
        XCTAssertEqual(id, "tamas-1-5")
        XCTAssertEqual(sent(outputs), ["Action: CoreShowChannels\r\nActionID: tamas-1-5\r\n\r\n"])
        var results: [AMIClientStateMachine.ActionResult] = []
        let text = Wire.message([("Response", "Success"), ("ActionID", "tamas-1-5"), ("EventList", "start"), ("Message", "Channels will follow")])
            + Wire.message([("Event", "CoreShowChannel"), ("ActionID", "tamas-1-5"), ("Channel", "PJSIP/201-00000001"), ("Uniqueid", "1.1"), ("Linkedid", "1.1"), ("ChannelState", "6"), ("Duration", "00:00:10")])
            + Wire.message([("Event", "CoreShowChannel"), ("ActionID", "tamas-1-5"), ("Channel", "PJSIP/202-00000002"), ("Uniqueid", "1.2"), ("Linkedid", "1.1"), ("ChannelState", "6"), ("Duration", "00:00:08")])
            + Wire.message([("Event", "CoreShowChannelsComplete"), ("ActionID", "tamas-1-5"), ("EventList", "Complete"), ("ListItems", "2")])
        for output in client.receive(Wire.bytes(text), now: t0) {
            if case .result(let result) = output { results.append(result) }
        }
        XCTAssertEqual(results.count, 1)
        XCTAssertEqual(results[0].listEvents.map { $0["uniqueid"] }, ["1.1", "1.2"])
        XCTAssertTrue(results[0].success)
        XCTAssertTrue(results[0].final)
    }

    func testCommandOutputBothForms() {
        var client = loggedIn(settings())
        let (old, _) = client.send(AMIActions.command("core show version"), now: t0)
        let (new, _) = client.send(AMIActions.command("core show version"), now: t0)
        let text = "Response: Follows\r\nPrivilege: Command\r\nActionID: \(old ?? "")\r\nAsterisk 11.11.0+xivo built by root @ wheezy-farm on a x86_64 running Linux on 2014-08-06 19:30:37 UTC\r\n--END COMMAND--\r\n\r\n"
            + Wire.message([("Response", "Success"), ("ActionID", new ?? ""), ("Message", "Command output follows"), ("Output", "Asterisk 20.20.1 built by x"), ("Output", "")])
        let results = client.receive(Wire.bytes(text), now: t0).compactMap { if case .result(let result) = $0 { result } else { nil } }
        XCTAssertEqual(results.map(\.output), [
            ["Asterisk 11.11.0+xivo built by root @ wheezy-farm on a x86_64 running Linux on 2014-08-06 19:30:37 UTC"],
            ["Asterisk 20.20.1 built by x", ""],
        ])
    }

    func testAsyncOriginateReportsQueuedThenTheOutcome() throws {
        var client = loggedIn(settings())
        let (id, outputs) = client.send(try client.clickToCall(userExtension: "201", number: "09121234567"), now: t0)
        XCTAssertEqual(sent(outputs).count, 1)
        let text = Wire.message([("Response", "Success"), ("ActionID", id ?? ""), ("Message", "Originate successfully queued")])
            + Wire.message([("Event", "OriginateResponse"), ("Privilege", "call,all"), ("ActionID", id ?? ""), ("Response", "Failure"), ("Channel", "PJSIP/201"), ("Reason", "3")])
        let results = client.receive(Wire.bytes(text), now: t0).compactMap { if case .result(let result) = $0 { result } else { nil } }
        XCTAssertEqual(results.map(\.final), [false, true])
        XCTAssertEqual(results.map(\.success), [true, false])
        XCTAssertEqual(results.last?.message, "reason 3")
    }

    /// 1.4 lists have no `EventList:` headers: the acknowledgement says the list "will follow".
    func testAsterisk14ListWithoutEventListHeadersIsCollected() {
        var client = loggedIn(settings { $0.channelTechnology = .sip }, banner: "Asterisk Call Manager/1.0")
        let (id, _) = client.send(AMIActions.sipPeers(), now: t0)
        let text = Wire.message([("Response", "Success"), ("ActionID", id ?? ""), ("Message", "Peer status list will follow")])
            + Wire.message([("Event", "PeerEntry"), ("ActionID", id ?? ""), ("Channeltype", "SIP"), ("ObjectName", "201"), ("Status", "OK (3 ms)")])
            + Wire.message([("Event", "PeerEntry"), ("ActionID", id ?? ""), ("Channeltype", "SIP"), ("ObjectName", "mytrunk"), ("Status", "OK (9 ms)")])
            + Wire.message([("Event", "PeerlistComplete"), ("ListItems", "2"), ("ActionID", id ?? "")])
        let results = client.receive(Wire.bytes(text), now: t0).compactMap { if case .result(let result) = $0 { result } else { nil } }
        XCTAssertEqual(results.count, 1)
        XCTAssertEqual(results.first?.listEvents.map { $0["objectname"] }, ["201", "mytrunk"])
        XCTAssertEqual(results.first?.final, true)
    }

    /// 1.4 has no OriginateResponse: fast_originate names the event by the outcome.
    func testAsyncOriginateOnAsterisk14EndsWithOriginateSuccessOrFailure() throws {
        var client = loggedIn(settings { $0.channelTechnology = .sip }, banner: "Asterisk Call Manager/1.0")
        let (failedID, _) = client.send(try client.clickToCall(userExtension: "202", number: "09121234567"), now: t0)
        let (placedID, _) = client.send(try client.clickToCall(userExtension: "201", number: "09121234567"), now: t0)
        let text = Wire.message([("Response", "Success"), ("ActionID", failedID ?? ""), ("Message", "Originate successfully queued")])
            + Wire.message([("Response", "Success"), ("ActionID", placedID ?? ""), ("Message", "Originate successfully queued")])
            + Wire.message([("Event", "OriginateFailure"), ("Privilege", "call,all"), ("ActionID", failedID ?? ""), ("Channel", "SIP/202"),
                            ("Context", "from-internal"), ("Exten", "909121234567"), ("Reason", "5"), ("Uniqueid", "<null>"),
                            ("CallerID", "202"), ("CallerIDNum", "202"), ("CallerIDName", "09121234567")])
            + Wire.message([("Event", "OriginateSuccess"), ("Privilege", "call,all"), ("ActionID", placedID ?? ""), ("Channel", "SIP/201"),
                            ("Context", "from-internal"), ("Exten", "909121234567"), ("Reason", "4"), ("Uniqueid", "1764150000.9"),
                            ("CallerID", "201"), ("CallerIDNum", "201"), ("CallerIDName", "09121234567")])
        let results = client.receive(Wire.bytes(text), now: t0).compactMap { if case .result(let result) = $0 { result } else { nil } }
        XCTAssertEqual(results.map(\.actionID), [failedID, placedID, failedID, placedID].compactMap { $0 })
        XCTAssertEqual(results.map(\.final), [false, false, true, true])
        XCTAssertEqual(results.map(\.success), [true, true, false, true])
        XCTAssertEqual(results.map(\.message), ["Originate successfully queued", "Originate successfully queued", "reason 5", "reason 4"])
    }

    func testFullyBootedTriggersResyncAndPermissionDeniedIsReported() {
        var client = loggedIn(settings { $0.channelTechnology = .sip })
        let text = Wire.message([("Response", "Error"), ("ActionID", "tamas-1-2"), ("Message", "Permission denied")])
            + Wire.message([("Response", "Success"), ("ActionID", "tamas-1-3"), ("EventList", "start")])
            + Wire.message([("Event", "ExtensionStateListComplete"), ("ActionID", "tamas-1-3"), ("EventList", "Complete")])
            + Wire.message([("Response", "Success"), ("ActionID", "tamas-1-4"), ("EventList", "start")])
            + Wire.message([("Event", "PeerlistComplete"), ("ActionID", "tamas-1-4"), ("EventList", "Complete")])
        let outputs = client.receive(Wire.bytes(text), now: t0)
        XCTAssertEqual(statuses(outputs), [], "a refused list is not a link state")
        let refusal = AMIRefusal(action: "CoreShowChannels", message: "Permission denied", dialect: .v13plus)
        XCTAssertEqual(refusal.kind, .permissionDenied)
        XCTAssertEqual(outputs.compactMap { if case .refused(let refusal) = $0 { refusal } else { nil } }, [refusal])
        XCTAssertEqual(client.resyncRefusals, [refusal])
        let booted = client.receive(Wire.bytes(Wire.message([("Event", "FullyBooted"), ("Privilege", "system,all"), ("Status", "Fully Booted")])), now: t0)
        XCTAssertEqual(sent(booted).count, 3)
        XCTAssertTrue(sent(booted)[0].hasPrefix("Action: CoreShowChannels\r\n"))
        let again = client.receive(Wire.bytes(Wire.message([("Event", "Reload"), ("Privilege", "system,all")])), now: t0)
        XCTAssertEqual(sent(again), [], "a resync already in flight is not repeated")
    }

    func testAUserActionsRefusalSaysWhyAndListCommandsNamesThePermittedActions() {
        var client = loggedIn(settings())
        let (commandID, _) = client.send(AMIActions.command("core show version"), now: t0)
        let refused = client.receive(Wire.bytes(Wire.message([("Response", "Error"), ("ActionID", commandID ?? ""), ("Message", "Permission denied")])), now: t0)
        let refusal = refused.compactMap { if case .result(let result) = $0 { result.refusal } else { nil } }.first
        XCTAssertEqual(refusal?.kind, .permissionDenied)
        XCTAssertEqual(refusal?.detail, "Command: Permission denied; add 'command' to the AMI user's write line in manager.conf")

        let (listID, _) = client.send(AMIActions.listCommands(), now: t0)
        let answer = client.receive(Wire.bytes("Response: Success\r\nActionID: \(listID ?? "")\r\nPing: Keepalive command. (Priv: <none>)\r\n"
            + "CoreShowChannels: List currently active channels. (Priv: system,reporting,all)\r\n\r\n"), now: t0)
        let result = answer.compactMap { if case .result(let result) = $0 { result } else { nil } }.first
        XCTAssertEqual(result?.success, true)
        XCTAssertNil(result?.refusal)
        XCTAssertEqual(AMIPermittedActions.names(in: result?.headers ?? []), ["ping", "coreshowchannels"])
    }

    func testActionsBeforeLoginAreRefusedLocally() {
        var client = AMIClientStateMachine(settings: settings(), jitter: FixedJitter(value: 0))
        let (id, outputs) = client.send(AMIActions.ping(), now: t0)
        XCTAssertNil(id)
        XCTAssertEqual(sent(outputs), [])
    }

    func testCallEventsFlowThroughTheClient() {
        var client = loggedIn(settings())
        let text = Wire.message([("Event", "Newchannel"), ("Channel", "PJSIP/201-00000001"), ("ChannelState", "4"), ("Exten", "205"), ("Context", "from-internal"), ("Uniqueid", "5.1"), ("Linkedid", "5.1")])
        let events = client.receive(Wire.bytes(text), now: t0).compactMap { if case .events(let events) = $0 { events } else { nil } }.flatMap { $0 }
        XCTAssertEqual(events.map(\.type), [.extensionState])
        XCTAssertEqual(client.tracker.technology(ofExtension: "201"), .pjsip)
    }

    /// A 13+ box running chan_sip and PJSIP side by side: the resync lists both, and a phone
    /// that has made no call yet is rung with the driver it was listed under, not the 13+
    /// default. A channel actually seen wins over the listing; PeerStatus names the driver too.
    func testClickToCallUsesTheTechnologyEachExtensionWasListedUnder() throws {
        var client = loggedIn(settings { $0.channelTechnology = .auto })
        let listings = Wire.message([("Response", "Success"), ("ActionID", "tamas-1-4"), ("EventList", "start"), ("Message", "Peer status list will follow")])
            + Wire.message([("Event", "PeerEntry"), ("ActionID", "tamas-1-4"), ("Channeltype", "SIP"), ("ObjectName", "201"), ("ChanObjectType", "peer"),
                            ("IPaddress", "10.0.0.9"), ("IPport", "5060"), ("Dynamic", "yes"), ("Status", "OK (5 ms)")])
            + Wire.message([("Event", "PeerEntry"), ("ActionID", "tamas-1-4"), ("Channeltype", "SIP"), ("ObjectName", "202"), ("ChanObjectType", "peer"),
                            ("IPaddress", "-none-"), ("IPport", "0"), ("Dynamic", "yes"), ("Status", "UNKNOWN")])
            + Wire.message([("Event", "PeerlistComplete"), ("ActionID", "tamas-1-4"), ("EventList", "Complete"), ("ListItems", "2")])
            + Wire.message([("Response", "Success"), ("ActionID", "tamas-1-5"), ("EventList", "start"), ("Message", "A listing of Endpoints follows")])
            + Wire.message([("Event", "EndpointList"), ("ActionID", "tamas-1-5"), ("ObjectType", "endpoint"), ("ObjectName", "301"),
                            ("Transport", "transport-udp"), ("Aors", "301"), ("DeviceState", "Unavailable"), ("ActiveChannels", "")])
            + Wire.message([("Event", "EndpointListComplete"), ("ActionID", "tamas-1-5"), ("EventList", "Complete"), ("ListItems", "1")])
            + Wire.message([("Event", "PeerStatus"), ("Privilege", "system,all"), ("ChannelType", "IAX2"), ("Peer", "IAX2/401"), ("PeerStatus", "Registered")])
        _ = client.receive(Wire.bytes(listings), now: t0)
        func channel(_ extensionNumber: String) -> String? {
            (try? client.clickToCall(userExtension: extensionNumber, number: "09121234567"))?.headers.first { $0.key == "Channel" }?.value
        }
        XCTAssertEqual(channel("201"), "SIP/201", "listed by SIPpeers")
        XCTAssertEqual(channel("202"), "SIP/202", "listed by SIPpeers though unregistered")
        XCTAssertEqual(channel("301"), "PJSIP/301", "listed by PJSIPShowEndpoints")
        XCTAssertEqual(channel("401"), "IAX2/401", "registered as IAX2/401")
        XCTAssertEqual(channel("501"), "PJSIP/501", "never listed: the 13+ default")
        let spy = try client.spy(.whisper, supervisor: "301", target: "201")
        XCTAssertEqual(spy.headers.first { $0.key == "Channel" }?.value, "PJSIP/301")
        XCTAssertEqual(spy.headers.first { $0.key == "Data" }?.value, "SIP/201-,qwE")

        let seen = Wire.message([("Event", "Newchannel"), ("Channel", "PJSIP/201-00000007"), ("ChannelState", "4"), ("Exten", "205"),
                                 ("Context", "from-internal"), ("Uniqueid", "6.1"), ("Linkedid", "6.1")])
        _ = client.receive(Wire.bytes(seen), now: t0)
        XCTAssertEqual(channel("201"), "PJSIP/201", "a channel seen after the listing (the phone moved to PJSIP) wins")
    }

    /// A call that ends without a recording variable comes out as the call's events, then one
    /// `.searchRecording` for the adapter, in the same `receive` that carried the last Hangup.
    func testARecordingSearchFollowsTheEndedCall() {
        var client = loggedIn(settings { $0.searchRecordingsByUniqueid = true })
        var outputs: [AMIClientStateMachine.Output] = []
        for message in HandBuiltStreamTests.blindTransferStream() {
            outputs = client.receive(Wire.bytes(Wire.message(message)), now: t0)
        }
        guard outputs.count == 2, case .events(let events) = outputs[0], case .searchRecording(let search) = outputs[1] else {
            return XCTFail("\(outputs)")
        }
        XCTAssertEqual(events.last?.type, .callEnded)
        XCTAssertEqual(search.callId, events.last?.callId)
        XCTAssertEqual(search.candidates.fileNameSuffixes.first, "-1764150400.50.wav")
    }
}
