import Foundation
import TamasEvents
import TestSupport
@testable import CallerIDProtocol

let testStart = Timestamp(iso8601: "2026-11-26T14:05:09+03:30")!

func segalSettings(_ configure: (inout CallerIDSettings) -> Void = { _ in }) -> CallerIDSettings {
    var settings = CallerIDSettings(systemKey: "office1", protocol: .segal, numberPlan: NumberPlan(countryCode: "98", cityCode: "21"))
    configure(&settings)
    return settings
}

/// Feeds timed records (seconds after `testStart`) one by one, ticking before each.
func feed(_ decoder: inout CallerIDDecoder, _ steps: [(Int, String)], endAt: Int? = nil) -> [CallEvent] {
    var events: [CallEvent] = []
    for (second, text) in steps {
        let now = testStart.adding(seconds: second)
        events += decoder.tick(now: now)
        events += decoder.receive(Array(text.utf8), now: now)
    }
    if let endAt { events += decoder.finish(now: testStart.adding(seconds: endAt)) }
    return events
}

func jsonLines(_ events: [CallEvent]) throws -> String {
    let json = EventJSON()
    return try events.map { try json.line($0) }.joined(separator: "\n") + (events.isEmpty ? "" : "\n")
}

/// The fixture file's device output, one section per source: the researcher's `# SOURCE…`
/// header lines separate captures of different devices, so they are not one stream.
func fixtureSections(_ path: String) throws -> [String] {
    let text = String(decoding: try Fixtures.data(path), as: UTF8.self)
    var sections: [[Substring]] = [[]]
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("# ") {
            if !(sections.last ?? []).isEmpty { sections.append([]) }
        } else {
            sections[sections.count - 1].append(line)
        }
    }
    return sections.map { $0.joined(separator: "\n") + "\n" }
}

func calls(in events: [CallEvent]) -> [CallRecord] {
    var records: [String: CallRecord] = [:]
    var order: [String] = []
    for event in events where event.type.isCallEvent {
        guard let callId = event.callId else { continue }
        if records[callId] == nil { order.append(callId) }
        records[callId] = CallAssembler.apply(event, to: records[callId])
    }
    return order.compactMap { records[$0] }
}
