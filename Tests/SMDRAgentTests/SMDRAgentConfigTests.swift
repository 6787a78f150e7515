import AgentCore
import Foundation
import SMDRAgent
import SMDRProtocol
import SerialPort
import TamasEvents
import TestSupport
import XCTest

final class SMDRAgentConfigTests: XCTestCase {
    let base = """
        collector:
          address: 127.0.0.1:7443
          agentId: a
          secretFile: COLLECTOR_SECRET
        system:
          key: office1
          releaseCode: "9"
          countryCode: "98"
          cityCode: "21"

        """

    func read(_ text: String, mode: Int = 0o600) throws -> SMDRAgentSettings {
        try SMDRAgentSettings.read(AgentConfig.load(path: writeAgentConfig(base + text, mode: mode)))
    }

    func testEveryKeyOfASerialPBXMapsOntoTheSettings() throws {
        let settings = try read("""
            smdr:
              model: KX-TDA100
              dateFormat: mm/dd/yy
              timeZone: Asia/Tehran
              ignoredExtensions: ["600", "601"]
              ignoreZeroDuration: true
              groupWindowSeconds: 300
              groupToleranceSeconds: 45
              linkRetentionSeconds: 7200
              serial:
                port: /dev/ttyUSB0
                baud: 1200
                dataBits: 7
                parity: even
                stopBits: 2
                flowControl: rtsCts

            """)
        let decoder = settings.decoder
        XCTAssertEqual(decoder.systemKey, "office1")
        XCTAssertEqual(decoder.model, .kxTDA100)
        XCTAssertEqual(decoder.dateFormat, .monthDayYear)
        XCTAssertEqual(decoder.timeZone, "Asia/Tehran")
        XCTAssertEqual(decoder.ignoredExtensions, ["600", "601"])
        XCTAssertTrue(decoder.ignoreZeroDuration)
        XCTAssertEqual([decoder.groupWindowSeconds, decoder.groupToleranceSeconds, decoder.linkRetentionSeconds], [300, 45, 7200])
        XCTAssertEqual([decoder.numberPlan.releaseCode, decoder.numberPlan.countryCode, decoder.numberPlan.cityCode], ["9", "98", "21"])
        guard case .serial(let serial) = settings.connection else { return XCTFail("expected a serial connection") }
        XCTAssertEqual(serial.path, "/dev/ttyUSB0")
        XCTAssertEqual([serial.baud, serial.dataBits, serial.stopBits], [1200, 7, 2])
        XCTAssertEqual(serial.parity, .even)
        XCTAssertEqual(serial.flowControl, .rtsCts)
    }

    func testEveryKeyOfANetworkedPBXMapsOntoTheSettings() throws {
        let settings = try read("""
            smdr:
              model: KX-NS500
              tcp:
                host: 192.168.1.20
                port: 2301
                password: s3cret
                idleTimeoutSeconds: 600
                retryAfterRejectSeconds: 60

            """)
        guard case .tcp(let tcp) = settings.connection else { return XCTFail("expected a TCP connection") }
        XCTAssertEqual([tcp.host, String(tcp.port), tcp.password], ["192.168.1.20", "2301", "s3cret"])
        XCTAssertEqual([tcp.idleTimeoutSeconds, tcp.retryAfterRejectSeconds], [600, 60])
        XCTAssertEqual(settings.decoder.model, .kxNS500)
    }

    func testDefaultsAreTheMachinesZoneAndPanasonicsPortAndPassword() throws {
        let settings = try read("smdr:\n  tcp:\n    host: pbx.local\n")
        XCTAssertEqual(settings.decoder.timeZone, TimeZone.current.identifier)
        XCTAssertEqual(settings.decoder.model, .auto)
        XCTAssertEqual(settings.decoder.dateFormat, .auto)
        XCTAssertEqual(settings.decoder.groupWindowSeconds, 600)
        guard case .tcp(let tcp) = settings.connection else { return XCTFail("expected a TCP connection") }
        XCTAssertEqual([String(tcp.port), tcp.password], ["2300", "PCCSMDR"])
        let serial = try read("smdr:\n  serial:\n    port: /dev/ttyS0\n")
        guard case .serial(let port) = serial.connection else { return XCTFail("expected a serial connection") }
        XCTAssertEqual([port.baud, port.dataBits, port.stopBits], [9600, 8, 1])
        XCTAssertEqual(port.parity, SerialSettings.Parity.none)
    }

    func testSerialWordsAreReadInAnyCase() throws {
        let settings = try read("smdr:\n  serial:\n    port: /dev/ttyS0\n    parity: Even\n    flowControl: RTSCTS\n")
        guard case .serial(let port) = settings.connection else { return XCTFail("expected a serial connection") }
        XCTAssertEqual(port.parity, .even)
        XCTAssertEqual(port.flowControl, .rtsCts)
    }

