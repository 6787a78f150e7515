import AgentCLI
import AgentCore
import ArgumentParser
import Foundation
import TamasEvents
import TelsaProtocol

public struct TelsaCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "telsa",
        abstract: "Announce the recordings of a Telsa call recorder's folder and serve them to the collector on request.",
        discussion: """
            Watches the folder Telsa writes into (often a Windows share mounted over SMB), reads the \
            Telsa64 trailer at the end of each finished recording and sends recording.available. \
            Recordings are never copied: the collector fetches one with the fetch-recording command \
            when someone wants to listen. See docs/telsa.md.
            """,
        subcommands: [Run.self, Scan.self, Trailer.self],
        defaultSubcommand: Run.self)

    public init() {}

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Watch the Telsa folder, send recording.available events and answer fetch-recording.")

        @OptionGroup var options: ConfigOption

        func run() async throws {
            let config = try options.load()
            let settings = try readSettings(config)
            let logger = makeLogger(config, label: "tamas.agent.telsa")
            let runtime = AgentRuntime(config: config, logger: logger)
            try await runtime.run(source: TelsaSource(settings: settings, logger: logger), exitWhenDrained: false)
        }
    }

    struct Scan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the Telsa folder once and print the events the agent would send, as JSON lines.",
            discussion: """
                For installers: checks the root, the mode, the line mapping and the trailers without \
                a collector. When the mode needs files to stop changing first (folder mode, or \
                archiveSettleSeconds), it lists twice, that many seconds apart. Problems (unreadable \
                folders or trailers) and a summary go to standard error.
                """)

        @OptionGroup var options: ConfigOption

        func run() async throws {
            let settings = try readSettings(try options.load())
            var scanner = TelsaFolderScanner(settings: settings)
            guard await scanner.rootExists else { throw ValidationError("\(settings.root) does not exist or is not a folder") }
            var problems = try await scanner.rescan()
            var announcement = await scanner.announce(now: .now())
            let settle = settings.tracker.mode == .folder ? settings.tracker.settleSeconds : settings.tracker.archiveSettleSeconds
            if settle > 0 {
                printError("waiting \(settle) s to tell finished recordings from ones still being written")
                try await Task.sleep(for: .seconds(settle))
                problems += try await scanner.rescan()
                let second = await scanner.announce(now: .now())
                announcement.events += second.events
                announcement.unreadable += second.unreadable
            }
            try EventPrinter().print(announcement.events)
            for problem in problems { printError("unreadable: \(problem)") }
            for problem in announcement.unreadable { printError("trailer not read: \(problem)") }
            let recordings = announcement.events.filter { $0.type == .recordingAvailable }.count
            printError("\(recordings) recordings announced (\(settings.tracker.mode.rawValue) mode); \(scanner.listing.snapshots.count) files in \(settings.root); \(problems.count + announcement.unreadable.count) problems")
        }
    }

    struct Trailer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the Telsa64 trailer at the end of one recording as JSON, or why it has none.",
            discussion: "Exits with status 1 when the file has no usable trailer; the reason goes to standard error.")

        @Argument(help: "A recording (.wav or .mp3) written by Telsa.")
        var file: String

        @Option(help: "The recorder PC's time zone (trailer times are its wall clock).")
        var timeZone = TelsaSettings().timeZoneIdentifier

        @Option(help: "How many bytes from the end of the file to read.")
        var trailerBytes = TelsaSettings().trailerBytes

        func validate() throws {
            guard TimeZone(identifier: timeZone) != nil else { throw ValidationError("--time-zone: unknown time zone '\(timeZone)'") }
            guard (64...1_048_576).contains(trailerBytes) else { throw ValidationError("--trailer-bytes must be between 64 and 1048576") }
        }

        func run() async throws {
            let url = URL(fileURLWithPath: file)
            let folder = url.deletingLastPathComponent().path
            let name = url.lastPathComponent
            let count = trailerBytes
            let tail: [UInt8]
            do {
                tail = try await BlockingQueue(label: "tamas.telsa.trailer").run {
                    let recording = try RecordingFile.open(root: folder, path: name)
                    defer { recording.close() }
                    return try recording.tail(count)
                }
            } catch {
                printError("\(file): \(error)")
                throw ExitCode(1)
            }
            switch TelsaTrailer.parse(tail: tail, timeZone: TimeZone(identifier: timeZone) ?? .current) {
            case .success(let trailer):
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                let data = try encoder.encode(TrailerReport(file: file, trailer: trailer))
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            case .failure(let problem):
                printError("\(file): \(problem.absent ? "no Telsa64 trailer" : "malformed Telsa64 trailer"): \(problem.reason)")
                throw ExitCode(1)
            }
        }
    }
}

/// `telsa trailer`'s output.
struct TrailerReport: Encodable {
    struct Entry: Encodable {
        var at: Timestamp
        var type: String
        var fields: [String: String]
    }

    var file: String
    var startedAt: Timestamp?
    var channel: Int?
    var number: String?
    var fileName: String?
    var callWindowStatus: String?
    var callType: String?
    var declaredCount: Int
    var countMismatch: Bool
    var entries: [Entry]

    init(file: String, trailer: TelsaTrailer) {
        self.file = file
        startedAt = trailer.startedAt
        channel = trailer.channel
        number = trailer.number
        fileName = trailer.fileName
        callWindowStatus = trailer.callWindowStatus
        callType = trailer.callType
        declaredCount = trailer.declaredCount
        countMismatch = trailer.countMismatch
        entries = trailer.entries.map { Entry(at: $0.at, type: $0.type, fields: $0.fields) }
    }
}

func readSettings(_ config: AgentConfig) throws -> TelsaAgentSettings {
    do {
        return try TelsaAgentSettings.read(config)
    } catch let error as ConfigError {
        throw ValidationError(error.description)
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data("\(text)\n".utf8))
}
