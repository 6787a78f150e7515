import AMIProtocol
import Foundation
import TamasEvents

/// Times the framer alone and framer + call tracker over the same bytes, fed in the 64 KiB
/// chunks a socket delivers, on the calling thread.
struct AMIBenchmark {
    let stream: AMIStreamGenerator.Stream
    static let chunkBytes = 64 * 1024

    struct Figures {
        var messages: Int
        var framesKept: Int
        var bytes: Int
        var callEvents: Int
        var framingSeconds: Double
        var trackingSeconds: Double

        var text: String {
            let framingRate = Double(messages) / framingSeconds
            let trackingRate = Double(messages) / trackingSeconds
            return """
                stream: \(messages) AMI messages (\(framesKept) kept after the early drop of ignored events), \(bytes / 1_000_000) MB, \(callEvents) call events out
                framing alone (baseline):  \(Int(framingRate)) AMI messages/s (\(String(format: "%.2f", framingSeconds)) s)
                framing + call tracking:   \(Int(trackingRate)) AMI messages/s, \(Int(Double(callEvents) / trackingSeconds)) call events/s (\(String(format: "%.2f", trackingSeconds)) s)
                ratio tracking/baseline:   \(String(format: "%.2f", trackingRate / framingRate))
                """
        }
    }

    func run() -> Figures {
        let chunks = stride(from: 0, to: stream.bytes.count, by: Self.chunkBytes).map {
            Array(stream.bytes[$0..<min($0 + Self.chunkBytes, stream.bytes.count)])
        }
        let now = Timestamp(epochMillis: 1_700_000_000_000)
        let clock = ContinuousClock()
        var framedMessages = 0
        let framing = clock.measure {
            var framer = AMIFramer(droppedEvents: AMISettings().framerDropList(dialect: .v13plus))
            for chunk in chunks { framedMessages += framer.push(chunk).count }
            framedMessages += framer.finish().count
        }
        var callEvents = 0
        let tracking = clock.measure {
            var events = AMIEventStream(settings: AMISettings())
            for chunk in chunks { callEvents += events.receive(chunk, now: now).count }
            callEvents += events.finish(now: now).count
        }
        return Figures(messages: stream.messageCount, framesKept: framedMessages, bytes: stream.bytes.count, callEvents: callEvents,
                       framingSeconds: framing.seconds, trackingSeconds: tracking.seconds)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
