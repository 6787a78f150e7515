import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import XCTest

/// A recording announced by the Telsa agent is fetched through the collector's HTTP API: the
/// agent streams it up the link on request, the collector passes the exact bytes on, with range
/// requests and signed links.
final class RecordingDownloadTests: XCTestCase {
    func get(_ url: String, token: String? = nil, range: String? = nil) async throws -> (Int, [String: String], Data) {
        var request = URLRequest(url: try XCTUnwrap(URL(string: url)))
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let range { request.setValue(range, forHTTPHeaderField: "Range") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try XCTUnwrap(response as? HTTPURLResponse)
        let headers = Dictionary(uniqueKeysWithValues: http.allHeaderFields.compactMap { key, value in
            (key as? String).map { ($0.lowercased(), "\(value)") }
        })
        return (http.statusCode, headers, data)
    }

    func testARecordingIsFetchedWithExactBytesRangesAndSignedLinks() async throws {
        let folder = try temporaryFolder("e2e-recording")
        defer { try? FileManager.default.removeItem(at: folder) }
        let collector = try CollectorUnderTest(name: "e2e-recording")
        let root = folder.appendingPathComponent("telsa")
        let file = root.appendingPathComponent("Archive/Line1/call.wav")
        let audio = TelsaRecordings.audio(700_000) + TelsaRecordings.trailer(channel: 1)
        try TelsaRecordings.write(audio, to: file, modified: TelsaRecordings.trailerStart.addingTimeInterval(60))
        let config = try collector.enrollAgent("telsa-pc", systems: ["office1"], folder: folder, extra: """
            telsa:
              mode: full
              root: \(root.path)
              watch: polling
              pollIntervalSeconds: 0.5

            """)
        let agent = try ChildProcess("tamas-agent", ["telsa", "run", "--config", config.path], name: "telsa agent")
        XCTAssertTrue(try eventually(timeout: 30) {
            try collector.events().contains { $0["type"] as? String == "recording.available" }
        }, agent.log)
        let announced = try XCTUnwrap(try collector.events().first { $0["type"] as? String == "recording.available" })
        let ref = try XCTUnwrap(announced["ref"] as? String)
        let encodedRef = try XCTUnwrap(ref.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?&="))))
        let token = try String(contentsOf: collector.dataDir.appendingPathComponent("admin.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)

        let (status, headers, body) = try await get("\(collector.url)/api/v1/recordings/\(encodedRef)", token: token)
        XCTAssertEqual(status, 200, String(decoding: body, as: UTF8.self))
        XCTAssertEqual(body, audio, "exact bytes, streamed in several chunks")
        XCTAssertEqual(headers["content-type"], "audio/wav")
        XCTAssertEqual(headers["accept-ranges"], "bytes")

        let (partialStatus, partialHeaders, partial) = try await get("\(collector.url)/api/v1/recordings/\(encodedRef)", token: token,
                                                                     range: "bytes=300000-300999")
        XCTAssertEqual(partialStatus, 206)
        XCTAssertEqual(partial, audio.subdata(in: 300_000..<301_000))
        XCTAssertEqual(partialHeaders["content-range"], "bytes 300000-300999/\(audio.count)")
        let (tailStatus, _, tail) = try await get("\(collector.url)/api/v1/recordings/\(encodedRef)", token: token, range: "bytes=-100")
        XCTAssertEqual(tailStatus, 206)
        XCTAssertEqual(tail, audio.suffix(100))
        let (outside, _, _) = try await get("\(collector.url)/api/v1/recordings/\(encodedRef)", token: token,
                                            range: "bytes=\(audio.count + 10)-")
        XCTAssertEqual(outside, 416)
        let (anonymous, _, _) = try await get("\(collector.url)/api/v1/recordings/\(encodedRef)")
        XCTAssertEqual(anonymous, 401, "the admin API needs the token")

        var linkRequest = URLRequest(url: try XCTUnwrap(URL(string: "\(collector.url)/api/v1/recordings/\(encodedRef)/link?validSeconds=600")))
        linkRequest.httpMethod = "POST"
        linkRequest.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (linkData, _) = try await URLSession.shared.data(for: linkRequest)
        let path = try XCTUnwrap((try JSONSerialization.jsonObject(with: linkData) as? [String: String])?["path"])
        let (signedStatus, _, signed) = try await get(collector.url + path)
        XCTAssertEqual(signedStatus, 200)
        XCTAssertEqual(signed, audio, "a CRM user plays it without a Tamas account")
        let (forged, _, _) = try await get(collector.url + path.replacingOccurrences(of: "signature=", with: "signature=0"))
        XCTAssertEqual(forged, 403)
        let (unknown, _, _) = try await get("\(collector.url)/api/v1/recordings/nothing-here", token: token)
        XCTAssertEqual(unknown, 404)
    }
}
