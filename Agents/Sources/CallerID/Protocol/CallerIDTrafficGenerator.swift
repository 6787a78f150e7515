import TamasEvents

/// Deterministic Segal traffic for end-to-end tests: the same seed always gives the same bytes
/// and the same expected calls. Calls on different lines overlap, so their records interleave;
/// calls on one line are separated by more than the ring timeout, so a missed call has ended
/// before the line's next record.
public struct CallerIDTrafficGenerator: Sendable {
    public enum Kind: String, Sendable, CaseIterable { case inboundAnswered, inboundMissed, outbound }

    public struct ExpectedCall: Equatable, Sendable {
        public var line: String
        public var kind: Kind
        /// The caller's number for inbound calls, the dialed number for outbound ones, as sent.
        public var numberRaw: String
        public var durationSec: Int
        public var rings: Int
    }

    /// Bytes to write at `offsetMillis` after the start of the traffic.
    public struct Chunk: Equatable, Sendable {
        public var offsetMillis: Int
        public var bytes: [UInt8]
    }

    public struct Traffic: Sendable {
        public var chunks: [Chunk]
        public var expectedCalls: [ExpectedCall]
        /// When every call, including the last missed one, has ended for a decoder using the
        /// generator's ring timeout: tick the decoder at (or after) this offset.
        public var quietAfterMillis: Int
        public var bytes: [UInt8] { chunks.flatMap(\.bytes) }
    }

    public let seed: UInt64
    public let lines: Int
    public let calls: Int
    public let ringTimeoutSeconds: Int

    public init(seed: UInt64, lines: Int, calls: Int, ringTimeoutSeconds: Int = 10) {
        self.seed = seed
        self.lines = max(1, lines)
        self.calls = max(0, calls)
        self.ringTimeoutSeconds = max(1, ringTimeoutSeconds)
    }

    public func generate() -> Traffic {
        var random = SplitMix64(seed: seed)
        var lineFreeAt = [Int](repeating: 0, count: lines)
        var records: [(at: Int, line: Int, text: String)] = []
        var expected: [ExpectedCall] = []
        let ringPeriod = 4_000
        for _ in 0..<calls {
            let lineIndex = Int(random.next() % UInt64(lines))
            let line = lineIndex + 1
            let kind = Kind.allCases[Int(random.next() % 3)]
            var at = lineFreeAt[lineIndex] + Int(random.next() % 3_000)
            let durationSec: Int
            let number: String
            var rings = 0
            switch kind {
            case .inboundAnswered, .inboundMissed:
                number = "0912" + digits(7, &random)
                rings = 1 + Int(random.next() % 5)
                records.append((at, line, "L\(line)C\(number)"))
                for ring in 1...rings {
                    at += 300
                    records.append((at, line, "L\(line)R" + (ring < 10 ? "0\(ring)" : "\(ring)")))
                    if ring < rings { at += ringPeriod - 300 }
                }
                if kind == .inboundAnswered {
                    at += 1_000
                    records.append((at, line, "L\(line)HF"))
                    durationSec = 5 + Int(random.next() % 300)
                    at += durationSec * 1_000
                    records.append((at, line, "L\(line)HND: T\(mmss(durationSec))"))
                } else {
                    durationSec = 0
                    at += ringTimeoutSeconds * 1_000
                }
            case .outbound:
                number = "0" + String(1 + random.next() % 9) + digits(9, &random)
                records.append((at, line, "L\(line)HF"))
                for digit in number {
                    at += 250
                    records.append((at, line, "L\(line)D\(digit)"))
                }
                durationSec = 5 + Int(random.next() % 300)
                at += durationSec * 1_000
                records.append((at, line, "L\(line)HND:\(number) T\(mmss(durationSec))"))
            }
            lineFreeAt[lineIndex] = at + ringTimeoutSeconds * 1_000 + 2_000
            expected.append(ExpectedCall(line: String(line), kind: kind, numberRaw: number, durationSec: durationSec, rings: rings))
        }
        let ordered = records.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        let separators = ["", "\n", "\r\n", "\n\n"]
        let chunks = ordered.map { record in
            Chunk(offsetMillis: record.at, bytes: Array((record.text + "@" + separators[Int(random.next() % 4)]).utf8))
        }
        let quiet = (lineFreeAt.max() ?? 0)
        return Traffic(chunks: chunks, expectedCalls: expected, quietAfterMillis: quiet)
    }

    private func digits(_ count: Int, _ random: inout SplitMix64) -> String {
        String((0..<count).map { _ in Character(String(random.next() % 10)) })
    }

    /// Segal's `T` field in the minutes-and-seconds reading (docs/callerid.md).
    private func mmss(_ seconds: Int) -> String {
        let minutes = seconds / 60
        let rest = seconds % 60
        return (minutes < 10 ? "0\(minutes)" : "\(minutes)") + (rest < 10 ? "0\(rest)" : "\(rest)")
    }
}
