import GRDB

/// Copies the write-ahead log back into the database file on a connection of its own.
///
/// SQLite's automatic checkpoint runs inside the committing writer, so every few hundred
/// batches one ingest commit also read and rewrote megabytes of pages while every agent's next
/// acknowledgement waited behind it. Here the writer only appends to the log and the copying
/// happens beside it on another core. The writer keeps a far larger automatic threshold as a
/// backstop, so the log stays bounded even if this connection ever falls behind.
actor WALCheckpointer {
    /// The writer's own checkpoint threshold in pages (32 MiB with 4 KiB pages).
    static let writerBackstopPages = 8192

    private let connection: DatabaseQueue
    private var running = false
    private var wantsAnother = false

    init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        connection = try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Called after each commit; checkpoints run back to back while commits keep arriving.
    func logGrew() {
        guard !running else {
            wantsAnother = true
            return
        }
        running = true
        Task { await checkpointUntilIdle() }
    }

    private func checkpointUntilIdle() async {
        repeat {
            wantsAnother = false
            // A passive checkpoint never waits for readers or the writer; whatever it could not
            // copy this time, the next one copies.
            _ = try? await connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        } while wantsAnother
        running = false
    }
}
