import Foundation
import XCTest
import TamasEvents
import TestSupport
@testable import CallerIDProtocol

/// Every sample in fixtures/callerid/ through the decoder it belongs to (or, for boxes we do not
/// support, the one a user would most likely mis-configure). Each source section of a file is
/// fed at one instant, a minute after the previous one, so ring timeouts fire between them.
final class CallerIDGoldenTests: XCTestCase {
    private func decodeFixture(_ sections: [String], protocol: CallerIDProtocol) -> [CallEvent] {
        var decoder = CallerIDDecoder(settings: segalSettings { $0.protocol = `protocol` })
        var events: [CallEvent] = []
        for (index, section) in sections.enumerated() {
            let now = testStart.adding(seconds: 60 * index)
            events += decoder.tick(now: now)
            events += decoder.receive(Array(section.utf8), now: now)
        }
        events += decoder.finish(now: testStart.adding(seconds: 60 * sections.count))
        return events
    }

    func testSegalCapture() throws {
        let events = decodeFixture(try fixtureSections("callerid/segal_ojsegal_serial_sample.txt"), protocol: .segal)
        for event in events { XCTAssertNoThrow(try event.validate()) }
        XCTAssertFalse(events.contains { $0.type == .lineUnparsed }, "every record of the real capture is understood")
        let calls = calls(in: events)
        XCTAssertEqual(calls.map(\.direction), [.inbound, .outbound, .outbound, .outbound])
        XCTAssertEqual(calls.map(\.durationSec), [177, 65, 21, 274])
        XCTAssertEqual(calls.first?.from, "+989191714505")
        XCTAssertEqual(calls.dropFirst().map(\.to), ["+989122259679", "+989121991334", "+98912199133455"])
        try assertGolden(try jsonLines(events), path: "CallerIDTests/Golden/segal_ojsegal_serial_sample.jsonl")
    }

    func testModemSample() throws {
        // NCID annotated the captured lines with "(this is the 1st ring)" and the like; a modem
        // prints only "RING", so the annotations are removed before feeding.
        let sections = try fixtureSections("callerid/modem_vcid_sample.txt").map {
            $0.replacingOccurrences(of: #"\s+\([^)]*\)"#, with: "", options: .regularExpression)
        }
        let events = decodeFixture(sections, protocol: .modem)
        for event in events { XCTAssertNoThrow(try event.validate()) }
        try assertGolden(try jsonLines(events), path: "CallerIDTests/Golden/modem_vcid_sample.jsonl")
    }

    func testNetCallerIDAndWhozzLinesAreUnparsedByTheModemDecoder() throws {
        let events = decodeFixture(try fixtureSections("callerid/netcallerid_whozz_samples.txt"), protocol: .modem)
        XCTAssertTrue(events.allSatisfy { $0.type == .lineUnparsed }, "no call is invented from an unsupported box")
        XCTAssertEqual(events.count, 9)
        try assertGolden(try jsonLines(events), path: "CallerIDTests/Golden/netcallerid_whozz_samples.modem.jsonl")
    }

    func testTechnoStringsAreUnparsedByTheDanjehDecoder() throws {
        let events = decodeFixture(try fixtureSections("callerid/techno_dll_event_strings.txt"), protocol: .danjeh)
        XCTAssertTrue(events.allSatisfy { $0.type == .lineUnparsed })
        XCTAssertEqual(events.count, 25)
        try assertGolden(try jsonLines(events), path: "CallerIDTests/Golden/techno_dll_event_strings.danjeh.jsonl")
    }

    func testFSKHexDumpsAreUnparsedByTheModemDecoder() throws {
        let events = decodeFixture(try fixtureSections("callerid/fsk_mdmf_sdmf_examples.txt"), protocol: .modem)
        XCTAssertEqual(events.map(\.type), [.lineUnparsed, .lineUnparsed, .lineUnparsed])
        try assertGolden(try jsonLines(events), path: "CallerIDTests/Golden/fsk_mdmf_sdmf_examples.modem.jsonl")
    }
}
