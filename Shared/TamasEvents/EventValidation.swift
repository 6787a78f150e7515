/// Checks an event against the contract before it enters a spool or a store, so a broken
/// custom source is told exactly which field is wrong instead of corrupting call records.
public struct EventValidationError: Error, Equatable, CustomStringConvertible, Sendable {
    public var field: String
    public var problem: String

    public var description: String { "\(field): \(problem)" }
}

extension CallEvent {
    public func validate() throws(EventValidationError) {
        func fail(_ field: String, _ problem: String) -> EventValidationError {
            EventValidationError(field: field, problem: problem)
        }
        guard schema == Self.schemaVersion else { throw fail("schema", "must be \(Self.schemaVersion), got \(schema)") }
        guard !eventId.isEmpty, eventId.utf8.count <= 200 else { throw fail("eventId", "must be 1 to 200 bytes") }
        guard SystemKey.isValid(systemKey) else { throw fail("systemKey", SystemKey.rule) }
        guard !source.isEmpty else { throw fail("source", "must not be empty") }
        switch type {
        case .callRinging, .callAnswered, .callEnded:
            guard let callId, !callId.isEmpty else { throw fail("callId", "required for \(type.rawValue)") }
            guard direction != nil else { throw fail("direction", "required for \(type.rawValue)") }
            if type == .callEnded {
                guard disposition != nil else { throw fail("disposition", "required for call.ended") }
                guard startedAt != nil else { throw fail("startedAt", "required for call.ended") }
                guard endedAt != nil else { throw fail("endedAt", "required for call.ended") }
                guard let durationSec, durationSec >= 0 else { throw fail("durationSec", "required for call.ended, not negative") }
            }
        case .extensionState:
            guard `extension` != nil else { throw fail("extension", "required for extension.state") }
            guard let state, ExtensionState(rawValue: state) != nil else {
                throw fail("state", "one of \(ExtensionState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        case .recordingAvailable:
            guard let ref, !ref.isEmpty else { throw fail("ref", "required for recording.available") }
        case .lineUnparsed:
            guard raw != nil else { throw fail("raw", "required for line.unparsed") }
            guard reason != nil else { throw fail("reason", "required for line.unparsed") }
        case .agentStatus:
            guard state != nil else { throw fail("state", "required for agent.status") }
        }
    }
}

/// A telephone system's key: letters, or letters and digits (SPEC.md), the `TsKey` a CRM knows.
public enum SystemKey {
    public static let rule = "1 to 64 letters, digits, '-' or '_'"

    public static func isValid(_ key: String) -> Bool {
        guard !key.isEmpty, key.utf8.count <= 64 else { return false }
        return key.utf8.allSatisfy { byte in
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 45 || byte == 95
        }
    }
}
