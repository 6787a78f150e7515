@testable import CRMDelivery
import ConnectorKit
import Foundation
import NIOCore
import PayamGostarConnector
import TamasEvents
import XCTest
import ZammadConnector

/// Operators' requests about endpoints as the admin API reads them, and what reaches a connector.
final class CRMEndpointRequestTests: XCTestCase {
    private func edit(_ json: String) throws -> EndpointEdit {
        try EndpointRequest.decode(EndpointEdit.self, from: ByteBuffer(string: json))
    }

    private func refusal(_ json: String) -> String {
        do {
            _ = try edit(json)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    func testRefusalsNameTheFieldAndNeverEchoTheSecret() {
        XCTAssertEqual(refusal(#"{"options": {"numberPlan": {"countryCode": "+98"}}}"#),
                       "options.numberPlan.countryCode: must be digits only, not '+98'", "NumberPlan's own rule, with the path")
        XCTAssertEqual(refusal(#"{"options": {"numberPlan": {"maxExtensionLength": 0}}}"#),
                       "options.numberPlan.maxExtensionLength: must be between 1 and 9, not 0")
        XCTAssertTrue(refusal(#"{"options": {"numberPlan": {"contryCode": "49"}}}"#)
            .hasPrefix("options.numberPlan.contryCode: unknown number plan key; known: cityCode, countryCode,"))
        XCTAssertTrue(refusal(#"{"options": {"timeoutSecond": 5}}"#).hasPrefix("options.timeoutSecond: unknown option; known: "))
        XCTAssertTrue(refusal(#"{"options": {"timeoutSeconds": "5"}}"#).hasPrefix("options.timeoutSeconds: "))
        XCTAssertTrue(refusal(#"{"systemKeys": ["office1", 7]}"#).hasPrefix("systemKeys[1]: "))
        XCTAssertTrue(refusal(#"{"URL": "https://crm.example.com"}"#).hasPrefix("URL: unknown field; known: options, systemKeys, url, user"))
        let secret = refusal(#"{"secret": "hunter2"}"#)
        XCTAssertTrue(secret.hasPrefix("secret: the secret is changed with PUT /api/v1/crm/{name}/password"), secret)
        XCTAssertFalse(secret.contains("hunter2"))
        XCTAssertTrue(refusal(#"{"kind": "zammad"}"#).hasPrefix("kind: an endpoint's kind cannot change"))
        XCTAssertEqual(refusal("{}"), "nothing to change: give url, user, systemKeys or options")
        XCTAssertTrue(refusal("url=https://crm").hasPrefix("The given data was not valid JSON"))
    }

    /// `add` reads its body the same way, so its option mistakes name their field too.
    func testAnAddRequestRefusesAnUnknownOptionAndReadsTheNumberPlan() throws {
        func definition(_ options: String) throws -> EndpointDefinition {
            try EndpointRequest.decode(EndpointDefinition.self, from: ByteBuffer(string: """
                {"name": "pg", "kind": "payamgostar", "url": "https://crm.example.com", "secret": "pw", "systemKeys": ["office1"],
                 "options": \(options)}
                """))
        }
        XCTAssertEqual(try definition(#"{"numberPlan": {"countryCode": "49"}}"#).options?.numberPlan, NumberPlan(countryCode: "49"))
        XCTAssertThrowsError(try definition(#"{"registerPeer": true}"#)) { error in
            XCTAssertTrue("\(error)".hasPrefix("options.registerPeer: unknown option"), "\(error)")
        }
        XCTAssertThrowsError(try definition(#"{"numberPlan": {"cityCode": "٢١"}}"#)) { error in
            XCTAssertEqual("\(error)", "options.numberPlan.cityCode: must be digits only, not '٢١'")
        }
    }

    /// Options read back from the store are taken as they are: a key Tamas no longer knows must
    /// not turn every setting of the endpoint into its default.
    func testStoredOptionsWithAnUnknownKeyAreStillRead() {
        XCTAssertEqual(CRMStore.options(#"{"timeoutSeconds": 7, "retired": true}"#), EndpointOptions(timeoutSeconds: 7))
    }

    func testAnOptionsPatchReplacesWhatItNamesResetsNullsAndKeepsTheRest() throws {
        let stored = EndpointOptions(numberFormat: .e164, numberPlan: NumberPlan(countryCode: "49"), registerPeers: true,
                                     userNames: ["201": "Sara"], timeoutSeconds: 5)
        let patch = try edit(#"{"options": {"numberPlan": {"cityCode": "21"}, "registerPeers": null, "userNames": {"202": "Reza"}}}"#).options
        XCTAssertEqual(try XCTUnwrap(patch).applied(to: stored), EndpointOptions(
            numberFormat: .e164, numberPlan: NumberPlan(cityCode: "21"), userNames: ["202": "Reza"], timeoutSeconds: 5))
    }

    /// A patch naming every option carries each one over: no option is left out of `applied`.
    func testAPatchNamingEveryOptionSetsEveryOption() throws {
        let every = EndpointOptions(numberFormat: .e164Digits, numberPlan: NumberPlan(countryCode: "39", nationalPrefix: ""),
                                    registerPeers: true, userNames: ["201": "Sara"], includeInternalCalls: true, path: "/in",
                                    timeoutSeconds: 9, maxBackoffSeconds: 99, parallelCalls: 3)
        let json = String(decoding: try JSONEncoder().encode(every), as: UTF8.self)
        let named = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        XCTAssertEqual(Set(named?.keys.map { $0 } ?? []), Set(EndpointOptions.CodingKeys.allCases.map(\.stringValue)),
                       "the example sets every option")
        let patch = try XCTUnwrap(try edit(#"{"options": \#(json)}"#).options)
        XCTAssertEqual(patch.applied(to: EndpointOptions()), every)
        let nulls = "{" + EndpointOptions.CodingKeys.allCases.map { "\"\($0.stringValue)\": null" }.joined(separator: ", ") + "}"
        XCTAssertEqual(try XCTUnwrap(try edit(#"{"options": \#(nulls)}"#).options).applied(to: every), EndpointOptions())
    }

    /// The endpoint's number plan is the one the connectors write numbers with.
    func testTheNumberPlanOptionReachesPayamGostarAndZammad() throws {
        let plan = NumberPlan(countryCode: "49", maxExtensionLength: 3)
        func driver(_ kind: EndpointKind, _ options: EndpointOptions) -> any DeliveryDriving {
            EndpointConfiguration(id: 1, name: "crm", kind: kind, baseURL: "https://crm.example.com", user: nil, secret: "pw",
                                  sealedSecret: Data(), options: options, paused: false, authFailure: nil).driver()
        }
        let payamGostar = try XCTUnwrap(driver(.payamgostar, EndpointOptions(numberPlan: plan)) as? ConnectorDriver<PayamGostarDelivery>)
        XCTAssertEqual(payamGostar.settings.numberPlan, plan)
        let zammad = try XCTUnwrap(driver(.zammad, EndpointOptions(numberPlan: plan)) as? ConnectorDriver<ZammadDelivery>)
        XCTAssertEqual(zammad.settings.numberPlan, plan)
        let byDefault = try XCTUnwrap(driver(.payamgostar, EndpointOptions()) as? ConnectorDriver<PayamGostarDelivery>)
        XCTAssertEqual(byDefault.settings.numberPlan, NumberPlan())
    }
}
