import ConnectorKit
import Foundation
@testable import PayamGostarConnector
import TamasEvents
import TestSupport
import XCTest

/// Our Codable models against the public client's C# definitions in the fixtures: every JSON
/// name we send must be a property the server's model declares, every C# property must be one
/// we can send, and every enum value must match.
final class PayamGostarWireContractTests: XCTestCase {
    func csharpProperties(_ model: String) throws -> Set<String> {
        let text = String(decoding: try Fixtures.data("crm/payamgostar/pgapiclient_TelephonySystem_\(model).cs.txt"), as: UTF8.self)
        let pattern = try NSRegularExpression(pattern: #"public\s+[\w?<>]+\s+(\w+)\s*\{\s*get;\s*set;\s*\}"#)
        let range = NSRange(text.startIndex..., in: text)
        return Set(pattern.matches(in: text, range: range).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        })
    }

    func csharpEnum(_ name: String) throws -> [String: Int] {
        let text = String(decoding: try Fixtures.data("crm/payamgostar/pgapiclient_TelephonySystem_\(name).cs.txt"), as: UTF8.self)
        let pattern = try NSRegularExpression(pattern: #"(\w+)\s*=\s*(\d+)"#)
        var values: [String: Int] = [:]
        for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard let key = Range(match.range(at: 1), in: text), let value = Range(match.range(at: 2), in: text) else { continue }
            values[String(text[key])] = Int(text[value])
        }
        return values
    }

    func sentKeys<Model: Encodable>(_ model: Model) -> Set<String> {
        Set(jsonObject(WireJSON.encode(model))?.allKeys.compactMap { $0 as? String } ?? [])
    }

    let at = time("2026-11-26T14:05:09+03:30")

    func testModelsUseTheExactCSharpPropertyNames() throws {
        XCTAssertEqual(sentKeys(CallCreateModel(
            tsKey: "K", sourceId: "s", phoneNumber: "0912", startDate: at, callTypeIndex: .missedCall,
            initChannelPeerName: "01", initChannelPeerTypeIndex: .trunk, initChannelSourceId: "c", isLive: true)),
            try csharpProperties("CallCreateModel"))
        XCTAssertEqual(sentKeys(CallUpdateModel(callId: 1, endDate: at, phoneNumber: "0912", identityId: "g",
                                                callTypeIndex: .receivedCall, isLive: false)),
                       try csharpProperties("CallUpdateModel"))
        XCTAssertEqual(sentKeys(CallChannelCreateModel(callId: 1, channelPeerName: "201", channelPeerTypeIndex: .extension,
                                                       channelSourceId: "c", channelStatusIndex: .ringing, createDate: at, isLive: true)),
                       try csharpProperties("CallChannelCreateModel"))
        XCTAssertEqual(sentKeys(CallChannelUpdateModel(callChannelId: 1, channelStatusIndex: .up, channelResponseIndex: .answered,
                                                       recordedFileName: "r", connectDate: at, hangupDate: at, toChangePeerName: "202",
                                                       toChangePeerTypeIndex: .extension, isLive: true)),
                       try csharpProperties("CallChannelUpdateModel"))
        XCTAssertEqual(sentKeys(TelephonySystemPeerModel(id: "g", name: "201", userId: "u", telephonySystemPeerType: .extension)),
                       try csharpProperties("TelephonySystemPeerModel"))
    }

    func testAnswersDecodeFromTheCSharpResultShapes() throws {
        XCTAssertEqual(try csharpProperties("CallCreateResult"), ["CallId", "InitChannelId", "IdentityId", "IdentityNickName"])
        XCTAssertEqual(try csharpProperties("CallChannelCreateResult"), ["CallChannelId"])
        let created = try XCTUnwrap(WireJSON.decode(CallCreateResult.self, from: Data(
            #"{"CallId":12,"InitChannelId":13,"IdentityId":"6f1c2a54-3b1e-4d7a-9a55-0c1d2e3f4a5b","IdentityNickName":"Ali"}"#.utf8)))
        XCTAssertEqual(created.callId, 12)
        XCTAssertEqual(created.initChannelId, 13)
        XCTAssertEqual(created.identityNickName, "Ali")
    }

    func testEnumValuesMatchTheClient() throws {
        XCTAssertEqual(try csharpEnum("PhoneCallType"), ["MissedCall": PhoneCallType.missedCall.rawValue, "ReceivedCall": PhoneCallType.receivedCall.rawValue,
                                                         "OutgoingCall": PhoneCallType.outgoingCall.rawValue, "Internal": PhoneCallType.internal.rawValue])
        XCTAssertEqual(try csharpEnum("ChannelStatus"), ["Down": ChannelStatus.down.rawValue, "Ringing": ChannelStatus.ringing.rawValue,
                                                         "Up": ChannelStatus.up.rawValue, "HangUp": ChannelStatus.hangUp.rawValue])
        XCTAssertEqual(try csharpEnum("ChannelResponse"), ["NotAnswered": ChannelResponse.notAnswered.rawValue, "Answered": ChannelResponse.answered.rawValue,
                                                           "Busy": ChannelResponse.busy.rawValue, "Transfered": ChannelResponse.transfered.rawValue])
        XCTAssertEqual(try csharpEnum("TelephonySystemPeerType"), ["Extension": TelephonySystemPeerType.extension.rawValue,
                                                                   "Trunk": TelephonySystemPeerType.trunk.rawValue])
    }

    func testRoutesAreTheClientsRoutes() throws {
        let client = String(decoding: try Fixtures.data("crm/payamgostar/pgapiclient_TelephonySystem_PgTelephonySystemClient.cs.txt"), as: UTF8.self)
        for route in ["\"/api/v1/telephony/call\"", "\"/api/v1/telephony/channel\"", "$\"api/v1/telephony/{tsKey}/peer\"",
                      "$\"api/v1/telephony/{tsKey}/peer/{name}\""] {
            XCTAssertTrue(client.contains(route), route)
        }
        let factory = String(decoding: try Fixtures.data("crm/payamgostar/pgapiclient_PgClientFactory.cs.txt"), as: UTF8.self)
        XCTAssertTrue(factory.contains("\"/api/v1/auth\""))
        XCTAssertTrue(factory.contains("\"grant_type\", \"password\""))
    }
}
