import Foundation
import GRDB
import GRDBSQLite

/// A cached GRDB statement bound and stepped through SQLite's C API, for the statements the
/// ingest transaction runs once per event or per call.
///
/// GRDB's `StatementArguments` boxes every value in an existential and converts it to a
/// `DatabaseValue` before binding; in the ingest profile that was a fifth of the commit, and the
/// commit is the one serialized step every agent's acknowledgement waits for. Statements run
/// once per batch keep GRDB's arguments.
struct IngestStatement {
    private let statement: Statement
    private let handle: SQLiteStatement
    private let connection: SQLiteConnection?

    init(_ db: Database, sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
        handle = statement.sqliteStatement
        connection = db.sqliteConnection
    }

    /// Runs a statement that returns no rows, with `values` bound to its parameters in order.
    func execute(_ values: IngestValue...) throws {
        let code = try run(values) { sqlite3_step(handle) }
        guard code == SQLITE_DONE else { throw error(code) }
    }

    /// The first column of the first row as bytes, or nil when there is no row or it is NULL.
    func fetchBlob(_ values: IngestValue...) throws -> Data? {
        let row: (code: Int32, blob: Data?) = try run(values) {
            let code = sqlite3_step(handle)
            guard code == SQLITE_ROW, sqlite3_column_type(handle, 0) != SQLITE_NULL else { return (code, nil) }
            let count = Int(sqlite3_column_bytes(handle, 0))
            guard count > 0, let bytes = sqlite3_column_blob(handle, 0) else { return (code, Data()) }
            return (code, Data(bytes: bytes, count: count))
        }
        guard row.code == SQLITE_ROW || row.code == SQLITE_DONE else { throw error(row.code) }
        return row.blob
    }

    /// Binds the values without copying them (SQLite reads the Swift buffers in place, so the
    /// step runs inside every buffer's scope), steps, then resets and unbinds so no pointer
    /// outlives its buffer.
    private func run<Result>(_ values: [IngestValue], step: () -> Result) throws -> Result {
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        return try bind(values[...], step: step)
    }

    private func bind<Result>(_ values: ArraySlice<IngestValue>, step: () -> Result) throws -> Result {
        guard let value = values.first else { return step() }
        let index = Int32(values.startIndex + 1)
        let rest = values.dropFirst()
        switch value {
        case .integer(nil), .text(nil):
            try check(sqlite3_bind_null(handle, index))
            return try bind(rest, step: step)
        case .integer(let number?):
            try check(sqlite3_bind_int64(handle, index, number))
            return try bind(rest, step: step)
        case .text(var text?):
            return try text.withUTF8 { bytes in
                try bytes.withMemoryRebound(to: CChar.self) { characters in
                    try check(sqlite3_bind_text(handle, index, characters.baseAddress ?? Self.emptyText, Int32(characters.count), nil))
                    return try bind(rest, step: step)
                }
            }
        case .blob(let data):
            return try data.withUnsafeBytes { bytes in
                try check(bytes.isEmpty
                    ? sqlite3_bind_zeroblob(handle, index, 0)
                    : sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), nil))
                return try bind(rest, step: step)
            }
        }
    }

    /// An empty buffer has no address, and a NULL pointer would bind SQL NULL, not ''.
    private static let empty: StaticString = ""
    private static var emptyText: UnsafePointer<CChar> { UnsafeRawPointer(empty.utf8Start).assumingMemoryBound(to: CChar.self) }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else { throw error(code) }
    }

    private func error(_ code: Int32) -> DatabaseError {
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
    }
}

/// A parameter value; nil binds SQL NULL.
enum IngestValue {
    case integer(Int64?)
    case text(String?)
    case blob(Data)
}
