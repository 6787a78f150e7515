import ArgumentParser
import Foundation

/// Click-to-call and supervision from the shell, through the same routes a CRM uses
/// (`POST /api/v1/originate`, `/spy`, `/whisper`, `/barge`), so an installer can try them
/// before the CRM is wired.
struct Originate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Click-to-call: ring an extension, and when it answers dial the number.",
        discussion: "The collector sends the command to an agent of the system that runs it (an Asterisk agent); the release code is added by the agent.")
    @OptionGroup var connection: Connection
    @Option(help: "The telephone system's key.") var system: String
    @Option(name: .customLong("extension"), help: "The extension that rings first.") var extensionNumber: String
    @Option(help: "The number to dial once the extension answers.") var number: String
    @Option(help: "Seconds to wait for the agent's outcome (1-300).") var timeoutSeconds: Double = 60
    @Flag(inversion: .prefixedNo, help: "Ask the phone to answer by itself (default: the agent's originateAutoAnswer setting).")
    var autoAnswer: Bool?

    func run() async throws {
        var body: [String: JSONValue] = [
            "systemKey": .string(system), "extension": .string(extensionNumber), "number": .string(number),
            "timeoutSeconds": .number(timeoutSeconds),
        ]
        body["autoAnswer"] = autoAnswer.map(JSONValue.bool)
        try await runCallControl(connection, path: "/api/v1/originate", body: body)
    }
}

struct Supervise: AsyncParsableCommand {
    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case spy, whisper, barge
    }

    static let configuration = CommandConfiguration(
        commandName: "supervise",
        abstract: "Spy on, whisper to, or barge into an extension's call from a supervisor's phone.",
        discussion: "spy: listen only; whisper: speak to the extension only; barge: speak to both parties.")
    @OptionGroup var connection: Connection
    @Argument(help: "spy, whisper or barge.") var mode: Mode
    @Option(help: "The telephone system's key.") var system: String
    @Option(help: "The supervisor's extension (its phone rings first).") var supervisor: String
    @Option(help: "The extension whose call is supervised.") var target: String
    @Option(help: "Seconds to wait for the agent's outcome (1-300).") var timeoutSeconds: Double = 60

    func run() async throws {
        try await runCallControl(connection, path: "/api/v1/\(mode.rawValue)", body: [
            "systemKey": .string(system), "supervisor": .string(supervisor), "target": .string(target),
            "requestedBy": .string("tamasctl"), "timeoutSeconds": .number(timeoutSeconds),
        ])
    }
}

private enum JSONValue: Encodable {
    case string(String)
    case number(Double)
    case bool(Bool)

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        }
    }
}

private struct CallControlOutcome: Decodable {
    var ok: Bool
    var outcome: String?
    var error: String?
    var agent: String
}

/// Prints the agent's outcome; a refusal by the agent (busy, no answer, not permitted), which
/// the collector answers with 422, exits 1 with the agent's reason.
private func runCallControl(_ connection: Connection, path: String, body: [String: JSONValue]) async throws {
    let (status, data) = try await connection.client().exchange("POST", path, body: try JSONEncoder().encode(body))
    guard status == 200 || status == 422, let outcome = try? JSONDecoder().decode(CallControlOutcome.self, from: data) else {
        throw AdminClient.failure(status, data)
    }
    guard outcome.ok else {
        throw AdminError(message: "agent \(outcome.agent) answered: \(outcome.error ?? outcome.outcome ?? "failed")")
    }
    print("\(outcome.agent): \(outcome.outcome ?? "ok")")
}
