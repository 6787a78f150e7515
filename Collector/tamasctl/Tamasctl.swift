import ArgumentParser
import Foundation
import TamasEvents
import TamasLink

@main
struct Tamasctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tamasctl",
        abstract: "Operate a Tamas collector: enroll and list agents, look at calls and events.",
        discussion: "Talks to the collector's admin API with the admin token from its data folder (see docs/operations.md).",
        version: "0.1.0",
        subcommands: [Agents.self, Calls.self, Events.self, Status.self, Tokens.self, CRM.self, Originate.self, Supervise.self])
}

struct Connection: ParsableArguments {
    @Option(help: "The collector's admin API.")
    var url = ProcessInfo.processInfo.environment["TAMAS_URL"] ?? "http://127.0.0.1:8080"

    @Option(help: "The collector's data folder; the admin token is read from its admin.token.")
    var dataDir = ProcessInfo.processInfo.environment["TAMAS_DATA_DIR"] ?? "/var/lib/tamas"

    @Option(help: "A file holding the admin token (instead of <data-dir>/admin.token). TAMAS_ADMIN_TOKEN also works.")
    var tokenFile: String?

    func client() throws -> AdminClient {
        AdminClient(baseURL: url, token: try AdminToken.read(dataDir: dataDir, tokenFile: tokenFile))
    }
}

struct Agents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List agents (name, kind, systems, connection, last event, spool backlog, status).",
        subcommands: [List.self, Add.self, Revoke.self, Ping.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List agents.")
        @OptionGroup var connection: Connection
        @Flag(help: "Print JSON instead of a table.") var json = false

        func run() async throws {
            let data = try await connection.client().get("/api/v1/agents")
            if json { return print(String(decoding: data, as: UTF8.self)) }
            let agents = try JSONDecoder().decode([AgentRow].self, from: data)
            printTable(
                header: ["NAME", "KIND", "VERSION", "SYSTEMS", "CONNECTED", "REMOTE", "SINCE", "LAST INPUT", "LAST EVENT", "EVENTS",
                         "BACKLOG", "STATUS"],
                rows: agents.map { agent in
                    [agent.name, agent.kind ?? "-", agent.version ?? "-", agent.systemKeys.joined(separator: ","),
                     agent.connected ? "yes" : "no", agent.remoteAddress ?? "-", agent.connectedSince ?? "-",
                     agent.lastInputAt ?? "-", agent.lastEventAt ?? "-", String(agent.eventsReceived),
                     agent.spoolBacklog.map { "\($0)/\(agent.spoolCapacity ?? 0)" } ?? "-", agent.status]
                })
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enroll an agent and print its credentials (shown once; the collector keeps only a hash).")
        @OptionGroup var connection: Connection
        @Argument(help: "A name for the agent, e.g. tehran-pbx.") var name: String
        @Option(name: .customLong("system"), help: "A system key this agent may send for (repeat for several).") var systems: [String] = []
        @Option(help: "Write a ready agent configuration (mode 0600) to this file instead of printing the secret.") var configOut: String?
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard !systems.isEmpty else { throw ValidationError("give at least one --system KEY") }
        }

        func run() async throws {
            let body = try JSONEncoder().encode(["name": AnyCodable.string(name), "systemKeys": .list(systems)])
            let data = try await connection.client().send("POST", "/api/v1/agents", body: body)
            let enrollment = try JSONDecoder().decode(Enrollment.self, from: data)
            if let configOut {
                try Secrets.writePrivateFile(enrollment.configuration(systemKey: systems[0]), to: configOut)
                print("agent \(enrollment.name) enrolled (\(enrollment.agentId)); configuration written to \(configOut)")
                return
            }
            if json { return print(String(decoding: data, as: UTF8.self)) }
            print("""
                Agent \(enrollment.name) enrolled. The secret is shown only now; store it in the agent's configuration (mode 0600):

                \(enrollment.configuration(systemKey: systems[0]))
                """)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse an agent from now on (its stored events stay).")
        @OptionGroup var connection: Connection
        @Argument var name: String

        func run() async throws {
            _ = try await connection.client().send("DELETE", "/api/v1/agents/\(name)", body: nil)
            print("agent \(name) revoked")
        }
    }

    struct Ping: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a command over an agent's link and print its answer.")
        @OptionGroup var connection: Connection
        @Argument var name: String
        @Option(help: "The command (ping, status, or one the agent's source supports).") var command = "ping"

        func run() async throws {
            let body = try JSONEncoder().encode(["name": command])
            let data = try await connection.client().send("POST", "/api/v1/agents/\(name)/commands", body: body)
            let result = try JSONDecoder().decode(CommandAnswer.self, from: data)
            guard result.ok else { throw AdminError(message: "agent answered with an error: \(result.error ?? "unknown")") }
            print(result.output ?? "ok")
        }
    }
}

struct Calls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List calls, newest first.")
    @OptionGroup var connection: Connection
    @Option(help: "How many calls.") var limit = 50
    @Option(help: "Only this system key.") var system: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        var path = "/api/v1/calls?limit=\(limit)"
        if let system { path += "&systemKey=\(system)" }
        let data = try await connection.client().get(path)
        if json { return print(String(decoding: data, as: UTF8.self)) }
        let calls = try JSONDecoder().decode([CallRecord].self, from: data)
        printTable(
            header: ["STARTED", "SYSTEM", "DIRECTION", "FROM", "TO", "EXT", "LINE", "RESULT", "TALK", "CALL"],
            rows: calls.map { call in
                [call.startedAt?.iso8601 ?? "-", call.systemKey, call.direction?.rawValue ?? "-", call.from ?? "-", call.to ?? "-",
                 call.answeredBy ?? call.extension ?? "-", call.line ?? "-",
                 call.disposition?.rawValue ?? call.phase.rawValue, call.durationSec.map { "\($0)s" } ?? "-", call.callId]
            })
    }
}

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print stored events as JSON lines, oldest first; --follow keeps printing new ones.")
    @OptionGroup var connection: Connection
    @Flag(help: "Keep waiting for new events.") var follow = false
    @Option(help: "Start after this stored event number (0: from the beginning).") var after: Int64 = 0

    func run() async throws {
        let client = try connection.client()
        var cursor = after
        repeat {
            let data = try await client.get("/api/v1/events?after=\(cursor)&limit=1000&wait=\(follow ? 25 : 0)")
            guard let page = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let events = page["events"] as? [Any], let last = page["last"] as? Int64 else {
                throw AdminError(message: "unexpected answer from the collector")
            }
            var lines = Data()
            for event in events {
                lines.append(try JSONSerialization.data(withJSONObject: event, options: [.sortedKeys, .withoutEscapingSlashes]))
                lines.append(0x0A)
            }
            FileHandle.standardOutput.write(lines)
            cursor = last
            if !follow, events.isEmpty { break }
        } while true
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Counts of stored events, calls, quarantined events and connected agents.")
    @OptionGroup var connection: Connection

    func run() async throws {
        print(String(decoding: try await connection.client().get("/api/v1/status"), as: UTF8.self))
    }
}
