import AMIProtocol
import AgentCLI
import AgentCore
import ArgumentParser
import Foundation
import Logging
import RemoteFiles
import TamasEvents

public struct AMICommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ami",
        abstract: "Read calls from an Asterisk server (Issabel, FreePBX, Elastix) over the Manager Interface (AMI, TCP 5038).",
        discussion: """
            The agent logs in with the AMI user of the config's ami: section (manager.conf), keeps the link \
            alive with Ping, resyncs calls in progress after every reconnect and streams call events to \
            the collector. It also answers the collector's originate (click-to-call), spy, ami-command and \
            fetch-recording commands; recordings are read from the PBX over SFTP or FTP. See docs/asterisk.md.
            """,
        subcommands: [Run.self, Test.self, TestFiles.self, Originate.self, Execute.self, Replay.self, Bench.self],
        defaultSubcommand: Run.self)

    public init() {}

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Connect to AMI and stream calls to the collector until stopped.")

        @OptionGroup var options: ConfigOption

        func run() async throws {
            let config = try options.load()
            let settings = try readSettings(config)
            let logger = makeLogger(config, label: "tamas.agent.ami")
            let runtime = AgentRuntime(config: config, logger: logger)
            try await runtime.run(source: AMISource(settings: settings, logger: logger), exitWhenDrained: false)
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the AMI login: prints whether it is accepted, the Asterisk version, the number of extensions and what the AMI user may do.",
            discussion: """
                Exits non-zero when the login is refused, the server cannot be reached or does not answer. An AMI user \
                without the write classes for the version line, the extension count, click-to-call or the resync (a \
                call-logs-only user) passes: each unavailable capability is listed with the manager.conf write class \
                that would enable it.
                """)

        @OptionGroup var options: ConfigOption

        func run() async throws {
            let config = try options.load()
            let settings = try readSettings(config)
            let report = try await withOneShotClient(settings, config: config) { client in
                await AMIConnectionTest(client: client).run(loginTimeout: .seconds(settings.ami.pingTimeoutSeconds + 5))
            }
            print(report.text)
            if !report.ok { throw ExitCode(1) }
        }
    }

    struct TestFiles: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test-files",
            abstract: "Check the recording download (ami.recordingDownload): login over SFTP/FTP, host key, recording path, newest recordings.",
            discussion: """
                The first SFTP login pins the server's SSH host key in the known-hosts file. A later change of that key is \
                refused, by this command and by every recording download, until it is accepted on purpose with \
                --accept-new-host-key (check the key on the server first). Exits non-zero on any problem.
                """)

        @OptionGroup var options: ConfigOption
        @Option(help: "How many of the newest recordings to list.") var count = 10
        @Flag(help: "Accept and pin the SSH host key the server offers now, replacing a pinned key that changed.")
        var acceptNewHostKey = false

        func run() async throws {
            let config = try options.load()
            let settings = try readSettings(config)
            guard let download = settings.recordingDownload else {
                throw ValidationError("\(config.file): ami.recordingDownload is missing or has protocol: none, so recordings are not downloaded")
            }
            let report = await AMIFilesTest(settings: download, root: settings.ami.recordingPath)
                .run(newest: max(count, 0), acceptNewHostKey: acceptNewHostKey)
            print(report.text)
            if !report.ok { throw ExitCode(1) }
        }
    }

    struct Originate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Test click-to-call: ring extension --from, and when it answers dial --to.",
            discussion: "Prints the outcome Asterisk reports: success, busy, no answer or failure (exit code 0 only for success).")

        @OptionGroup var options: ConfigOption
        @Option(help: "The user's extension, rung first (e.g. 201).") var from: String
        @Option(help: "The number to dial once the extension answers, as a CRM holds it (09121234567, +989121234567).") var to: String
        @Flag(inversion: .prefixedNo, help: "Ask the phone to answer by itself (default: the originateAutoAnswer setting).")
        var autoAnswer: Bool?

        func run() async throws {
            let config = try options.load()
            let settings = try readSettings(config)
            let (from, to, autoAnswer) = (from, to, autoAnswer)
            let result = try await withOneShotClient(settings, config: config) { client in
                try await loggedIn(client, settings)
                let action = try await client.clickToCall(from: from, to: to, autoAnswer: autoAnswer)
                return await client.perform(action, timeout: .seconds(settings.ami.originateTimeoutSeconds + 15))
            }
            let outcome = OriginateOutcome(result)
            print(outcome.word == "success" ? outcome.word : outcome.explanation)
            if outcome.word != "success" { throw ExitCode(1) }
        }
    }

    struct Execute: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "command",
            abstract: "Run one Asterisk CLI command over AMI and print its output (e.g. 'core show channels').",
            discussion: "Needs the 'command' write class in manager.conf. Both answer forms are read: 'Response: Follows' (up to 13) and 'Output:' lines (14 and later).")

        @OptionGroup var options: ConfigOption
        @Argument(help: "The CLI command, quoted as one argument.") var command: String

        func run() async throws {
            let config = try options.load()
            let settings = try readSettings(config)
            let command = command
            let result = try await withOneShotClient(settings, config: config) { client in
                try await loggedIn(client, settings)
                return await client.perform(AMIActions.command(command), timeout: .seconds(30))
            }
            if !result.output.isEmpty { print(result.output.joined(separator: "\n")) }
            guard result.success else {
                throw ValidationError("Asterisk refused '\(command)': \(result.refusal?.detail ?? result.message ?? "no answer")")
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay a recorded AMI session and print the events as JSON lines.",
            discussion: """
                FILE holds raw wire text as Asterisk sends it (a tcpdump/ngrep dump) or a JSON list of event \
                objects (cacofonisk captures). Recorded events carry no times: replay starts at the first \
                Uniqueid's time and moves 100 ms per message, so durations are approximate.
                """)

        @Argument(help: "The recorded session.") var file: String
        @OptionGroup var numbers: NumberPlanOptions
        @Option(help: "Longest extension number (numbers this long or shorter are not outside numbers).") var maxExtensionLength = 5
        @Option(name: .customLong("trunk-peer"), help: "A peer name that is a trunk (repeatable; a trailing * matches a prefix).")
        var trunkPeers: [String] = []
        @Option(name: .customLong("extension-peer"), help: "A peer name that is an office phone (repeatable; a trailing * matches a prefix).")
        var extensionPeers: [String] = []
        @Option(help: "Shortest peer name of digits only that is an extension.") var extensionDigitsMin = 3
        @Option(help: "Longest peer name of digits only that is an extension.") var extensionDigitsMax = 5

        func validate() throws {
            if let problem = AMIChannelRules.extensionDigitsProblem(min: extensionDigitsMin, max: extensionDigitsMax) {
                throw ValidationError("--extension-digits-min/--extension-digits-max: \(problem)")
            }
        }

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            var plan = numbers.numberPlan
            plan.maxExtensionLength = maxExtensionLength
            let settings = AMISettings(
                systemKey: numbers.systemKey, numberPlan: plan,
                channelRules: AMIChannelRules(trunkPeers: trunkPeers, extensionPeers: extensionPeers,
                                              extensionDigitsMin: extensionDigitsMin, extensionDigitsMax: extensionDigitsMax))
            try EventPrinter().print(AMIReplay(settings: settings).run(data))
        }
    }

    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure framing + call tracking speed on a generated Asterisk 13+ stream (a benchmark, not a test).",
            discussion: """
                Generates a deterministic stream in memory (ring groups, outbound, busy and internal calls in the \
                chatter of a FreePBX box), then times on one core: the framer building every message, the framer \
                with the early drop of ignored events (the baseline) and framer + call tracker, and prints AMI \
                messages per second and the ratio. --write-stream saves the same stream so other AMI libraries can \
                be timed on it. --compare-python also times panoramisk's framing and panoramisk + cacofonisk's call \
                tracking on that file with python3 (scripts in Tests/AMIAgentTests/bench, run from the repository \
                root) and prints the ratios. See docs/performance.md.
                """)

        @Option(help: "Number of calls in the generated stream.") var calls = 20_000
        @Option(help: "Seed of the stream generator.") var seed: UInt64 = 42
        @Option(help: "Also write the generated wire stream to this file.") var writeStream: String?
        @Flag(help: "Also time panoramisk and panoramisk + cacofonisk (python3) on the same stream and print the ratios.")
        var comparePython = false
        @Option(help: "Folder of panoramisk_bench.py and cacofonisk_bench.py, for --compare-python.")
        var pythonBenchFolder = "Tests/AMIAgentTests/bench"

        func run() async throws {
            let stream = AMIStreamGenerator(calls: calls, seed: seed).generate()
            let streamFile = writeStream ?? (comparePython ? FileManager.default.temporaryDirectory
                .appendingPathComponent("tamas-ami-bench-\(UUID().uuidString).ami").path : nil)
            if let streamFile {
                guard FileManager.default.createFile(atPath: streamFile, contents: Data(stream.bytes)) else {
                    throw ValidationError("cannot write \(streamFile)")
                }
            }
            defer { if writeStream == nil, let streamFile { try? FileManager.default.removeItem(atPath: streamFile) } }
            let figures = AMIBenchmark(stream: stream).run()
            print(figures.text)
            if comparePython, let streamFile {
                let comparison = AMIPythonComparison(scriptFolder: URL(fileURLWithPath: pythonBenchFolder), streamFile: streamFile)
                print(try comparison.run(expectedMessages: stream.messageCount).text(against: figures))
            }
        }
    }
}

func readSettings(_ config: AgentConfig) throws -> AMIAgentSettings {
    do {
        return try AMIAgentSettings.read(config)
    } catch let error as ConfigError {
        throw ValidationError(error.description)
    }
}

/// Runs a client only for the duration of `body` (the one-shot commands), its log on standard error.
func withOneShotClient<T: Sendable>(_ settings: AMIAgentSettings, config: AgentConfig,
                                    _ body: @escaping @Sendable (AMIClient) async throws -> T) async throws -> T {
    let logger = makeLogger(config, label: "tamas.agent.ami")
    let client = AMIClient(settings: settings, logger: logger)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await client.run(into: LogOutlet(logger: logger))
            return nil
        }
        group.addTask { try await body(client) }
        defer { group.cancelAll() }
        while let next = try await group.next() {
            if let value = next { return value }
        }
        throw ExitCode(1)
    }
}

func loggedIn(_ client: AMIClient, _ settings: AMIAgentSettings) async throws {
    let status = await client.waitForLogin(timeout: .seconds(settings.ami.pingTimeoutSeconds + 5))
    guard case .connected = status else {
        let report = await AMIConnectionTest(client: client).run(loginTimeout: .zero)
        throw ValidationError(report.text)
    }
}