    func testMistakesNameTheKeyAndLine() throws {
        let cases: [(String, String)] = [
            ("smdr:\n  modle: KX-TDA100\n  serial:\n    port: /dev/ttyS0\n", ":11: smdr.modle: unknown setting (did you mean 'model'?)"),
            ("smdr:\n  timeZone: Tehran\n  serial:\n    port: /dev/ttyS0\n", ":11: smdr.timeZone: unknown time zone 'Tehran' (use an IANA name such as Asia/Tehran)"),
            ("smdr:\n  model: KX-TDA50\n  serial:\n    port: /dev/ttyS0\n", ":11: smdr.model: must be one of"),
            ("smdr:\n  serial:\n    port: /dev/ttyS0\n    baud: 600\n", ":13: smdr.serial.baud: must be"),
            ("smdr:\n  serial:\n    port: /dev/ttyS0\n    parity: bogus\n", ":13: smdr.serial.parity: must be one of none, even, odd, mark, space, not 'bogus'"),
            ("smdr:\n  serial:\n    port: /dev/ttyS0\n    flowControl: xonXoff\n", ":13: smdr.serial.flowControl: must be one of none, rtsCts, not 'xonXoff'"),
            ("smdr:\n  serial:\n    port: ttyUSB0\n", ":12: smdr.serial.port: unsupported port \"ttyUSB0\" (allowed: an absolute device path such as /dev/ttyUSB0 or /dev/serial/by-id/...)"),
            ("smdr:\n  serial:\n    port: /dev/ttyS0\n  tcp:\n    host: pbx\n", "smdr.serial: connection is tcp: remove the serial section"),
            ("smdr:\n  connection: serial\n  serial:\n    port: /dev/ttyS0\n  tcp:\n    host: pbx\n", "smdr.tcp: connection is serial: remove the tcp section"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try read(text), expected) { error in
                XCTAssertTrue("\(error)".contains(expected), "expected '\(expected)' in: \(error)")
            }
        }
    }

    /// `numbering` replaces the base file's releaseCode, countryCode and cityCode lines (line 7 on).
    func read(numbering: String) throws -> SMDRAgentSettings {
        let text = base.replacingOccurrences(of: "  releaseCode: \"9\"\n  countryCode: \"98\"\n  cityCode: \"21\"\n", with: numbering)
            + "smdr:\n  serial:\n    port: /dev/ttyS0\n"
        return try SMDRAgentSettings.read(AgentConfig.load(path: writeAgentConfig(text)))
    }

    /// The agent's number plan is the `system:` section's keys; those left out take NumberPlan's defaults.
    func testASystemSectionWithSomeNumberingKeysTakesTheDefaultsForTheRest() throws {
        XCTAssertEqual(try read(numbering: "  countryCode: \"98\"\n  cityCode: \"21\"\n").decoder.numberPlan,
                       NumberPlan(countryCode: "98", cityCode: "21"))
        XCTAssertEqual(try read(numbering: "  maxExtensionLength: 4\n").decoder.numberPlan, NumberPlan(maxExtensionLength: 4))
        XCTAssertEqual(try read(numbering: "").decoder.numberPlan, NumberPlan())
    }

    func testNumberingMistakesNameTheSystemKeyAndLine() throws {
        let cases: [(String, String)] = [
            ("  countryCode: \"+98\"\n", ":7: system.countryCode: must be digits only, not '+98'"),
            ("  cityCode: [21]\n", ":7: system.cityCode: must be a single value"),
            ("  maxExtensionLength: -1\n", ":7: system.maxExtensionLength: must be between 1 and 9, not -1"),
            ("  numberPlan: {countryCode: \"98\"}\n", ":7: system.numberPlan: unknown setting"),
        ]
        for (numbering, expected) in cases {
            XCTAssertThrowsError(try read(numbering: numbering), expected) { error in
                XCTAssertTrue("\(error)".contains(expected), "expected '\(expected)' in: \(error)")
            }
        }
    }

    /// The decoder's own settings in JSON (docs/smdr.md "Settings"), as a program embedding
    /// SMDRProtocol reads them: a partial `numberPlan` object is completed with the defaults.
    func testJSONSettingsWithAPartialNumberPlanTakeTheDefaultsForTheRest() throws {
        let partial = #"{"systemKey": "hq", "numberPlan": {"countryCode": "98", "cityCode": "21"}}"#
        let settings = try JSONDecoder().decode(SMDRSettings.self, from: Data(partial.utf8))
        XCTAssertEqual(settings.numberPlan, NumberPlan(countryCode: "98", cityCode: "21"))

        let invalid = #"{"numberPlan": {"countryCode": "+98"}}"#
        XCTAssertThrowsError(try JSONDecoder().decode(SMDRSettings.self, from: Data(invalid.utf8))) { error in
            guard case .dataCorrupted(let context)? = error as? DecodingError else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["numberPlan", "countryCode"])
            XCTAssertEqual(context.debugDescription, "must be digits only, not '+98'")
        }
    }

    func testAPasswordInAFileOthersCanReadIsRefusedWithoutShowingIt() throws {
        XCTAssertThrowsError(try read("smdr:\n  tcp:\n    host: pbx\n    password: s3cret\n", mode: 0o644)) { error in
            XCTAssertTrue("\(error)".contains("smdr.tcp.password: this file holds the SMDR password but others can read it: chmod 600"), "\(error)")
            XCTAssertFalse("\(error)".contains("s3cret"))
        }
        XCTAssertNoThrow(try read("smdr:\n  tcp:\n    host: pbx\n", mode: 0o644), "the factory password is no secret")
    }
}
