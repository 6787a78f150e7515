import Foundation
import TamasEvents
import TestSupport

/// `count` call events forming whole calls (ringing, answered, ended; the remainder as
/// single-line outbound calls), with ids derived from the call number so that any re-read of
/// the same lines deduplicates.
struct SampleTraffic {
    let systemKey: String
    let count: Int
    let start = Timestamp(iso8601: "2026-11-26T08:00:00+03:30")!

    var callCount: Int { count / 3 + count % 3 }

    func lines() throws -> [String] {
        let json = EventJSON()
        var lines: [String] = []
        var call = 0
        while lines.count < count {
            let callId = "call-\(call)"
            let at = start.adding(seconds: call * 7)
            let remaining = count - lines.count
            if remaining >= 3 {
                let from = "+98912\(String(format: "%07d", call))"
                lines.append(try json.line(CallEvent(eventId: "\(callId)-r", type: .callRinging, systemKey: systemKey, source: "jsonl",
                                                      at: at, callId: callId, direction: .inbound, from: from, extensions: ["201", "202"])))
                lines.append(try json.line(CallEvent(eventId: "\(callId)-a", type: .callAnswered, systemKey: systemKey, source: "jsonl",
                                                      at: at.adding(seconds: 3), callId: callId, direction: .inbound, from: from,
                                                      answeredBy: "202")))
                lines.append(try json.line(CallEvent(eventId: "\(callId)-e", type: .callEnded, systemKey: systemKey, source: "jsonl",
                                                      at: at.adding(seconds: 30), callId: callId, direction: .inbound, from: from,
                                                      extension: "202", disposition: .answered, startedAt: at,
                                                      answeredAt: at.adding(seconds: 3), endedAt: at.adding(seconds: 30), durationSec: 27)))
            } else {
                lines.append(try json.line(CallEvent(eventId: "\(callId)-e", type: .callEnded, systemKey: systemKey, source: "jsonl",
                                                      at: at.adding(seconds: 20), callId: callId, direction: .outbound, to: "+982188776655",
                                                      extension: "201", disposition: .answered, startedAt: at, endedAt: at.adding(seconds: 20),
                                                      durationSec: 20)))
            }
            call += 1
        }
        return lines
    }
}

/// Appends lines to a file over time, like a device that keeps talking.
final class GrowingFile {
    let url: URL
    private let handle: FileHandle

    init(_ url: URL) throws {
        self.url = url
        try createFile(url.path)
        handle = try FileHandle(forWritingTo: url)
    }

    func append(_ lines: some Sequence<String>) {
        var data = Data()
        for line in lines {
            data.append(Data(line.utf8))
            data.append(0x0A)
        }
        handle.write(data)
    }
}
