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
               "Link", "Status", "StatusComplete", "OriginateSuccess", "OriginateFailure",  // 1.4 only
               "Newexten", "VarSet"],  // Newexten only matters on 1.4; VarSet is checked by variable below
        "13+": ["Dial", "Bridge", "Link", "Status", "StatusComplete", "OriginateSuccess", "OriginateFailure", "Newexten", "VarSet"],
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

    // MARK: - manager.conf user blocks

    /// The class of each action Tamas sends, 1.6 and later (any one of them is enough there).
    /// As remembered from the registrations in manager.c, chan_sip and res_pjsip; the doc says so.
    static let actionClasses: [String: Set<String>] = [
        "Ping": [], "CoreShowChannels": ["system", "reporting"], "Status": ["system", "call", "reporting"],
        "ExtensionStateList": ["call", "reporting"], "SIPpeers": ["system", "reporting"], "PJSIPShowEndpoints": ["system"],
        "Originate": ["originate"], "Command": ["command"],
    ]

    /// The class each unsolicited event Tamas reads is sent in (1.6 and later). List entries and
    /// their `...Complete` events are part of an action's answer and need no read class.
    static func eventClass(_ name: String) -> String? {
        switch name {
        case "PeerStatus", "FullyBooted", "Reload": "system"
        case "VarSet", "Newexten": "dialplan"
        case "PeerEntry", "EndpointList", "CoreShowChannel", "Status", "CoreShowChannelsComplete", "StatusComplete": nil
        default: "call"
        }
    }

    /// The ```` ```ini manager.conf=<profile> ```` blocks: profile -> key -> value.
    func documentedUsers() throws -> [String: [String: String]] {
        let text = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("docs/asterisk.md"), encoding: .utf8)
        var users: [String: [String: String]] = [:]
        var profile: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```ini manager.conf=") {
                profile = String(line.dropFirst("```ini manager.conf=".count))
            } else if line == "```" {
                profile = nil
            } else if let current = profile {
                if line.hasPrefix("[") {
                    users[current, default: [:]]["[user]"] = String(line)
                    continue
                }
                let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                XCTAssertEqual(parts.count, 2, "not a key = value line in \(current): \(line)")
                if parts.count == 2 { users[current, default: [:]][parts[0]] = parts[1] }
            }
        }
        return users
    }

    /// Each block grants every class the actions and events of its use need, and nothing more:
    /// dropping any one class it lists would refuse an action Tamas sends or lose an event it reads.
    func testManagerConfBlocksGrantTheLeastClasses() throws {
        let users = try documentedUsers()
        XCTAssertEqual(Set(users.keys), ["call-logs", "call-control"])
        let knownClasses: Set<String> = ["system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf", "reporting", "cdr",
                                         "dialplan", "originate", "agi", "cc", "aoc", "test", "security", "message", "all", "none"]
        let callLogActions = ["Ping"] + AMIActions.resync(dialect: .v13plus, technology: .auto).map(\.name)
        let client = AMIClientStateMachine(settings: AMISettings(channelTechnology: .sip), jitter: FixedJitter(value: 0))
        let controlActions = callLogActions + [try client.clickToCall(userExtension: "201", number: "09121234567").name,
                                               try client.spy(.spy, supervisor: "250", target: "201").name, AMIActions.command("core show version").name]
        let events = AMICallTracker.eventsRead.union(AMIClientStateMachine.eventsRead)
        let neededRead = Set(events.compactMap(Self.eventClass))
        XCTAssertEqual(neededRead, ["system", "call", "dialplan"])

        for (profile, actions) in [("call-logs", callLogActions), ("call-control", controlActions)] {
            let user = try XCTUnwrap(users[profile], profile)
            XCTAssertEqual(Set(user.keys), ["[user]", "secret", "deny", "permit", "read", "write"], profile)
            XCTAssertEqual(user["[user]"], "[tamas]")
            XCTAssertEqual(user["deny"], "0.0.0.0/0.0.0.0", "only the agent's address may log in")
            XCTAssertEqual(user["permit"], "<agent address>/255.255.255.255")
            let read = Set((user["read"] ?? "").split(separator: ",").map(String.init))
            let write = Set((user["write"] ?? "").split(separator: ",").map(String.init))
            XCTAssertTrue(read.union(write).isSubset(of: knownClasses), "\(profile): \(read.union(write).subtracting(knownClasses))")
            XCTAssertEqual(read, neededRead, "\(profile): read classes are exactly those of the events Tamas reads")

            func allowed(_ action: String, by classes: Set<String>) -> Bool {
                guard let needed = Self.actionClasses[action] else { return false }
                return needed.isEmpty || !needed.isDisjoint(with: classes)
            }
            for action in actions {
                XCTAssertTrue(allowed(action, by: write), "\(profile) refuses \(action)")
            }
            for granted in write.sorted() {
                let without = write.subtracting([granted])
                XCTAssertTrue(actions.contains { !allowed($0, by: without) }, "\(profile): write \(granted) is not needed")
            }
        }
        XCTAssertEqual(users["call-logs"]?["write"], "system,reporting")
        XCTAssertEqual(users["call-control"]?["write"], "system,reporting,originate,command")
    }
}
