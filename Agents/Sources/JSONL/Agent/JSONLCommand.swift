import AgentCLI
import AgentCore
import ArgumentParser
import JSONLProtocol
import TamasEvents

public struct JSONLCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "jsonl",
        abstract: "Stream normalized events (EVENTS.md, one JSON object per line) from a file, a named pipe or stdin.",
        discussion: "The integration point for systems Tamas has no driver for yet. Lines that are not valid events are shipped as line.unparsed with the reason.",
        subcommands: [Run.self, Check.self],
        defaultSubcommand: Run.self)

    public init() {}

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read events and stream them to the collector.")

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

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate event lines on stdin and print them normalized; problems come out as line.unparsed.")

        @Option(help: "System key for lines that have none.") var systemKey = "pbx"

        func run() async throws {
            var decoder = JSONLDecoder(systemKey: systemKey)
            try await runOffline(&decoder)
        }
    }
}
