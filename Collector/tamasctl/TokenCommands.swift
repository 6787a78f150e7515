import ArgumentParser
import Foundation

/// API tokens for CRMs and scripts: they may call /api/v1/originate, /spy, /whisper and /barge,
/// nothing else. The token is shown once; the collector keeps only its hash.
struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "API tokens for CRMs (click-to-call and supervision only).",
        subcommands: [List.self, Add.self, Revoke.self],
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

        func run() async throws {
            let body = try JSONEncoder().encode(["name": name])
            let answer = try JSONDecoder().decode([String: String].self,
                                                  from: try await connection.client().send("POST", "/api/v1/tokens", body: body))
            print(answer["token"] ?? "")
        }
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
