/// Group commit: batches that arrive while a transaction is being written wait and are then
/// written together in the next one. With many agents streaming, one fsync serves them all;
/// with one agent, its next batch is decoded while the previous one commits.
actor IngestCommitter {
    private struct Waiting {
        var batch: CollectorStore.PreparedBatch
        var continuation: CheckedContinuation<CollectorStore.IngestResult, Error>
    }

    /// Enough to amortize an fsync, small enough to keep a transaction short.
    static let maxBatchesPerTransaction = 64

    private let store: CollectorStore
    private var waiting: [Waiting] = []
    private var writing = false

    init(store: CollectorStore) {
        self.store = store
    }

    func commit(_ batch: CollectorStore.PreparedBatch) async throws -> CollectorStore.IngestResult {
        try await withCheckedThrowingContinuation { continuation in
            waiting.append(Waiting(batch: batch, continuation: continuation))
            if !writing {
                writing = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !waiting.isEmpty {
            let group = Array(waiting.prefix(Self.maxBatchesPerTransaction))
            waiting.removeFirst(group.count)
            do {
                let results = try await store.commit(group.map(\.batch))
                for (entry, result) in zip(group, results) { entry.continuation.resume(returning: result) }
            } catch {
                for entry in group { entry.continuation.resume(throwing: error) }
            }
        }
        writing = false
    }
}
