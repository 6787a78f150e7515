@testable import CollectorCore
import Foundation
import GRDB
import NIOCore
import NIOFoundationCompat
import TamasEvents
import TamasLink
import XCTest

final class IngestStatementTests: XCTestCase {
    func makeDatabase() throws -> DatabaseQueue {
        let database = try DatabaseQueue()
        try database.write { db in
            try db.execute(sql: "CREATE TABLE t (name TEXT, number INTEGER, bytes BLOB, unique_key TEXT UNIQUE)")
        }
        return database
    }

    func testEmptyValuesStayEmptyAndNilIsNull() throws {
        let database = try makeDatabase()
        try database.write { db in
            let insert = try IngestStatement(db, sql: "INSERT INTO t (name, number, bytes, unique_key) VALUES (?, ?, ?, ?)")
            try insert.execute(.text(""), .integer(nil), .blob(Data()), .text(nil))
            try insert.execute(.text("دفتر مرکزی"), .integer(-42), .blob(Data([0, 1, 2])), .text("k"))
        }
        let rows = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT quote(name) AS name, typeof(number) AS number, quote(bytes) AS bytes, typeof(unique_key) AS key FROM t ORDER BY rowid")
        }
        XCTAssertEqual(rows.map { $0["name"] as String }, ["''", "'دفتر مرکزی'"])
        XCTAssertEqual(rows.map { $0["number"] as String }, ["null", "integer"])
        XCTAssertEqual(rows.map { $0["bytes"] as String }, ["X''", "X'000102'"])
        XCTAssertEqual(rows.map { $0["key"] as String }, ["null", "text"])
    }

    func testFetchBlobTellsNoRowFromAnEmptyBlob() throws {
        let database = try makeDatabase()
        try database.write { db in
            try db.execute(sql: "INSERT INTO t (name, bytes) VALUES ('empty', X''), ('full', X'CAFE'), ('null', NULL)")
            let select = try IngestStatement(db, sql: "SELECT bytes FROM t WHERE name = ?")
            XCTAssertEqual(try select.fetchBlob(.text("full")), Data([0xCA, 0xFE]))
            XCTAssertEqual(try select.fetchBlob(.text("empty")), Data())
            XCTAssertNil(try select.fetchBlob(.text("null")))
            XCTAssertNil(try select.fetchBlob(.text("missing")))
        }
    }

    func testAFailedStepThrowsSQLitesMessageAndTheStatementStaysUsable() throws {
        let database = try makeDatabase()
        try database.write { db in
            let insert = try IngestStatement(db, sql: "INSERT INTO t (unique_key) VALUES (?)")
            try insert.execute(.text("same"))
            XCTAssertThrowsError(try insert.execute(.text("same"))) { error in
                let failure = error as? DatabaseError
                XCTAssertEqual(failure?.resultCode, .SQLITE_CONSTRAINT)
                XCTAssertTrue(failure?.message?.contains("t.unique_key") ?? false, "\(error)")
            }
            try insert.execute(.text("other"))
        }
        XCTAssertEqual(try database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM t") }, 2)
    }

    /// The writer's own checkpoint only starts at 32 MiB of log; a few hundred events reach the
    /// database file only if the background checkpointer copies them.
    func testTheLogIsCopiedIntoTheDatabaseFileBesideTheWriter() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wal-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("collector.sqlite").path
        let store = try CollectorStore(path: path)
        let agent = try await store.enroll(name: "a", systemKeys: ["K1"]).agent
        let sizeBefore = try fileSize(path)
        let start = Timestamp(iso8601: "2026-11-26T09:00:00+03:30")!
        let json = EventJSON()
        let events = try (0..<400).map { index in
            ByteBuffer(data: try json.encode(CallEvent(eventId: "e\(index)", type: .callRinging, systemKey: "K1", source: "jsonl",
                                                       at: start.adding(seconds: index), callId: "c\(index)", from: "201")))
        }
        _ = try await store.ingest(EventBatch(firstSequence: 1, events: events), from: agent)
        let deadline = ContinuousClock.now + .seconds(10)
        while try fileSize(path) <= sizeBefore, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        XCTAssertGreaterThan(try fileSize(path), sizeBefore, "no checkpoint copied the log into the database file")
        XCTAssertLessThan(try fileSize(path + "-wal"), Int64(WALCheckpointer.writerBackstopPages) * 4096)
    }

    func fileSize(_ path: String) throws -> Int64 {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
    }
}
