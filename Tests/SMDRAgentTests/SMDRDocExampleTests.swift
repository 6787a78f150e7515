import AgentCore
import Foundation
import SMDRAgent
import SMDRProtocol
import SerialPort
import TamasEvents
import TestSupport
import XCTest

/// The settings examples of docs/smdr.md are read by the real parsers: the JSON settings block
/// by `SMDRSettings`' decoder, the two `smdr:` YAML blocks by `SMDRAgentSettings.read` with the
/// collector and system sections a real config file has in front of them.
final class SMDRDocExampleTests: XCTestCase {
    func testTheDocumentedJSONSettingsDecodeAsDocumented() throws {
        let blocks = try Fixtures.codeBlocks(in: "docs/smdr.md", language: "json")
        XCTAssertEqual(blocks.count, 1, "one JSON settings example in docs/smdr.md")
        let settings = try JSONDecoder().decode(SMDRSettings.self, from: Data(try XCTUnwrap(blocks.first).utf8))
        XCTAssertEqual(settings.systemKey, "tehran-hq")
        XCTAssertEqual(settings.model, .kxTDE100)
        XCTAssertEqual(settings.dateFormat, .dayMonthYear)
        XCTAssertEqual(settings.timeZone, "Asia/Tehran")
        XCTAssertEqual(settings.numberPlan, NumberPlan(releaseCode: "9", countryCode: "98", cityCode: "21", nationalPrefix: "0",
                                                       internationalPrefix: "00", maxExtensionLength: 5),
                       "the example names releaseCode and cityCode; the other keys take their defaults")
        XCTAssertEqual(settings.ignoredExtensions, ["601"])
        XCTAssertFalse(settings.ignoreZeroDuration)
        XCTAssertEqual([settings.groupWindowSeconds, settings.groupToleranceSeconds, settings.linkRetentionSeconds], [600, 30, 14400])
    }

    func read(_ example: String) throws -> SMDRAgentSettings {
        let text = """
            collector:
              address: 127.0.0.1:7443
              agentId: a
              secretFile: COLLECTOR_SECRET
            system:
              key: tehran-hq
              releaseCode: "9"
              countryCode: "98"
              cityCode: "21"

            """ + example + "\n"
        return try SMDRAgentSettings.read(AgentConfig.load(path: writeAgentConfig(text)))
    }

    func testTheDocumentedYAMLExamplesAreReadAsDocumented() throws {
        let examples = try Fixtures.codeBlocks(in: "docs/smdr.md", language: "yaml").filter { $0.hasPrefix("smdr:\n") }
        XCTAssertEqual(examples.count, 2, "the TCP and the serial example")
        guard examples.count == 2 else { return }

        let network = try read(examples[0])
        XCTAssertEqual(network.decoder.systemKey, "tehran-hq")
        XCTAssertEqual(network.decoder.model, .kxNS500)
        XCTAssertEqual(network.decoder.dateFormat, .dayMonthYear)
        XCTAssertEqual(network.decoder.timeZone, "Asia/Tehran")
        XCTAssertEqual(network.decoder.ignoredExtensions, ["601"])
        XCTAssertFalse(network.decoder.ignoreZeroDuration)
        XCTAssertEqual([network.decoder.groupWindowSeconds, network.decoder.groupToleranceSeconds, network.decoder.linkRetentionSeconds],
                       [600, 30, 14400])
        guard case .tcp(let tcp) = network.connection else { return XCTFail("the first example is the TCP one") }
        XCTAssertEqual(tcp.host, "192.168.1.20")
        XCTAssertEqual(tcp.port, 2300)
        XCTAssertEqual(tcp.password, "PCCSMDR")
        XCTAssertEqual(tcp.idleTimeoutSeconds, 3600)
        XCTAssertEqual(tcp.retryAfterRejectSeconds, 300)

        let serial = try read(examples[1])
        XCTAssertEqual(serial.decoder.model, .kxTDE100)
        XCTAssertEqual(serial.decoder.dateFormat, .dayMonthYear)
        guard case .serial(let port) = serial.connection else { return XCTFail("the second example is the serial one") }
        XCTAssertEqual(port.path, "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K1234-if00-port0")
        XCTAssertEqual([port.baud, port.dataBits, port.stopBits], [9600, 8, 1])
        XCTAssertEqual(port.parity, SerialSettings.Parity.none)
        XCTAssertEqual(port.flowControl, SerialSettings.FlowControl.none)
    }
}
