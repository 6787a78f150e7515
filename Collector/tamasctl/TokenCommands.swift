import ArgumentParser
import Foundation

/// API tokens for CRMs and scripts: they may call /api/v1/originate, /spy, /whisper and /barge,
/// nothing else, and only the actions and systems each was given. The token is shown once; the
/// collector keeps only its hash.
struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "API tokens for CRMs (click-to-call and supervision only).",
        subcommands: [List.self, Add.self, Show.self, Revoke.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List token names.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let names = try JSONDecoder().decode([String].self, from: try await connection.client().get("/api/v1/tokens"))
            names.forEach { print($0) }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print it (shown only now).")
        @OptionGroup var connection: Connection
        @Argument(help: "A name for whoever uses it, e.g. the CRM's name; it appears in the spy audit log.") var name: String
        @Option(name: .customLong("system"), help: "A system key the token may act on (repeat for several); default: every system.")
        var systems: [String] = []
        @Option(name: .customLong("allow"), help: "An action the token may start: originate, spy, whisper, barge (repeat for several); default: originate only.")
        var actions: [String] = []

        func run() async throws {
            var fields: [String: AnyCodable] = ["name": .string(name)]
            if !systems.isEmpty { fields["systemKeys"] = .list(systems) }
            if !actions.isEmpty { fields["actions"] = .list(actions) }
            let body = try JSONEncoder().encode(fields)
            let answer = try JSONDecoder().decode([String: String].self,
                                                  from: try await connection.client().send("POST", "/api/v1/tokens", body: body))
            print(answer["token"] ?? "")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what a token may do (its systems and actions).")
        @OptionGroup var connection: Connection
        @Argument var name: String

        func run() async throws {
            let token = try JSONDecoder().decode(TokenScope.self, from: try await connection.client().get("/api/v1/tokens/\(name)"))
            print("name:    \(token.name)")
            print("systems: \(token.systemKeys?.joined(separator: ", ") ?? "all")")
            print("actions: \(token.actions.joined(separator: ", "))")
        }
    }

    struct TokenScope: Decodable {
        var name: String
        var systemKeys: [String]?
        var actions: [String]
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token.")
        @OptionGroup var connection: Connection
        @Argument var name: String

        func run() async throws {
            _ = try await connection.client().send("DELETE", "/api/v1/tokens/\(name)", body: nil)
            print("token \(name) revoked")
        }
    }
}
