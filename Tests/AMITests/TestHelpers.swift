import AMIProtocol
import Foundation
import TamasEvents

/// Builds AMI wire text from ordered header lists, so hand-made streams read like captures.
enum Wire {
    static func message(_ pairs: [(String, String)], lineEnd: String = "\r\n") -> String {
        pairs.map { "\($0.0): \($0.1)\(lineEnd)" }.joined() + lineEnd
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
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
