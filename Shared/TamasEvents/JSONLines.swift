import Foundation

/// One event per line, keys sorted so that output is byte-stable for golden files and diffs.
public struct EventJSON: Sendable {
    private let encoder: JSONEncoder
    private let decoder = JSONDecoder()

    public init() {
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    public func encode(_ event: CallEvent) throws -> Data {
        try encoder.encode(event)
    }

    public func line(_ event: CallEvent) throws -> String {
        String(decoding: try encode(event), as: UTF8.self)
    }

    /// `FastJSONReader` first; `JSONDecoder` for whatever it declines, and for the error.
    public func decode(_ data: Data) throws -> CallEvent {
        if let event = CallEvent.fastDecoded(data) { return event }
        return try decoder.decode(CallEvent.self, from: data)
    }
}
