import Foundation
import TamasEvents

/// `tamas-agent ami replay FILE`: a recorded AMI session in, EVENTS.md events out.
///
/// Two inputs are accepted: raw wire text as Asterisk sends it (what a `tcpdump`/`ngrep` dump
/// or panoramisk's captures hold) and a JSON list of event objects (cacofonisk's captures).
/// Lines starting with `#` before the content are comments (the fixtures' `# SOURCE:` header).
///
/// Recorded events rarely carry times (only with `timestampevents = yes`), so replay keeps its
/// own clock: it starts at the first Uniqueid's epoch seconds, moves `stepMillis` per message,
/// and jumps forward when a later Uniqueid shows that more time passed. Durations are therefore
/// approximate, but the same file always yields the same events and ids.
public struct AMIReplay {
    public var settings: AMISettings
    public var stepMillis: Int64
    public var offsetSeconds: Int32

    public init(settings: AMISettings, stepMillis: Int64 = 100, offsetSeconds: Int32 = 0) {
        self.settings = settings
        self.stepMillis = stepMillis
        self.offsetSeconds = offsetSeconds
    }

    public func run(_ data: Data) -> [CallEvent] {
        let bytes = [UInt8](data)
        let body = Self.skippingCommentLines(bytes)
        var stream = AMIEventStream(settings: settings)
        var clock = ReplayClock(stepMillis: stepMillis, offsetSeconds: offsetSeconds)
        var events: [CallEvent] = []
        if body.first(where: { !Self.isSpace($0) }) == UInt8(ascii: "[") {
            for item in Self.jsonMessages(body) {
                switch item {
                case .success(let message):
                    events += stream.receive(message, now: clock.advance(for: message))
                case .failure(let problem):
                    events.append(stream.tracker.unparsed(problem.raw, reason: problem.reason, at: clock.now))
                }
            }
            return events
        }
        var framer = AMIFramer(droppedEvents: settings.framerDropList(dialect: nil))
        for frame in framer.push(body) + framer.finish() {
            switch frame {
            case .banner: continue
            case .message(let message): events += stream.receive(message, now: clock.advance(for: message))
            case .unparsed(let raw, let reason): events.append(stream.tracker.unparsed(raw, reason: reason, at: clock.now))
            }
        }
        return events
    }

    struct JSONProblem: Error {
        var raw: String
        var reason: String
    }

    static func jsonMessages(_ bytes: [UInt8]) -> [Result<AMIMessage, JSONProblem>] {
        guard let list = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [Any] else {
            return [.failure(JSONProblem(raw: AMIFramer.text(bytes.prefix(AMIFramer.reportedBytes)), reason: "not a JSON list of AMI event objects"))]
        }
        return list.map { item in
            guard let object = item as? [String: Any] else {
                return .failure(JSONProblem(raw: String(describing: item).prefix(AMIFramer.reportedBytes).description, reason: "JSON list entry is not an object"))
            }
            var pairs: [(String, String)] = []
            if let event = object["Event"] { pairs.append(("Event", stringValue(event))) }
            for key in object.keys.sorted() where key != "Event" && key != "content" {
                if let value = object[key] { pairs.append((key, stringValue(value))) }
            }
            return .success(AMIMessage(pairs))
        }
    }

    private static func stringValue(_ value: Any) -> String {
        if let text = value as? String { return text }
        if let number = value as? NSNumber { return number.stringValue }
        return String(describing: value)
    }

    private static func skippingCommentLines(_ bytes: [UInt8]) -> [UInt8] {
        var start = 0
        while start < bytes.count, bytes[start] == UInt8(ascii: "#") {
            guard let newline = bytes[start...].firstIndex(of: 0x0A) else { return [] }
            start = newline + 1
        }
        return Array(bytes[start...])
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
}

struct ReplayClock {
    let stepMillis: Int64
    let offsetSeconds: Int32
    private var millis: Int64?

    init(stepMillis: Int64, offsetSeconds: Int32) {
        self.stepMillis = stepMillis
        self.offsetSeconds = offsetSeconds
    }

    var now: Timestamp { Timestamp(epochMillis: millis ?? 0, offsetSeconds: offsetSeconds) }

    mutating func advance(for message: AMIMessage) -> Timestamp {
        let hinted = Self.epochMillis(message["uniqueid"] ?? message["destuniqueid"])
        if let current = millis {
            millis = max(current + stepMillis, hinted ?? 0)
        } else {
            millis = hinted ?? 0
        }
        return now
    }

    /// `1509101015.24` or `195176c06ab8-1529936170.42` (with `systemname`): seconds before the dot.
    static func epochMillis(_ uniqueid: String?) -> Int64? {
        guard let uniqueid else { return nil }
        let tail = uniqueid.split(separator: "-").last ?? Substring(uniqueid)
        guard let seconds = tail.split(separator: ".").first.flatMap({ Int64($0) }), seconds > 100_000_000,
              Timestamp.plausibleEpochSeconds.contains(seconds) else { return nil }
        return seconds * 1000
    }
}
