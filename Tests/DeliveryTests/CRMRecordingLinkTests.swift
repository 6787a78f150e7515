import CollectorCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import TamasEvents
import TestSupport
import XCTest

/// A recording made on a Telsa PC reaches a webhook as a signed, expiring link to the
/// collector's `/recordings/{ref}`, which plays without a Tamas account; links minted at send
/// time, refused when tampered with or expired.
final class CRMRecordingLinkTests: XCTestCase {
    static let publicURL = "https://tamas.example.test/pbx"

    final class Received: Sendable {
        let requests = Mutex<[ReceivedRequest]>([])

        func first(_ match: (ReceivedRequest) -> Bool) -> ReceivedRequest? { requests.withLock { $0.first(where: match) } }
    }

    /// A Telsa file: audio-like bytes, then the Telsa64 trailer that names the channel and start time.
    static func telsaRecording(audioBytes: Int, channel: Int, started: String) -> Data {
        var bytes = [UInt8](Data("RIFF".utf8))
        var value = UInt8(channel)
        while bytes.count < audioBytes {
            value = value &* 31 &+ 17
            bytes.append(value | 0x80)
        }
        let trailer = Data("""
            \(started)|Info|FileName:e9c9be2f-5932-4226-8ac7-5c5ab5de09e\(channel)|ServerName:TELSAPC|Card:0x40000047a69dc00|Channel:\(channel)
            \(started)|Number|Number:09121234567
            \(started)|CallWindow|Status:Start|Call_Type:Voice_Call|Color:Gray
            11
            Telsa64

            """.utf8)
        return Data(bytes) + trailer
    }

