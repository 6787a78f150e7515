import CollectorCore
import Foundation
import Logging
import Spawn
import TamasEvents
import TamasLink

/// `--demo`: enrolls a demo agent, starts a real `tamas-agent jsonl` process beside this
/// collector (over TLS on loopback, exactly like a production agent) and keeps appending sample
/// calls to the file it follows, so a first-time user watches calls arrive with `tamasctl`.
struct DemoFeed: Sendable {
    static let systemKey = "demo"

    let home: CollectorHome
    let store: CollectorStore
    let agentPort: Int
    let fingerprint: String
    let logger: Logger

    func run() async throws {
        let folder = home.folder + "/demo"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let configPath = folder + "/agent.yaml"
        let feedPath = folder + "/calls.jsonl"
        if !FileManager.default.fileExists(atPath: configPath) {
            let existing = try await store.agents().map(\.name)
            let name = existing.contains("demo") ? "demo-" + Secrets.random(bytes: 2) : "demo"
            let enrollment = try await store.enroll(name: name, systemKeys: [Self.systemKey])
            try Secrets.writePrivateFile("""
                collector:
                  address: 127.0.0.1:\(agentPort)
                  agentId: \(enrollment.agent.id)
                  secret: \(enrollment.secret)
                  fingerprint: \(fingerprint)
                spool:
                  path: \(folder)/spool.sqlite
                system:
                  key: \(Self.systemKey)
                  releaseCode: "9"
                  countryCode: "98"
                  cityCode: "21"
                jsonl:
                  input: \(feedPath)
                  follow: true

                """, to: configPath)
        }
        let generator = DemoCalls(systemKey: Self.systemKey)
        let feed = try FeedFile(path: feedPath)
        try feed.append(generator.morning(endingAt: Date()))

        let agentPath = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("tamas-agent").path
        let agent = try SpawnedProcess(executable: agentPath, arguments: ["jsonl", "--config", configPath])
        logger.notice("demo agent started", metadata: ["pid": "\(agent.pid)", "config": "\(configPath)"])
        defer {
            agent.signal(SIGTERM)
            agent.waitUntilExit()
        }
        var scheduled: [CallEvent] = []
        var sequence = 0
        var nextCall = Date()
        while !Task.isCancelled {
            let now = Date()
            if now >= nextCall {
                sequence += 1
                scheduled += generator.liveCall(number: sequence, at: now)
                nextCall = now.addingTimeInterval(20)
            }
            let due = scheduled.filter { $0.at.date <= now }
            scheduled.removeAll { $0.at.date <= now }
            try feed.append(due)
            try await Task.sleep(for: .seconds(1))
        }
    }
}

struct FeedFile {
    let handle: FileHandle

    init(path: String) throws {
        // A file that cannot be made fails the open below, with the reason.
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
    }

    func append(_ events: [CallEvent]) throws {
        let json = EventJSON()
        var data = Data()
        for event in events {
            data.append(try json.encode(event))
            data.append(0x0A)
        }
        try handle.write(contentsOf: data)
    }
}

/// Plausible calls of a Tehran office: answered ring-group calls, a missed call, outgoing and
/// internal calls. Ids are derived from the call's own time so re-running the demo never
/// duplicates what is already stored.
struct DemoCalls {
    let systemKey: String
    let zone = TimeZone(identifier: "Asia/Tehran") ?? .current

    /// The last hour: twelve calls that have all ended by `end`.
    func morning(endingAt end: Date) -> [CallEvent] {
        (0..<12).flatMap { index in
            liveCall(number: 1000 + index, at: end.addingTimeInterval(Double(index - 13) * 240))
        }
    }

    func liveCall(number: Int, at date: Date) -> [CallEvent] {
        let start = Timestamp(date: date, timeZone: zone)
        let callId = StableID.make(systemKey, "demo", String(start.epochMillis))
        let extensions = ["201", "202", "203"]
        let answerer = extensions[number % extensions.count]
        let customer = "0912\(String(format: "%07d", (number * 7919) % 10_000_000))"
        let plan = NumberPlan(releaseCode: "9", countryCode: "98", cityCode: "21")
        func event(_ type: EventType, _ offset: Int, _ fill: (inout CallEvent) -> Void) -> CallEvent {
            var event = CallEvent(eventId: StableID.make(callId, type.rawValue), type: type, systemKey: systemKey,
                                  source: SourceName.jsonl.rawValue, at: start.adding(seconds: offset), callId: callId)
            fill(&event)
            return event
        }
        switch number % 4 {
        case 0, 1:
            let from = plan.normalize(customer, direction: .inbound)
            let talk = 30 + number % 90
            return [
                event(.callRinging, 0) { $0.direction = .inbound; $0.from = from; $0.fromRaw = customer; $0.extensions = extensions; $0.line = "01" },
                event(.callAnswered, 6) { $0.direction = .inbound; $0.from = from; $0.extension = answerer; $0.answeredBy = answerer; $0.line = "01" },
                event(.callEnded, 6 + talk) {
                    $0.direction = .inbound; $0.from = from; $0.extension = answerer; $0.line = "01"; $0.disposition = .answered
                    $0.startedAt = start; $0.answeredAt = start.adding(seconds: 6); $0.endedAt = start.adding(seconds: 6 + talk)
                    $0.ringSec = 6; $0.durationSec = talk
                },
            ]
        case 2:
            let from = plan.normalize(customer, direction: .inbound)
            return [
                event(.callRinging, 0) { $0.direction = .inbound; $0.from = from; $0.fromRaw = customer; $0.extensions = extensions; $0.line = "02" },
                event(.callEnded, 20) {
                    $0.direction = .inbound; $0.from = from; $0.line = "02"; $0.disposition = .missed; $0.extensions = extensions
                    $0.startedAt = start; $0.endedAt = start.adding(seconds: 20); $0.ringSec = 20; $0.durationSec = 0
                },
            ]
        default:
            let dialed = "9" + customer
            let talk = 45 + number % 60
            return [
                event(.callEnded, talk) {
                    $0.direction = .outbound; $0.from = answerer; $0.extension = answerer; $0.toRaw = dialed
                    $0.to = plan.normalize(dialed, direction: .outbound); $0.line = "03"; $0.disposition = .answered
                    $0.startedAt = start; $0.answeredAt = start; $0.endedAt = start.adding(seconds: talk); $0.durationSec = talk
                },
            ]
        }
    }
}
