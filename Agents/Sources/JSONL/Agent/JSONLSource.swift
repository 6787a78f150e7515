import AgentCLI
import AgentCore
import JSONLProtocol
import Foundation
import TamasEvents

/// `tamas-agent jsonl`: normalized events from a file, a named pipe or standard input.
public struct JSONLSource: AgentSource {
    public struct Settings: Sendable {
        /// A path, or `-` for standard input.
        public var input: String
        /// For a regular file: keep reading what is appended to it (like `tail -f`).
        public var follow: Bool

        public init(input: String, follow: Bool = false) {
            self.input = input
            self.follow = follow
        }

        public static func read(_ config: AgentConfig) throws -> Settings {
            let section = try config.document.section("jsonl")
            try section.rejectUnknownKeys(["input", "follow"])
            return Settings(input: try section.string("input", default: "-"), follow: try section.bool("follow", default: false))
        }
    }

    public let kind = SourceName.jsonl.rawValue
    public let settings: Settings

    public init(settings: Settings) {
        self.settings = settings
    }

    public func run(into sink: EventSink) async throws {
        let input = try ByteInput(path: settings.input)
        var decoder = JSONLDecoder(systemKey: sink.systemKey)
        await sink.report(state: "reading", detail: "reading \(settings.input)")
        while !Task.isCancelled {
            guard let chunk = try await input.next() else {
                guard settings.follow, input.kind == .regularFile else { break }
                try await Task.sleep(for: .milliseconds(250))
                continue
            }
            sink.noteInput()
            try await sink.emit(decoder.receive(chunk, now: .now()))
        }
        try await sink.emit(decoder.finish(now: .now()))
        await sink.report(state: "inputEnded", detail: "end of \(settings.input)")
    }
}
