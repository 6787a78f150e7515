import Foundation
import Logging
import TamasEvents

/// One log record per line on stderr as `level=info label=... msg="..." key=value`, which
/// journald stores as-is and log shippers (Vector, Fluent Bit, Filebeat) parse as logfmt.
/// Timestamps are left to journald unless `timestamps` is on (plain files, terminals).
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let timestamps: Bool

    public init(label: String, timestamps: Bool) {
        self.label = label
        self.timestamps = timestamps
    }

    public static func bootstrap(level: Logger.Level) {
        let timestamps = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] == nil
        LoggingSystem.bootstrap { label in
            var handler = LineLogHandler(label: label, timestamps: timestamps)
            handler.logLevel = level
            return handler
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = ""
        if timestamps { line += "time=\(Timestamp(date: Date()).iso8601) " }
        line += "level=\(event.level) label=\(label) msg=\(Self.quote(event.message.description))"
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in merged.keys.sorted() {
            if let value = merged[key] { line += " \(key)=\(Self.quote(value.description))" }
        }
        line += "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    static func quote(_ text: String) -> String {
        let needsQuotes = text.isEmpty || text.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }
        guard needsQuotes else { return text }
        var escaped = "\""
        for character in text {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            default: escaped.append(character)
            }
        }
        return escaped + "\""
    }
}
