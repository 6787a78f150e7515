import Foundation
import TamasEvents
import XCTest

final class PhoneNumberTests: XCTestCase {
    let tehran = NumberPlan(releaseCode: "9", countryCode: "98", cityCode: "21")

    /// Every row of the table in EVENTS.md "Phone numbers".
    func testEventsContractTable() {
        let rows: [(String, Direction, String?)] = [
            ("88776655", .inbound, "+982188776655"),
            ("02188776655", .inbound, "+982188776655"),
            ("09121234567", .inbound, "+989121234567"),
            ("00982188776655", .inbound, "+982188776655"),
            ("+442071234567", .inbound, "+442071234567"),
            ("988776655", .outbound, "+982188776655"),
            ("909121234567", .outbound, "+989121234567"),
            ("205", .internal, "205"),
            ("", .inbound, nil),
            ("<unknown>", .inbound, nil),
            ("anonymous", .outbound, nil),
            ("P", .inbound, nil),
            ("O", .internal, nil),
        ]
        for (raw, direction, expected) in rows {
            XCTAssertEqual(tehran.normalize(raw, direction: direction), expected, "\(raw) \(direction)")
        }
    }

    func testEdgeCases() {
        XCTAssertEqual(tehran.normalize(" 0912-123 4567 ", direction: .inbound), "+989121234567", "punctuation and spaces")
        XCTAssertEqual(tehran.normalize("(021) 8877.6655", direction: .inbound), "+982188776655")
        XCTAssertEqual(tehran.normalize("Anonymous", direction: .inbound), nil, "withheld words are case-insensitive")
        XCTAssertEqual(tehran.normalize("118", direction: .outbound), "118", "short codes are left alone")
        XCTAssertEqual(tehran.normalize("901", direction: .outbound), "901", "an extension starting with the release code is kept")
        XCTAssertEqual(tehran.normalize("09121234567", direction: .outbound), "+989121234567", "outbound without release code")
        XCTAssertEqual(tehran.normalize("900442071234567", direction: .outbound), "+442071234567", "release code then international")
        XCTAssertEqual(tehran.normalize("SIP/trunk-01", direction: .inbound), "SIP/trunk-01", "not a number: kept as printed")
        XCTAssertEqual(tehran.normalize("---", direction: .inbound), nil, "punctuation only")
        XCTAssertEqual(tehran.normalize("1234+5", direction: .inbound), "1234+5", "a plus inside is not a number")
        let noCity = NumberPlan(releaseCode: "0", countryCode: "98", cityCode: "")
        XCTAssertEqual(noCity.normalize("88776655", direction: .inbound), "88776655", "no city code: local number kept as is")
        XCTAssertEqual(noCity.normalize("002188776655", direction: .outbound), "+982188776655", "release code 0 then the national prefix")
        let mashhad = NumberPlan(releaseCode: "9", countryCode: "98", cityCode: "51")
        XCTAssertEqual(mashhad.normalize("38776655", direction: .inbound), "+985138776655")
    }

    /// Plans and numbers outside ASCII take the Character path, where a digit followed by a
    /// combining mark is one Character and not the prefix digit.
    func testNonASCIIPlansAndNumbers() {
        let arabicCity = NumberPlan(releaseCode: "9", countryCode: "98", cityCode: "٢١")
        XCTAssertEqual(arabicCity.normalize("88776655", direction: .inbound), "+98٢١88776655")
        XCTAssertEqual(arabicCity.normalize("09121234567", direction: .inbound), "+989121234567")
        XCTAssertEqual(tehran.normalize("0\u{301}9121234567", direction: .inbound), "+98210\u{301}9121234567")
    }

    func testNationalForm() {
        XCTAssertEqual(tehran.national("+989121234567"), "09121234567")
        XCTAssertEqual(tehran.national("+442071234567"), "00442071234567")
        XCTAssertEqual(tehran.national("205"), "205")
    }

    func decodePlan(_ json: String) throws -> NumberPlan {
        try JSONDecoder().decode(NumberPlan.self, from: Data(json.utf8))
    }

    func testMissingKeysTakeTheDefaultsOfInit() throws {
        XCTAssertEqual(try decodePlan(#"{"countryCode": "98", "cityCode": "21"}"#), NumberPlan(countryCode: "98", cityCode: "21"))
        XCTAssertEqual(try decodePlan(#"{"releaseCode": "0", "maxExtensionLength": 4}"#), NumberPlan(releaseCode: "0", maxExtensionLength: 4))
        XCTAssertEqual(try decodePlan("{}"), NumberPlan())
        XCTAssertEqual(try decodePlan(#"{"cityCode": null}"#), NumberPlan(), "null is a missing key")
    }

    func testAFullPlanEncodesAllSixKeysAndRoundTripsUnchanged() throws {
        let full = NumberPlan(releaseCode: "9", countryCode: "98", cityCode: "21", nationalPrefix: "0",
                              internationalPrefix: "00", maxExtensionLength: 4)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(full), as: UTF8.self)
        XCTAssertEqual(json, #"{"cityCode":"21","countryCode":"98","internationalPrefix":"00","maxExtensionLength":4,"nationalPrefix":"0","releaseCode":"9"}"#)
        XCTAssertEqual(try decodePlan(json), full)
    }

    /// Where a decoding error points, written as a user would look for it in the file.
    func keyPath(of error: any Error) -> String? {
        switch error as? DecodingError {
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .dataCorrupted(let context)?:
            context.codingPath.map(\.stringValue).joined(separator: ".")
        default: nil
        }
    }

    func testAWrongTypeOrAnInvalidValueNamesTheKey() throws {
        struct Settings: Decodable { var numberPlan: NumberPlan }
        let cases: [(json: String, key: String, message: String?)] = [
            (#"{"numberPlan": {"countryCode": 98}}"#, "numberPlan.countryCode", nil),
            (#"{"numberPlan": {"cityCode": "21", "maxExtensionLength": "5"}}"#, "numberPlan.maxExtensionLength", nil),
            (#"{"numberPlan": {"countryCode": "+98"}}"#, "numberPlan.countryCode", "must be digits only, not '+98'"),
            (#"{"numberPlan": {"cityCode": "٢١"}}"#, "numberPlan.cityCode", "must be digits only, not '٢١'"),
            (#"{"numberPlan": {"releaseCode": "9 "}}"#, "numberPlan.releaseCode", "must be digits only, not '9 '"),
            (#"{"numberPlan": {"maxExtensionLength": -1}}"#, "numberPlan.maxExtensionLength", "must be between 1 and 9, not -1"),
            (#"{"numberPlan": {"maxExtensionLength": 0}}"#, "numberPlan.maxExtensionLength", "must be between 1 and 9, not 0"),
        ]
        for (json, key, message) in cases {
            XCTAssertThrowsError(try JSONDecoder().decode(Settings.self, from: Data(json.utf8)), json) { error in
                XCTAssertEqual(keyPath(of: error), key, "\(json): \(error)")
                if let message {
                    XCTAssertTrue("\(error)".contains(message), "\(json): expected '\(message)' in \(error)")
                }
            }
        }
    }
}
