import CollectorCore
@testable import CRMDelivery
import Foundation
import TamasEvents
import TestSupport
import XCTest

final class RecordingLinkMinterTests: XCTestCase {
    func testLinksAreMintedAtSendTimeUnderThePublicURLAndVerifyWithTheSameKey() throws {
        let folder = try temporaryFolder("link-minter")
        let links = try RecordingLinks(keyFile: folder.appendingPathComponent("links.key").path)
        let minter = try RecordingLinkMinter(links: links, publicBaseURL: "https://pbx.example.com/tamas/", lifetimeSeconds: 3600)
        let at = Timestamp(iso8601: "2026-11-26T09:00:00+03:30")!
        var call = CallAssembler.apply(CallEvent(eventId: "e", type: .callEnded, systemKey: "office1", source: "jsonl", at: at,
                                                 callId: "c", direction: .inbound, durationSec: 0), to: nil)
        call?.recording = RecordingLink(ref: "Archive/1/a b.wav", agent: "telsa")
        let announced = CallEvent(eventId: "r", type: .recordingAvailable, systemKey: "office1", source: "telsa", at: at,
                                  callId: "c", ref: "Archive/1/a b.wav")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let job = minter.addingLinks(to: DeliveryJob(event: announced, call: call, callState: nil, session: nil), now: now)

        let url = try XCTUnwrap(job.call?.recording?.url)
        XCTAssertEqual(url, "https://pbx.example.com/tamas/recordings/Archive%2F1%2Fa%20b.wav?expires=1800003600&signature="
                       + (url.components(separatedBy: "signature=").last ?? ""))
        XCTAssertEqual(job.event.recording?.url, url, "the recording.available event carries the same link")
        XCTAssertEqual(job.event.recording?.ref, "Archive/1/a b.wav")
        let signature = try XCTUnwrap(url.components(separatedBy: "signature=").last)
        XCTAssertTrue(links.verify(ref: "Archive/1/a b.wav", expires: 1_800_003_600, signature: signature, now: now))
        XCTAssertFalse(links.verify(ref: "Archive/1/a b.wav", expires: 1_800_003_600, signature: signature, now: now.addingTimeInterval(3601)),
                       "expired")
        XCTAssertFalse(links.verify(ref: "Archive/1/other.wav", expires: 1_800_003_600, signature: signature, now: now))

        let later = minter.addingLinks(to: DeliveryJob(event: announced, call: call, callState: nil, session: nil), now: now.addingTimeInterval(60))
        XCTAssertNotEqual(later.call?.recording?.url, url, "a later send gets a link that lives from then")
    }

    func testAPublicURLMustBeAnHTTPAddressAndTheLifetimeBounded() throws {
        let links = try RecordingLinks(keyFile: try temporaryFolder("link-minter-bad").appendingPathComponent("links.key").path)
        XCTAssertThrowsError(try RecordingLinkMinter(links: links, publicBaseURL: "tamas.example.com"))
        XCTAssertThrowsError(try RecordingLinkMinter(links: links, publicBaseURL: "https://user:pw@tamas.example.com"))
        XCTAssertThrowsError(try RecordingLinkMinter(links: links, publicBaseURL: "https://tamas.example.com", lifetimeSeconds: 10))
        XCTAssertNoThrow(try RecordingLinkMinter(links: links, publicBaseURL: "http://10.0.0.5:8080"))
    }

    func testARecordingLinkedAfterTheSnapshotTravelsWithTheNextDelivery() throws {
        let at = Timestamp(iso8601: "2026-11-26T09:00:00+03:30")!
        let snapshot = try XCTUnwrap(CallAssembler.apply(CallEvent(eventId: "e", type: .callEnded, systemKey: "office1", source: "jsonl",
                                                                   at: at, callId: "c", direction: .inbound, durationSec: 0), to: nil))
        let stored = RecordingLink(ref: "rec-1", agent: "telsa")
        XCTAssertEqual(CRMStore.withLatestRecording(snapshot, stored: stored).recording, stored)
        XCTAssertNil(CRMStore.withLatestRecording(snapshot, stored: nil).recording)
        let own = CallAssembler.attach(RecordingLink(ref: "own"), to: snapshot)
        XCTAssertEqual(CRMStore.withLatestRecording(own, stored: stored).recording?.ref, "own")
    }
}
