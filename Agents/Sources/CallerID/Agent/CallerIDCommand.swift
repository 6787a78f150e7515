import AgentCLI
import AgentCore
import ArgumentParser
import CallerIDProtocol
import Foundation

public struct CallerIDCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cid",
        abstract: "Read calls from a caller-ID box (Segal, Danjeh) or a caller-ID modem on a serial port.",
        discussion: "Settings live in the config file's cid: section; see docs/callerid.md. Start with 'cid test' to see what the box sends.",
        subcommands: [Run.self, Test.self, Parse.self],
        defaultSubcommand: Run.self)

    public init() {}

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read the box and stream the calls to the collector.")

        @OptionGroup var options: ConfigOption

        func run() async throws {
            let config = try options.load()
            let settings = try readSettings(config)
            let runtime = AgentRuntime(config: config, logger: makeLogger(config, label: "tamas.agent.cid"))
            try await runtime.run(source: CallerIDSource(settings: settings), exitWhenDrained: false)
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open the port as configured and print each record the box sends, with its meaning.",
            discussion: "Nothing is sent to the collector. A modem is sent its init string first. Exits non-zero when the port cannot be opened.")

        @OptionGroup var options: ConfigOption
        @Option(help: "How long to listen, in seconds.") var seconds = 60

        func validate() throws {
            guard seconds > 0 else { throw ValidationError("--seconds must be at least 1") }
        }

        func run() async throws {
            let settings = try readSettings(try options.load())
            if let failure = try await CallerIDTestSession(settings: settings, secondsLimit: seconds).run() {
                FileHandle.standardError.write(Data("cid test: \(failure)\n".utf8))
                throw ExitCode(2)
            }
        }
    }

    struct Parse: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read a caller-ID capture on standard input and print the events it means, as JSON lines.",
            discussion: "All input arrives at once, so ring times are 0 and durations come from the box's own fields.")

        @Option(help: "Wire protocol: \(CallerIDProtocol.allCases.map(\.rawValue).joined(separator: ", ")).")
        var `protocol` = CallerIDProtocol.segal.rawValue
        @Option(help: "How to read a Segal T field: \(SegalDurationFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
        var segalDurationFormat = SegalDurationFormat.minutesSeconds.rawValue
        @OptionGroup var numbers: NumberPlanOptions

        func validate() throws {
            guard CallerIDProtocol(rawValue: `protocol`) != nil else { throw ValidationError("--protocol: unknown '\(`protocol`)'") }
            guard SegalDurationFormat(rawValue: segalDurationFormat) != nil else {
                throw ValidationError("--segal-duration-format: unknown '\(segalDurationFormat)'")
            }
        }

        func run() async throws {
            var decoder = CallerIDDecoder(settings: CallerIDSettings(
                systemKey: numbers.systemKey, protocol: CallerIDProtocol(rawValue: `protocol`) ?? .segal,
                numberPlan: numbers.numberPlan,
                segalDurationFormat: SegalDurationFormat(rawValue: segalDurationFormat) ?? .minutesSeconds))
            try await runOffline(&decoder)
        }
    }
}

private func readSettings(_ config: AgentConfig) throws -> CallerIDAgentSettings {
    do {
        return try CallerIDAgentSettings.read(config)
    } catch let error as ConfigError {
        throw ValidationError(error.description)
    }
}
