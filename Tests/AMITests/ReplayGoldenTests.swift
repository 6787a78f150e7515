import AMIProtocol
import Foundation
import TamasEvents
import TestSupport
import XCTest

/// Replays every AMI capture in shared/fixtures/ami and compares with the reviewed expected
/// events in Golden/. Each golden file was checked against the capture: who called whom, who
/// answered, the disposition (see the comments per test and docs/asterisk.md).
final class ReplayGoldenTests: XCTestCase {
    /// VoIPGRID (cacofonisk) names phone accounts with 9 digits and routes through Local channels;
    /// their trunk is `voipgrid-siproute-*`; numbers are Dutch.
    static let voipgrid = AMISettings(
        systemKey: "voipgrid",
        numberPlan: NumberPlan(releaseCode: "", countryCode: "31", cityCode: "", nationalPrefix: "0", internationalPrefix: "00", maxExtensionLength: 9),
        channelRules: AMIChannelRules(trunkPeers: ["voipgrid-siproute*"], extensionDigitsMin: 3, extensionDigitsMax: 9))

    /// The panoramisk capture anonymized the phones' peer names (`ddddd`, `uuuuu`).
    static let xivo = AMISettings(systemKey: "xivo", channelRules: AMIChannelRules(extensionPeers: ["ddddd", "uuuuu"]))

    static func replayLines(_ fixture: String, settings: AMISettings) throws -> String {
        let data = try Fixtures.data("ami/" + fixture)
        let events = AMIReplay(settings: settings).run(data)
        let json = EventJSON()
        return try events.map { try json.line($0) }.joined(separator: "\n") + "\n"
    }

    func check(_ fixture: String, _ settings: AMISettings, golden: String) throws {
        let text = try Self.replayLines(fixture, settings: settings)
        try assertGolden(text, path: "AMITests/Golden/\(golden).jsonl")
        let again = try Self.replayLines(fixture, settings: settings)
        XCTAssertEqual(text, again, "replaying the same capture twice must give identical events and ids")
    }

    func testAst11InboundAnswered() throws {
        try check("cacofonisk_ast11_inbound_fixed_incomming_success.json.txt", Self.voipgrid, golden: "ast11_inbound_fixed_incomming_success")
    }

    func testAst11OutboundAnswered() throws {
        try check("cacofonisk_ast11_outbound_fixed_outbound_success.json.txt", Self.voipgrid, golden: "ast11_outbound_fixed_outbound_success")
    }

    func testAst11ClickToDial() throws {
        try check("cacofonisk_ast11_click_to_dial_ctd-account-world.json.txt", Self.voipgrid, golden: "ast11_click_to_dial_ctd-account-world")
    }

    func testAst11PanoramiskOriginateWireCapture() throws {
        try check("panoramisk_ast11_originate_with_events.txt", Self.xivo, golden: "ast11_panoramisk_originate_with_events")
    }

    func testAst13InternalAnswered() throws {
        try check("cacofonisk_ast13plus_internal_ab_success_a_hangup.json.txt", Self.voipgrid, golden: "ast13_internal_ab_success_a_hangup")
    }

    func testAst13OutboundThenInboundOnOneBox() throws {
        try check("cacofonisk_ast13plus_outbound_and_inbound_ab_success_twoclients.json.txt", Self.voipgrid, golden: "ast13_outbound_and_inbound_ab_success_twoclients")
    }

    func testAst13ClickToDial() throws {
        try check("cacofonisk_ast13plus_click_to_dial_ctd-account-world.json.txt", Self.voipgrid, golden: "ast13_click_to_dial_ctd-account-world")
    }

    func testAst13InboundQueue() throws {
        try check("cacofonisk_ast13plus_inbound_queue_simple.json.txt", Self.voipgrid, golden: "ast13_inbound_queue_simple")
    }

    func testAst13InboundForwardedToMobile() throws {
        try check("cacofonisk_ast13plus_inbound_to_external_simple_mobile.json.txt", Self.voipgrid, golden: "ast13_inbound_to_external_simple_mobile")
    }

    /// Login, MD5, Command/Follows, Ping and Originate transcripts (client and server text
    /// concatenated, with `#####` separators): no calls; the separators and YAML leftovers are
    /// reported as unparsed, the FullyBooted event is read and ignored.
    func testPanoramiskProtocolTranscripts() throws {
        try check("panoramisk_protocol_fixtures.txt", Self.xivo, golden: "panoramisk_protocol_fixtures")
        let events = AMIReplay(settings: Self.xivo).run(try Fixtures.data("ami/panoramisk_protocol_fixtures.txt"))
        XCTAssertFalse(events.contains { $0.type.isCallEvent })
    }

    /// CEL database rows are not AMI: every row must come out as line.unparsed, none dropped, no call invented.
    func testWazoCELRowsAreReportedNotGuessed() throws {
        let data = try Fixtures.data("ami/wazo-call-logd_raw_cel_fixtures.txt")
        let events = AMIReplay(settings: Self.voipgrid).run(data)
        XCTAssertFalse(events.isEmpty)
        XCTAssertTrue(events.allSatisfy { $0.type == .lineUnparsed })
        let text = String(decoding: data, as: UTF8.self)
        for row in ["LINKEDID_END | 2019-08-28 15:29:32.275896", "CHAN_END"] where text.contains(row) {
            XCTAssertTrue(events.contains { $0.raw?.contains(row) == true }, "row \(row) must be kept in some line.unparsed")
        }
    }
}
