import TamasEvents

/// Bytes of an AMI event stream in, EVENTS.md events out: the framer and the call tracker
/// together, with nothing of the login protocol. This is what `ami replay` and `ami bench`
/// run, and what the client state machine feeds once logged in.
public struct AMIEventStream: SourceStateMachine, Sendable {
    public private(set) var framer: AMIFramer
    public private(set) var tracker: AMICallTracker
    /// The banner seen last, if any.
    public private(set) var bannerVersion: String?
    public private(set) var messageCount = 0

    public init(settings: AMISettings) {
        framer = AMIFramer(droppedEvents: settings.framerDropList(dialect: nil))
        tracker = AMICallTracker(settings: settings)
    }

    public mutating func receive(_ bytes: [UInt8], now: Timestamp) -> [CallEvent] {
        handle(framer.push(bytes), now: now)
    }

    /// Closes calls whose Hangup was lost (`AMICallTracker.sweep`).
    public mutating func tick(now: Timestamp) -> [CallEvent] { tracker.sweep(now: now) }

    public mutating func finish(now: Timestamp) -> [CallEvent] {
        handle(framer.finish(), now: now)
    }

    /// Messages that did not come as bytes (the JSON event lists of `ami replay`).
    public mutating func receive(_ message: AMIMessage, now: Timestamp) -> [CallEvent] {
        if let name = message.eventName, framer.droppedEvents.contains(name) { return [] }
        messageCount += 1
        return tracker.handle(message, now: now)
    }

    private mutating func handle(_ frames: [AMIFrame], now: Timestamp) -> [CallEvent] {
        var events: [CallEvent] = []
        for frame in frames {
            switch frame {
            case .banner(_, let version): bannerVersion = version
            case .message(let message):
                messageCount += 1
                events.append(contentsOf: tracker.handle(message, now: now))
            case .unparsed(let raw, let reason):
                events.append(tracker.unparsed(raw, reason: reason, at: now))
            }
        }
        return events
    }
}
