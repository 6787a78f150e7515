/// When each recording search runs, without a clock of its own: the first attempt `delay`
/// after the hangup, each retry `delay` after the previous miss, until `attempts` are used.
/// Bounded, so a recording server that stays unreachable for hours cannot grow memory.
public struct AMIRecordingSearchSchedule: Sendable {
    public struct Entry: Hashable, Sendable {
        public var search: AMIRecordingSearch
        /// 1 for the first attempt.
        public var attempt: Int
        public var dueMillis: Int64
    }

    public let delayMillis: Int64
    public let attempts: Int
    public let capacity: Int
    private var entries: [Entry] = []

    public init(delayMillis: Int64, attempts: Int = 3, capacity: Int = 10_000) {
        self.delayMillis = max(0, delayMillis)
        self.attempts = max(1, attempts)
        self.capacity = max(1, capacity)
    }

    public var count: Int { entries.count }
    public var nextDueMillis: Int64? { entries.lazy.map(\.dueMillis).min() }

    /// Schedules the first attempt; false when the schedule is full and the search is dropped.
    public mutating func add(_ search: AMIRecordingSearch, nowMillis: Int64) -> Bool {
        guard entries.count < capacity else { return false }
        entries.append(Entry(search: search, attempt: 1, dueMillis: nowMillis + delayMillis))
        return true
    }

    /// Removes and returns the entries due at `nowMillis`, in the order they were scheduled.
    public mutating func takeDue(nowMillis: Int64) -> [Entry] {
        let due = entries.filter { $0.dueMillis <= nowMillis }
        guard !due.isEmpty else { return [] }
        entries.removeAll { $0.dueMillis <= nowMillis }
        return due
    }

    /// An attempt found nothing (or could not list the folders): schedules the next one, or
    /// returns false when the entry has used its attempts (or the schedule is full).
    public mutating func retry(_ entry: Entry, nowMillis: Int64) -> Bool {
        guard entry.attempt < attempts, entries.count < capacity else { return false }
        entries.append(Entry(search: entry.search, attempt: entry.attempt + 1, dueMillis: nowMillis + delayMillis))
        return true
    }
}