    func get(_ url: String) async throws -> (Int, Data) {
        let (data, response) = try await URLSession.shared.data(from: try XCTUnwrap(URL(string: url)))
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// The collector's own address for a link made with the public URL (the test has no proxy).
    func local(_ link: String, collector: CollectorUnderTest) throws -> String {
        XCTAssertTrue(link.hasPrefix(Self.publicURL + "/recordings/"), link)
        return collector.url + link.dropFirst(Self.publicURL.count)
    }

    func testWebhookBodiesCarryPlayableSignedRecordingLinks() async throws {
        let received = Received()
        let receiver = FakeCRMServer { request in
            received.requests.withLock { $0.append(request) }
            return FakeAnswer(status: 204, body: "")
        }
        receiver.start()
        defer { receiver.stop() }
        let harness = try DeliveryHarness("webhook-recording", collectorArguments: [
            "--public-url", Self.publicURL + "/", "--recording-link-seconds", "600",
        ])
        try harness.addEndpoint("hook", kind: "webhook", url: receiver.url, secret: "s3cret")

        // Call A is stored before its recording is announced; recording B is announced before its call.
        harness.send(Calls.inboundAnswered("rec-a"))
        XCTAssertTrue(try harness.waitUntilDrained("hook", events: 3, timeout: 30), harness.diagnosis("hook"))
        let root = harness.folder.appendingPathComponent("telsa")
        let recordingA = Self.telsaRecording(audioBytes: 200_000, channel: 1, started: "2026/11/26 09:00:00")
        let recordingB = Self.telsaRecording(audioBytes: 50_000, channel: 2, started: "2026/11/26 09:10:00")
        for (recording, folder, end) in [(recordingA, "Line1", 45), (recordingB, "Line2", 645)] {
            let file = root.appendingPathComponent("Archive/\(folder)/call.wav")
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try recording.write(to: file)
            try FileManager.default.setAttributes([.modificationDate: Calls.start.adding(seconds: end).date], ofItemAtPath: file.path)
        }
        let config = try harness.collector.enrollAgent("telsa-pc", systems: ["office1"], folder: harness.folder, extra: """
            telsa:
              mode: full
              root: \(root.path)
              watch: polling
              pollIntervalSeconds: 0.5

            """)
        let telsa = try ChildProcess("tamas-agent", ["telsa", "run", "--config", config.path], name: "telsa agent")
        XCTAssertTrue(try eventually(timeout: 30) {
            try harness.collector.events().filter { $0["type"] as? String == "recording.available" }.count == 2
        }, telsa.log)
        let lineTwo = Calls.inboundAnswered("rec-b", offset: 600).map { event in
            var onLineTwo = event
            onLineTwo.line = "2"
            return onLineTwo
        }
        harness.send(lineTwo)
        XCTAssertTrue(try harness.waitUntilDrained("hook", events: 6, timeout: 30), harness.diagnosis("hook"))

        let announcedA = try XCTUnwrap(received.first {
            ($0.json["event"] as? [String: Any])?["type"] as? String == "recording.available"
                && ($0.json["call"] as? [String: Any])?["callId"] as? String == "rec-a"
        }, "the recording of call A is delivered with its call")
        let linkA = try XCTUnwrap(((announcedA.json["call"] as? [String: Any])?["recording"] as? [String: Any])?["url"] as? String)
        let eventLinkA = ((announcedA.json["event"] as? [String: Any])?["recording"] as? [String: Any])?["url"] as? String
        XCTAssertNotNil(eventLinkA, "the recording.available event itself carries a link too")
        let (statusA, bytesA) = try await get(try local(linkA, collector: harness.collector))
        XCTAssertEqual(statusA, 200)
        XCTAssertEqual(bytesA, recordingA, "the exact recording, with no Tamas account")

        let endedB = try XCTUnwrap(received.first { $0.header("Idempotency-Key") == "rec-b-e" })
        let linkB = try XCTUnwrap(((endedB.json["call"] as? [String: Any])?["recording"] as? [String: Any])?["url"] as? String,
                                  "a recording linked when the call ended travels with that call.ended: \(String(decoding: endedB.body, as: UTF8.self))")
        let (statusB, bytesB) = try await get(try local(linkB, collector: harness.collector))
        XCTAssertEqual(statusB, 200)
        XCTAssertEqual(bytesB, recordingB)

        let expires = try XCTUnwrap(URLComponents(string: linkA)?.queryItems?.first { $0.name == "expires" }?.value.flatMap(Int.init))
        XCTAssertEqual(Double(expires), Date().timeIntervalSince1970 + 600, accuracy: 60, "--recording-link-seconds, counted from sending")
        let tampered = linkA.replacingOccurrences(of: "expires=\(expires)", with: "expires=\(expires + 86_400)")
        let (tamperedStatus, _) = try await get(try local(tampered, collector: harness.collector))
        XCTAssertEqual(tamperedStatus, 403, "a longer expiry is not signed")
        let signature = try XCTUnwrap(URLComponents(string: linkA)?.queryItems?.first { $0.name == "signature" }?.value)
        let forged = linkA.replacingOccurrences(of: signature, with: String(signature.reversed()))
        let (forgedStatus, _) = try await get(try local(forged, collector: harness.collector))
        XCTAssertEqual(forgedStatus, 403)
        let ref = try XCTUnwrap((announcedA.json["event"] as? [String: Any])?["ref"] as? String)
        let signer = try RecordingLinks(keyFile: harness.collector.dataDir.appendingPathComponent("links.key").path)
        let (expiredStatus, _) = try await get(harness.collector.url + signer.path(ref: ref, validFor: -5, now: Date()))
        XCTAssertEqual(expiredStatus, 403, "correctly signed but expired")
        let (freshStatus, _) = try await get(harness.collector.url + signer.path(ref: ref, validFor: 60, now: Date()))
        XCTAssertEqual(freshStatus, 200, "the same key, not yet expired")
        XCTAssertFalse(harness.collector.log.contains("carry no recording links"), "--public-url is set")
    }

    func testWithoutAPublicURLTheCollectorSaysSoOnceAndSendsNoLink() throws {
        let received = Received()
        let receiver = FakeCRMServer { request in
            received.requests.withLock { $0.append(request) }
            return FakeAnswer(status: 204, body: "")
        }
        receiver.start()
        defer { receiver.stop() }
        let harness = try DeliveryHarness("webhook-no-public-url")
        try harness.addEndpoint("hook", kind: "webhook", url: receiver.url, secret: "s3cret")
        var calls = Calls.inboundAnswered("rec-none")
        calls[2].recording = RecordingLink(ref: "pbx/rec-none.wav", agent: "agent")
        harness.send(calls)
        XCTAssertTrue(try harness.waitUntilDrained("hook", events: 3, timeout: 30), harness.diagnosis("hook"))
        let ended = try XCTUnwrap(received.first { $0.header("Idempotency-Key") == "rec-none-e" })
        let recording = (ended.json["call"] as? [String: Any])?["recording"] as? [String: Any]
        XCTAssertEqual(recording?["ref"] as? String, "pbx/rec-none.wav")
        XCTAssertNil(recording?["url"], "no loopback link is sent")
        XCTAssertEqual(harness.collector.log.components(separatedBy: "carry no recording links").count - 1, 1, harness.collector.log)
    }
}
