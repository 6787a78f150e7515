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

    /// Release code `0` in Iran is also the national prefix and begins the international one.
    /// Panasonic SMDR prints the number as it went out on the line (tde-kx824__delphi-service.txt
    /// line 14: `09192128583`, an Iranian mobile number); a PBX that prints what the phone
    /// dialed has the release code in front. Neither form may be corrupted.
    func testReleaseCodeZeroPrintedWithoutIt() {
        let plan = NumberPlan(releaseCode: "0", countryCode: "98", cityCode: "21")
        let rows: [(String, String)] = [
            ("09192128583", "+989192128583"),
            ("02614301566", "+982614301566"),
            ("88776655", "+982188776655"),
            ("00442071234567", "+442071234567"),
            ("00989121234567", "+989121234567"),
            ("201", "201"),
            ("118", "118"),
        ]
        for (raw, expected) in rows {
            XCTAssertEqual(plan.normalize(raw, direction: .outbound), expected, raw)
        }
    }

    func testReleaseCodeZeroPrintedWithIt() {
        let plan = NumberPlan(releaseCode: "0", countryCode: "98", cityCode: "21")
        let rows: [(String, String)] = [
            ("009192128583", "+989192128583"),
            ("002614301566", "+982614301566"),
            ("088776655", "+982188776655"),
            ("000442071234567", "+442071234567"),
            ("000989121234567", "+989121234567"),
            ("0118", "0118"),
        ]
        for (raw, expected) in rows {
            XCTAssertEqual(plan.normalize(raw, direction: .outbound), expected, raw)
        }
    }

    /// `9` begins no national or international number, so a leading `9` on an outgoing number
    /// longer than an extension is always the release code, as before.
    func testReleaseCodeNineWithAndWithoutIt() {
        let rows: [(String, String)] = [
            ("09192128583", "+989192128583"),
            ("909192128583", "+989192128583"),
            ("88776655", "+982188776655"),
            ("988776655", "+982188776655"),
            ("00442071234567", "+442071234567"),
            ("900442071234567", "+442071234567"),
            ("201", "201"),
            ("9201", "9201"),
        ]
        for (raw, expected) in rows {
            XCTAssertEqual(tehran.normalize(raw, direction: .outbound), expected, raw)
        }
    }

    /// Release codes only ever come off outgoing numbers.
    func testReleaseCodeZeroLeavesOtherDirectionsAlone() {
        let plan = NumberPlan(releaseCode: "0", countryCode: "98", cityCode: "21")
        XCTAssertEqual(plan.normalize("09192128583", direction: .inbound), "+989192128583")
        XCTAssertEqual(plan.normalize("00442071234567", direction: .inbound), "+442071234567")
        XCTAssertEqual(plan.normalize("0201", direction: .internal), "0201")
    }

    /// Where the national number length is not known (Germany's plan is open), only a number
    /// that cannot be read as printed loses the release code: the rest is taken as printed,
    /// the form of every real sample. The last row is the documented limit (docs/smdr.md).
    func testReleaseCodeZeroWithoutAKnownNationalLength() {
        let berlin = NumberPlan(releaseCode: "0", countryCode: "49", cityCode: "30")
        XCTAssertEqual(berlin.normalize("0891234567", direction: .outbound), "+49891234567")
        XCTAssertEqual(berlin.normalize("00442071234567", direction: .outbound), "+442071234567")
        XCTAssertEqual(berlin.normalize("000442071234567", direction: .outbound), "+442071234567", "no country code begins with 0")
        XCTAssertEqual(berlin.normalize("1234567", direction: .outbound), "+49301234567")
        XCTAssertEqual(berlin.normalize("00891234567", direction: .outbound), "+891234567",
                       "limit: release code + national number reads as an international number")
    }

    /// The byte path and the Character path must give the same result. Padding a number with
    /// non-ASCII white space (trimmed by both) sends it down the Character path.
    func testByteAndCharacterPathsAgree() {
        let prefixes = ["", "0", "00", "000", "9", "90", "900", "0098", "+", "+98"]
        let bodies = ["1", "118", "201", "12345", "123456", "88776655", "9192128583", "2188776655",
                      "442071234567", "0912-123 4567", "(021) 8877.6655", "anonymous", "SIP/trunk"]
        var plans: [NumberPlan] = []
        for release in ["", "0", "9", "00", "90"] {
            for city in ["", "21"] {
                for country in ["98", "49"] {
                    for national in ["0", ""] {
                        for maxExtensionLength in [3, 5] {
                            plans.append(NumberPlan(releaseCode: release, countryCode: country, cityCode: city,
                                                    nationalPrefix: national, maxExtensionLength: maxExtensionLength))
                        }
                    }
                }
            }
        }
        var mismatches: [String] = []
        var compared = 0
        for plan in plans {
            for prefix in prefixes {
                for body in bodies {
                    let ascii = prefix + body
                    for direction in Direction.allCases {
                        let bytes = plan.normalize(ascii, direction: direction)
                        let characters = plan.normalize("\u{3000}" + ascii + "\u{A0}", direction: direction)
                        compared += 1
                        if bytes != characters {
                            mismatches.append("\(plan) \(ascii) \(direction): \(bytes ?? "nil") vs \(characters ?? "nil")")
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(compared, 10_000)
        XCTAssertEqual(mismatches, [], "\(mismatches.count) of \(compared) differ")
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
