import Foundation
import SMDRProtocol
import TamasEvents

/// `smdr bench`: decoder throughput (framing, parsing and call assembly) on one core, next to
/// a baseline that only splits the same bytes into lines, so a slow machine shows as a slow
/// baseline rather than as a slow decoder.
struct SMDRBenchmark {
    struct Report: CustomStringConvertible {
        var lines: Int
        var bytes: Int
        var events: Int
        var decoderSeconds: Double
        var framingSeconds: Double

        var description: String {
            let decoderRate = Double(lines) / decoderSeconds
            let framingRate = Double(lines) / framingSeconds
            return """
                lines:             \(lines) (\(bytes) bytes, \(events) events)
                parse + calls:     \(format(decoderSeconds)) s CPU, \(Int(decoderRate)) lines/s
                baseline (framing):\(format(framingSeconds)) s CPU, \(Int(framingRate)) lines/s
                ratio:             decoding takes \(String(format: "%.1f", decoderSeconds / framingSeconds))x the time of framing alone
                """
        }

        private func format(_ seconds: Double) -> String { String(format: " %.3f", seconds) }
    }

    let model: SMDRModel
    let lines: Int

    func run(repeats: Int) -> Report {
        let start = Timestamp(year: 2026, month: 11, day: 1, hour: 8, minute: 0, second: 0, timeZone: .gmt)
            ?? Timestamp(epochMillis: 1_790_000_000_000)
        // The generator prints about 1.75 lines per call (ring groups, RC lines, headers).
        var traffic = SMDRTrafficGenerator(model: model, seed: 42, start: start, callCount: lines * 3 / 5 + 10).generate()
        if traffic.lines.count > lines { traffic.lines.removeLast(traffic.lines.count - lines) }
        let bytes = traffic.bytes
        let chunks = stride(from: 0, to: bytes.count, by: 65_536).map { Array(bytes[$0..<min($0 + 65_536, bytes.count)]) }
        let settings = SMDRSettings(systemKey: "bench", model: model, timeZone: "UTC")
        var best = Report(lines: traffic.lines.count, bytes: bytes.count, events: 0, decoderSeconds: .infinity, framingSeconds: .infinity)
        for _ in 0..<repeats {
            var framedLines = 0
            let framing = cpuSeconds {
                var framer = LineFramer()
                for chunk in chunks { framedLines &+= framer.push(chunk).count }
                framedLines &+= framer.flush().count
            }
            var events = 0
            let decoding = cpuSeconds {
                var decoder = SMDRDecoder(settings: settings)
                for chunk in chunks { events &+= decoder.receive(chunk, now: start).count }
                events &+= decoder.finish(now: start).count
            }
            best.events = events
            best.framingSeconds = min(best.framingSeconds, framing)
            best.decoderSeconds = min(best.decoderSeconds, decoding)
        }
        return best
    }

    /// CPU time of this thread: other work on a shared machine does not count against the code.
    private func cpuSeconds(_ work: () -> Void) -> Double {
        var before = timespec()
        var after = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &before)
        work()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &after)
        return Double(after.tv_sec - before.tv_sec) + Double(after.tv_nsec - before.tv_nsec) / 1e9
    }
}
