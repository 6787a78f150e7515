import AMIProtocol
import Foundation
import TestSupport
import XCTest

/// The manager.conf `eventfilter` lines docs/asterisk.md gives per version must let through
/// every event Tamas reads (taken from the code) and keep out the noise it drops. Evaluated
/// the way manager.c evaluates legacy filters (the `Filter` action documentation): each line is
/// a POSIX extended regex matched anywhere in the event text; with whitelist lines only an
/// event passes when one matches; `!` lines then block what they match.
final class EventFilterDocTests: XCTestCase {
    struct Filters {
        var allow: [NSRegularExpression] = []
        var block: [NSRegularExpression] = []

        func passes(_ event: String) -> Bool {
            let range = NSRange(event.startIndex..., in: event)
            func matches(_ regex: NSRegularExpression) -> Bool { regex.firstMatch(in: event, range: range) != nil }
            let allowed = allow.isEmpty || allow.contains(where: matches)
            return allowed && !block.contains(where: matches)
        }
    }

    /// The ```` ```ini eventfilter=<version> ```` blocks of docs/asterisk.md.
    func documentedFilters() throws -> [String: Filters] {
        let text = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("docs/asterisk.md"), encoding: .utf8)
        var filters: [String: Filters] = [:]
        var version: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```ini eventfilter=") {
                version = String(line.dropFirst("```ini eventfilter=".count))
                filters[version ?? ""] = Filters()
            } else if line == "```" {
                version = nil
            } else if let current = version {
                let value = try XCTUnwrap(line.hasPrefix("eventfilter=") ? line.dropFirst("eventfilter=".count) : nil, "not a filter line: \(line)")
                // POSIX regexec without REG_NEWLINE lets `.` match line ends too.
                if value.hasPrefix("!") {
                    filters[current]?.block.append(try NSRegularExpression(pattern: String(value.dropFirst()), options: .dotMatchesLineSeparators))
                } else {
                    filters[current]?.allow.append(try NSRegularExpression(pattern: String(value), options: .dotMatchesLineSeparators))
                }
            }
        }
        return filters
    }

    static func event(_ name: String, _ headers: [(String, String)] = []) -> String {
        ([("Event", name), ("Privilege", "call,all")] + headers + [("Uniqueid", "1764150000.1")]).map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n"
    }

    /// Listing completions the client waits for (answers to its own actions).
    static let listCompletions: Set<String> = ["PeerlistComplete", "EndpointListComplete", "ExtensionStateListComplete"]

    /// What a version never sends (FACTS.md section 2), or what Tamas only needs elsewhere.
    static let notNeeded: [String: Set<String>] = [
        "11": ["DialBegin", "DialEnd", "BlindTransfer", "AttendedTransfer", "Unhold", "DeviceStateChange", "EndpointList",
               "EndpointListComplete", "ExtensionStateListComplete",
               "Link", "Status", "StatusComplete",  // 1.4 only
               "Newexten", "VarSet"],  // Newexten only matters on 1.4; VarSet is checked by variable below
        "13+": ["Dial", "Bridge", "Link", "Status", "StatusComplete", "Newexten", "VarSet"],
    ]

    func testTheTrackersEventListIsItsSwitch() throws {
        let source = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("Agents/Sources/AMI/Protocol/AMICallTracker.swift"), encoding: .utf8)
        let start = try XCTUnwrap(source.range(of: "switch name {"))
        let end = try XCTUnwrap(source.range(of: "default: break", range: start.upperBound..<source.endIndex))
        let body = String(source[start.upperBound..<end.lowerBound])
        let caseLine = try NSRegularExpression(pattern: #"^\s*case ((?:"[A-Za-z]+"(?:, )?)+):"#, options: .anchorsMatchLines)
        let quoted = try NSRegularExpression(pattern: #""([A-Za-z]+)""#)
        var names: Set<String> = []
        for match in caseLine.matches(in: body, range: NSRange(body.startIndex..., in: body)) {
            let list = String(body[try XCTUnwrap(Range(match.range(at: 1), in: body))])
            for name in quoted.matches(in: list, range: NSRange(list.startIndex..., in: list)) {
                names.insert(String(list[try XCTUnwrap(Range(name.range(at: 1), in: list))]))
            }
        }
        XCTAssertEqual(names, AMICallTracker.eventsRead)
    }

    func testDocumentedFiltersKeepEveryEventTamasReadsAndTheRecordingVariables() throws {
        let filters = try documentedFilters()
        XCTAssertEqual(Set(filters.keys), ["11", "13+"])
        let read = AMICallTracker.eventsRead.union(AMIClientStateMachine.eventsRead).union(Self.listCompletions)
        for (version, filter) in filters {
            let needed = read.subtracting(Self.notNeeded[version] ?? [])
            XCTAssertGreaterThan(needed.count, 15)
            for name in needed.sorted() {
                XCTAssertTrue(filter.passes(Self.event(name)), "\(version) filters out \(name)")
            }
            for variable in ["MIXMONITOR_FILENAME", "__MIXMONITOR_FILENAME", "CALLFILENAME", "__CALLFILENAME", "MON_FMT", "__MON_FMT", "recordingfile"] {
                let varSet = Self.event("VarSet", [("Channel", "SIP/201-1"), ("Variable", variable), ("Value", "x.wav")])
                XCTAssertTrue(filter.passes(varSet), "\(version) filters out VarSet \(variable)")
                XCTAssertNotNil(AMIRecordings.variable(name: variable, value: "x.wav"), "\(variable) is one the tracker reads")
            }
        }
    }

    func testDocumentedFiltersDropTheNoise() throws {
        let filters = try documentedFilters()
        let noise = Set(AMISettings.defaultIgnoredEvents).subtracting(["VarSet"])
            .union(["Cdr", "DialState", "BridgeEnter", "BridgeLeave", "Newexten", "QueueMemberStatus", "Masquerade", "Unlink"])
        for (version, filter) in filters {
            for name in noise.sorted() {
                XCTAssertFalse(filter.passes(Self.event(name)), "\(version) lets \(name) through")
            }
            for variable in ["BRIDGEPEER", "DIALSTATUS", "CALLFILENAME_BACKUP", "MACRO_DEPTH", "RTPAUDIOQOS"] {
                let varSet = Self.event("VarSet", [("Channel", "SIP/201-1"), ("Variable", variable), ("Value", "MIXMONITOR_FILENAME")])
                XCTAssertFalse(filter.passes(varSet), "\(version) lets VarSet \(variable) through")
            }
        }
    }
}
