import Foundation
import SMDRProtocol
import TamasEvents
import TestSupport
import XCTest

/// Every real sample in fixtures/smdr through the decoder, compared with reviewed JSON lines.
final class SMDRGoldenTests: XCTestCase {
    func testItalianPatternB() throws {
        let plan = NumberPlan(countryCode: "39", nationalPrefix: "")
        try check("italy-pattern-b__gestionecentralino.txt",
                  SMDRSettings(systemKey: "costa", timeZone: "Europe/Rome", numberPlan: plan))
    }

    /// 601 answers nearly every call for a few seconds and hands it on: the site's DISA /
    /// auto attendant, which an installer would list in `ignoredExtensions`.
    func testItalianPatternBWithDISAIgnored() throws {
        let plan = NumberPlan(countryCode: "39", nationalPrefix: "")
        try check("italy-pattern-b__gestionecentralino.txt",
                  SMDRSettings(systemKey: "costa", timeZone: "Europe/Rome", numberPlan: plan, ignoredExtensions: ["601"]),
                  golden: "italy-pattern-b__gestionecentralino.ignored-601.jsonl")
    }

    func testDelphiTDEAndKX824() throws {
        try check("tde-kx824__delphi-service.txt", SMDRSettings(systemKey: "payam", timeZone: "Asia/Tehran", numberPlan: .tehran))
    }

    func testLotusRS232Variants() throws {
        try check("rs232-variants__lotus-project.txt", SMDRSettings(systemKey: "alvand", timeZone: "Asia/Tehran", numberPlan: .tehran))
    }

    func testManualExcerpts() throws {
        try check("manual-excerpts.txt", SMDRSettings(systemKey: "manual"))
    }

    func testHeadersFromSMDRServer() throws {
        try check("headers__smdr_server.txt", SMDRSettings(systemKey: "fake"))
    }

    func testKXTD816HeaderFromXRMS() throws {
        try check("kx-td816-regex__xrms.txt", SMDRSettings(systemKey: "xrms", model: .kxTD816, dateFormat: .monthDayYear))
    }

    private func check(_ file: String, _ settings: SMDRSettings, golden: String? = nil, line: UInt = #line) throws {
        let bytes = try SMDRSample.bytes(file)
        var decoder = SMDRDecoder(settings: settings)
        let events = decoder.receive(bytes, now: SMDRSample.now) + decoder.finish(now: SMDRSample.now)
        let json = EventJSON()
        let text = try events.map { try json.line($0) + "\n" }.joined()
        try assertGolden(text, path: "SMDRTests/Golden/" + (golden ?? file.replacingOccurrences(of: ".txt", with: ".jsonl")),
                         line: line)
    }
}

extension NumberPlan {
    static let tehran = NumberPlan(releaseCode: "9", countryCode: "98", cityCode: "21")
}

/// The sample files as a PBX would send them: the research notes (`# ` lines) are removed and
/// the `# TEST-ONLY: ` variants, which are deliberately damaged lines, are fed as lines.
enum SMDRSample {
    static let now = Timestamp(epochMillis: 1_800_000_000_000)

    static func lines(_ file: String) throws -> [String] {
        let text = LineFramer.decode([UInt8](try Fixtures.data("smdr/" + file)))
        return text.split(separator: "\n", omittingEmptySubsequences: false).compactMap { line in
            if line.hasPrefix("# TEST-ONLY: ") { return String(line.dropFirst("# TEST-ONLY: ".count)) }
            if line.hasPrefix("#") { return nil }
            return String(line)
        }
    }

    static func bytes(_ file: String) throws -> [UInt8] {
        Array(try lines(file).joined(separator: "\r\n").utf8) + [0x0D, 0x0A]
    }
}
