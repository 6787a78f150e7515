/// Exponential backoff with jitter: 1 s, 2 s, 4 s … up to `maxSeconds`, each wait drawn between
/// half and all of that step so that many waiting deliveries (or collectors) do not retry in step.
struct Backoff: Sendable {
    var maxSeconds: Int

    /// The wait after `failures` consecutive failures (1 = the first), in milliseconds; a
    /// server's Retry-After is honoured when it asks for longer.
    func delayMillis(failures: Int, retryAfterSeconds: Int? = nil, random: Double) -> Int64 {
        let step = min(Double(maxSeconds), Double(1 << min(max(failures - 1, 0), 20)))
        let jittered = Int64(step * 1000 * (0.5 + 0.5 * min(max(random, 0), 1)))
        guard let retryAfterSeconds else { return jittered }
        return max(jittered, Int64(min(retryAfterSeconds, 86_400)) * 1000)
    }
}
