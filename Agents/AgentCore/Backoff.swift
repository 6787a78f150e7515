/// Exponential back-off with full jitter, capped: reconnect storms from many agents after a
/// collector restart spread out instead of arriving together, and no agent ever waits longer
/// than `cap` (users of other tools found back-offs grown to a day).
public struct Backoff: Sendable {
    public var base: Double
    public var cap: Double
    private(set) var attempt = 0

    public init(base: Double = 1, cap: Double = 60) {
        self.base = base
        self.cap = cap
    }

    /// `unit` is a random number in 0..<1, passed in so tests are deterministic.
    public mutating func next(unit: Double) -> Double {
        let ceiling = min(cap, base * Double(1 << min(attempt, 16)))
        attempt += 1
        return max(base / 2, ceiling * unit)
    }

    /// After a refusal that a quick retry cannot fix (bad secret): wait the longest.
    public mutating func exhaust() {
        attempt = 16
    }

    public mutating func reset() {
        attempt = 0
    }
}
