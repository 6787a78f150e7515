import Foundation
import TamasEvents
import TestSupport
import XCTest

/// A real collector, a real `tamas-agent jsonl` following a file the test appends to, and the
/// `tamasctl crm` commands the tests drive them with.
final class DeliveryHarness {
    let folder: URL
    let collector: CollectorUnderTest
    let feed: URL
    private let handle: FileHandle
    private(set) var agent: ChildProcess
    private let json = EventJSON()

    init(_ name: String, systems: [String] = ["office1"], collectorArguments: [String] = []) throws {
        folder = try temporaryFolder(name)
        collector = try CollectorUnderTest(name: name, extraArguments: collectorArguments)
        feed = folder.appendingPathComponent("feed.jsonl")
        try createFile(feed.path)
        handle = try FileHandle(forWritingTo: feed)
        let config = try collector.enrollAgent("agent", systems: systems, folder: folder,
                                               extra: "jsonl:\n  input: \(feed.path)\n  follow: true\n")
        agent = try ChildProcess("tamas-agent", ["jsonl", "--config", config.path], name: "agent")
    }

    func send(_ events: [CallEvent]) {
        var data = Data()
        for event in events {
            data.append(contentsOf: (try? json.encode(event)) ?? Data())
            data.append(0x0A)
        }
        handle.write(data)
    }

    @discardableResult
    func tamasctl(_ arguments: [String], input: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try runTool("tamasctl", arguments + ["--data-dir", collector.dataDir.path, "--url", collector.url],
                    input: input.map { Data($0.utf8) }, file: file, line: line)
    }

    /// `tamasctl crm add` (whose --url is the CRM's, so the collector is given with --collector).
    @discardableResult
    func addEndpoint(_ name: String, kind: String, url: String, user: String? = nil, secret: String, systems: [String] = ["office1"],
                     extra: [String] = ["--timeout", "2", "--max-backoff", "2"], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        var arguments = ["crm", "add", name, "--kind", kind, "--url", url, "--password-stdin"] + systems.flatMap { ["--system", $0] } + extra
        if let user { arguments += ["--user", user] }
        return try runTool("tamasctl", arguments + ["--data-dir", collector.dataDir.path, "--collector", collector.url],
                           input: Data((secret + "\n").utf8), file: file, line: line)
    }

    /// `tamasctl crm edit` (whose --url is the CRM's, so the collector is given with --collector).
    @discardableResult
    func editEndpoint(_ name: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try runTool("tamasctl", ["crm", "edit", name] + arguments + ["--data-dir", collector.dataDir.path, "--collector", collector.url],
                    file: file, line: line)
    }

    /// One admin API request with the admin token: the status and the body.
    func api(_ method: String, _ path: String, body: String? = nil) throws -> (status: Int, body: String) {
        let token = try String(contentsOf: collector.dataDir.appendingPathComponent("admin.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var arguments = ["--silent", "--show-error", "-X", method, "-H", "Authorization: Bearer \(token)", "-w", "\n%{http_code}"]
        if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
        let output = try runTool("/usr/bin/curl", arguments + [collector.url + path])
        let status = output.split(separator: "\n").last.flatMap { Int($0) } ?? 0
        return (status, String(output.dropLast(String(status).count)).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The error message of an admin API refusal.
    static func message(_ body: String) -> String {
        let error = (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["error"] as? [String: Any]
        return error?["message"] as? String ?? body
    }

    func endpoints() throws -> [[String: Any]] {
        let text = try tamasctl(["crm", "--json"])
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
    }

    func endpoint(_ name: String) throws -> [String: Any] {
        try endpoints().first { $0["name"] as? String == name } ?? [:]
    }

    /// Waits until the endpoint has nothing waiting (and the agent delivered `events` events).
    func waitUntilDrained(_ name: String, events: Int, timeout: Double) throws -> Bool {
        try eventually(timeout: timeout, every: 0.5) {
            try callEvents() >= events && (try endpoint(name)["backlog"] as? Int) == 0
        }
    }

    func diagnosis(_ name: String) -> String {
        let stored = ((try? collector.events()) ?? []).map { "\($0["type"] ?? "?") \($0["eventId"] ?? "?")" }
        return "stored: \(stored); call events stored: \((try? callEvents()) ?? -1); endpoint: \((try? endpoint(name)) ?? [:]); collector log:\n\(collector.log.suffix(3000))"
    }

    func callEvents() throws -> Int {
        try collector.events().filter { ($0["type"] as? String)?.hasPrefix("call.") == true }.count
    }

    func restartAgent() throws {
        agent.kill9()
        agent = try ChildProcess("tamas-agent", ["jsonl", "--config", folder.appendingPathComponent("agent.yaml").path], name: "agent")
    }
}

/// Calls as an agent reports them.
enum Calls {
    static let start = Timestamp(iso8601: "2026-11-26T09:00:00+03:30")!

    /// Ringing on line 1 at extension 201, answered by 201, ended 40 s later.
    static func inboundAnswered(_ callId: String, system: String = "office1", offset: Int = 0, from: String = "+989121234567") -> [CallEvent] {
        let at = start.adding(seconds: offset)
        return [
            CallEvent(eventId: "\(callId)-r", type: .callRinging, systemKey: system, source: "jsonl", at: at, callId: callId,
                      direction: .inbound, from: from, line: "1", extensions: ["201"]),
            CallEvent(eventId: "\(callId)-a", type: .callAnswered, systemKey: system, source: "jsonl", at: at.adding(seconds: 5),
                      callId: callId, direction: .inbound, from: from, line: "1", answeredBy: "201"),
            CallEvent(eventId: "\(callId)-e", type: .callEnded, systemKey: system, source: "jsonl", at: at.adding(seconds: 45),
                      callId: callId, direction: .inbound, from: from, extension: "201", line: "1", disposition: .answered,
                      startedAt: at, answeredAt: at.adding(seconds: 5), endedAt: at.adding(seconds: 45), ringSec: 5, durationSec: 40),
        ]
    }

    /// Ringing on line 1 at extension 201, the caller gives up after 20 s.
    static func missed(_ callId: String, system: String = "office1", offset: Int = 0, from: String = "+989351112233") -> [CallEvent] {
        let at = start.adding(seconds: offset)
        return [
            CallEvent(eventId: "\(callId)-r", type: .callRinging, systemKey: system, source: "jsonl", at: at, callId: callId,
                      direction: .inbound, from: from, line: "1", extensions: ["201"]),
            CallEvent(eventId: "\(callId)-e", type: .callEnded, systemKey: system, source: "jsonl", at: at.adding(seconds: 20),
                      callId: callId, direction: .inbound, from: from, line: "1", disposition: .missed, startedAt: at,
                      endedAt: at.adding(seconds: 20), ringSec: 20, durationSec: 0),
        ]
    }

    /// `count` calls, alternating answered and missed, with their events interleaved the way
    /// overlapping calls arrive: every call's ringing first, then the rest.
    static func batch(prefix: String, count: Int, system: String = "office1") -> (events: [CallEvent], callIds: [String]) {
        let ids = (0..<count).map { "\(prefix)-\($0)" }
        let calls = ids.enumerated().map { index, id in
            index % 2 == 0 ? inboundAnswered(id, system: system, offset: index * 3) : missed(id, system: system, offset: index * 3)
        }
        let firsts = calls.map { $0[0] }
        let rests = calls.flatMap { $0.dropFirst() }
        return (firsts + rests, ids)
    }
}
