import AMIProtocol
import Foundation
import TamasEvents
import TestSupport

/// Builds AMI wire text from ordered header lists, so hand-made streams read like captures.
enum Wire {
    static func message(_ pairs: [(String, String)], lineEnd: String = "\r\n") -> String {
        pairs.map { "\($0.0): \($0.1)\(lineEnd)" }.joined() + lineEnd
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// A hand-built stream kept as a transcript in `Tests/AMITests/Golden/streams/<name>.ami`:
    /// messages separated by a blank line, one `Key: Value` a line, LF line ends (so an editor
    /// or git cannot mangle them). The AMI agent tests send the same files through the test
    /// double with CRLF, so the pure and the end-to-end tests run the very same streams.
    static func transcript(_ name: String) throws -> [[(String, String)]] {
        let text = try String(contentsOf: Fixtures.testFile("AMITests/Golden/streams/\(name).ami"), encoding: .utf8)
        return text.components(separatedBy: "\n\n").compactMap { block in
            let pairs: [(String, String)] = block.split(separator: "\n").compactMap { line in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                let value = line[line.index(after: colon)...]
                return (String(line[..<colon]), String(value.hasPrefix(" ") ? value.dropFirst() : value))
            }
            return pairs.isEmpty ? nil : pairs
        }
    }
}

/// Feeds one message at a time with the clock moving one second per message.
struct StreamRunner {
    var stream: AMIEventStream
    var now: Timestamp

    static let defaultStart = Timestamp(epochMillis: 1_764_150_000_000, offsetSeconds: 12_600)

    init(settings: AMISettings, start: Timestamp = StreamRunner.defaultStart) {
        stream = AMIEventStream(settings: settings)
        now = start
    }

    mutating func feed(_ messages: [[(String, String)]]) -> [CallEvent] {
        var events: [CallEvent] = []
        for message in messages {
            now = now.adding(seconds: 1)
            events += stream.receive(Wire.bytes(Wire.message(message)), now: now)
        }
        return events
    }
}

extension Array where Element == CallEvent {
    func ofType(_ type: EventType) -> [CallEvent] { filter { $0.type == type } }
}

struct FixedJitter: RandomNumberGenerator, Sendable {
    var value: UInt64
    mutating func next() -> UInt64 { value }
}
