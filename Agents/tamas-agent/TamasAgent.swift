import AgentCore
import ArgumentParser
import Foundation
import JSONLSource
import Logging
import TamasEvents
import TamasLink

@main
struct TamasAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tamas-agent",
        abstract: "Reads calls from one telephone device and streams them to a Tamas collector.",
        discussion: """
            One agent process runs per device, next to it. Events are committed to a local spool \
            first and survive crashes, power loss and long WAN outages. See docs/operations.md.
            """,
        version: AgentRuntime.version,
        subcommands: [JSONLCommand.self])
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The agent's YAML configuration file (see deploy/agent.example.yaml).")
    var config: String

    func load() throws -> AgentConfig {
        do {
            return try AgentConfig.load(path: config)
        } catch let error as ConfigError {
            throw ValidationError(error.description)
        }
    }
}

func makeLogger(_ config: AgentConfig, label: String) -> Logger {
    LineLogHandler.bootstrap(level: Logger.Level(rawValue: config.logLevel) ?? .info)
    return Logger(label: label)
}

struct JSONLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jsonl",
        abstract: "Stream normalized events (EVENTS.md, one JSON object per line) from a file, a named pipe or stdin.",
        discussion: "The integration point for systems Tamas has no driver for yet. Lines that are not valid events are shipped as line.unparsed with the reason.")

    @OptionGroup var options: ConfigOption

    @Option(help: "Read from this path instead of the config's jsonl.input ('-' for standard input).")
    var input: String?

    @Flag(help: "Exit once the input has ended and the collector has acknowledged every event.")
    var exitWhenDrained = false

    func run() async throws {
        let config = try options.load()
        var settings = try JSONLSource.Settings.read(config)
        if let input { settings.input = input }
        let runtime = AgentRuntime(config: config, logger: makeLogger(config, label: "tamas.agent.jsonl"))
        try await runtime.run(source: JSONLSource(settings: settings), exitWhenDrained: exitWhenDrained)
    }
}
