import AgentCore
import Foundation
import Logging
import TamasEvents
import XCTest

/// Status reports made by `EventSink.report`, as the collector will see them.
final class EventSinkStatusTests: XCTestCase {
    /// A resync whose actions Asterisk refuses reports two `permissionMissing` states within one
    /// millisecond; the collector drops a repeated event id, so the two must differ.
    func testTwoReportsOfOneStateWithinAMillisecondAreTwoEvents() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sink-\(UUID())/spool.sqlite").path
        let spool = try await Spool.open(SpoolSettings(path: path))
        let sink = EventSink(systemKey: "K1", source: "ami", spool: spool, status: DeviceStatus(), logger: Logger(label: "test"))
        let at = Timestamp(epochMillis: 1_764_000_000_123)
        await sink.report(state: "permissionMissing", detail: "CoreShowChannels: Permission denied", at: at)
        await sink.report(state: "permissionMissing", detail: "PJSIPShowEndpoints: Permission denied", at: at)
        await sink.report(state: "permissionMissing", detail: "PJSIPShowEndpoints: Permission denied", at: at)

        let stored = try await spool.read(after: 0, limit: 10).compactMap { try? EventJSON().decode($0.body) }
        XCTAssertEqual(stored.map(\.detail), ["CoreShowChannels: Permission denied", "PJSIPShowEndpoints: Permission denied"],
                       "a repeated identical report is folded")
        XCTAssertEqual(Set(stored.map(\.eventId)).count, 2, "\(stored.map(\.eventId))")
    }
}
