import AgentCLI
import AgentCore
import ArgumentParser
import Foundation
import SMDRProtocol
import TamasEvents

public struct SMDRCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "smdr",
        abstract: "Read a Panasonic PBX's call log (SMDR) from its serial port or TCP port 2300.",
        discussion: "Settings live in the config file's smdr: section; see docs/smdr.md. Start with 'smdr test' to see what the PBX prints and how each line is read.",
        subcommands: [Run.self, Test.self, Parse.self, Bench.self],
        defaultSubcommand: Run.self)

    public init() {}

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read SMDR and stream the calls to the collector.")

        @OptionGroup var options: ConfigOption

        func run() async throws {
            let config = try options.load()
            let settings = try readSettings(config)
            let runtime = AgentRuntime(config: config, logger: makeLogger(config, label: "tamas.agent.smdr"))
            try await runtime.run(source: SMDRSource(settings: settings), exitWhenDrained: false)
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connect to the PBX as configured and print the next lines it sends, with how each was read.",
            discussion: """
                Nothing is sent to the collector. Exits with a non-zero status and a message when the \
                port cannot be opened, the TCP connection fails or the PBX rejects the password.
                """)

        @OptionGroup var options: ConfigOption

        @Option(help: "Stop after this many lines.") var lines = 10
        @Option(help: "Stop after this many seconds, however many lines came.") var seconds = 60

        func validate() throws {
            guard lines > 0 else { throw ValidationError("--lines must be at least 1") }
            guard seconds > 0 else { throw ValidationError("--seconds must be at least 1") }
        }

        func run() async throws {
            let settings = try readSettings(try options.load())
            let session = SMDRTestSession(settings: settings, lineLimit: lines, secondsLimit: seconds)
            if let failure = try await session.run() {
                FileHandle.standardError.write(Data("smdr test: \(failure)\n".utf8))
                throw ExitCode(2)
            }
        }
    }

    struct Parse: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read SMDR text on standard input and print the events it means, as JSON lines.",
            discussion: "For saved PBX output and replays. Times of lines that are not calls are their arrival times unless --now is given.")

        @Option(help: "PBX model: \(SMDRModel.allCases.map(\.rawValue).joined(separator: ", ")).")
        var model = SMDRModel.auto.rawValue
        @Option(help: "Date order the PBX prints: \(SMDRDateOrder.allCases.map(\.rawValue).joined(separator: ", ")).")
        var dateFormat = SMDRDateOrder.auto.rawValue
        @Option(help: "IANA time zone of the PBX clock, e.g. Asia/Tehran.") var timeZone = TimeZone.current.identifier
        @OptionGroup var numbers: NumberPlanOptions
        @Option(name: .customLong("ignored-extension"), help: "An extension hidden from incoming calls (DISA, auto attendant); repeatable.")
        var ignoredExtensions: [String] = []
        @Option(help: "Treat all input as arriving at this ISO 8601 time, for reproducible output.") var now: String?

        func validate() throws {
            guard SMDRModel(rawValue: model) != nil else { throw ValidationError("--model: unknown model '\(model)'") }
            guard SMDRDateOrder(rawValue: dateFormat) != nil else { throw ValidationError("--date-format: unknown '\(dateFormat)'") }
            guard TimeZone(identifier: timeZone) != nil else { throw ValidationError("--time-zone: unknown zone '\(timeZone)'") }
            if let now, Timestamp(iso8601: now) == nil { throw ValidationError("--now: not an ISO 8601 time: '\(now)'") }
        }

        func run() async throws {
            let settings = SMDRSettings(
                systemKey: numbers.systemKey, model: SMDRModel(rawValue: model) ?? .auto,
                dateFormat: SMDRDateOrder(rawValue: dateFormat) ?? .auto, timeZone: timeZone,
                numberPlan: numbers.numberPlan, ignoredExtensions: ignoredExtensions)
            let decoder = SMDRDecoder(settings: settings)
            if let fixed = now.flatMap(Timestamp.init(iso8601:)) {
                var machine = FixedClock(machine: decoder, at: fixed)
                try await runOffline(&machine)
            } else {
                var machine = decoder
                try await runOffline(&machine)
            }
        }
    }

    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure how many SMDR lines per second one core parses and assembles into calls.",
            discussion: "Generates traffic in memory (no I/O), then times the decoder against plain line splitting of the same bytes. Build with -c release for meaningful numbers.")

        @Option(help: "How many lines to generate (about).") var lines = 200_000
        @Option(help: "PBX model whose layout is generated.") var model = SMDRModel.kxTDE100.rawValue
        @Option(help: "How many times to repeat the measurement; the fastest run is reported.") var repeats = 3

        func validate() throws {
            guard SMDRModel(rawValue: model) != nil else { throw ValidationError("--model: unknown model '\(model)'") }
            guard lines >= 100 else { throw ValidationError("--lines must be at least 100") }
            guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        }

        func run() async throws {
            let report = SMDRBenchmark(model: SMDRModel(rawValue: model) ?? .auto, lines: lines).run(repeats: repeats)
            print(report.description)
        }
    }
}

private func readSettings(_ config: AgentConfig) throws -> SMDRAgentSettings {
    do {
        return try SMDRAgentSettings.read(config)
    } catch let error as ConfigError {
        throw ValidationError(error.description)
    }
}

/// A state machine whose clock is pinned: offline output that is the same on every run.
struct FixedClock<Machine: SourceStateMachine>: SourceStateMachine {
    var machine: Machine
    let at: Timestamp

    mutating func receive(_ bytes: [UInt8], now: Timestamp) -> [CallEvent] { machine.receive(bytes, now: at) }
    mutating func tick(now: Timestamp) -> [CallEvent] { machine.tick(now: at) }
    mutating func finish(now: Timestamp) -> [CallEvent] { machine.finish(now: at) }
}
