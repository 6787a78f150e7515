/// What a CRM's API token may start. A token made before scopes existed may do every action on
/// every system, as it could then; a new one may only place calls unless given more, since
/// listening in on a call (PAINPOINTS 35) is not something every CRM user should reach.
public enum CallControlAction: String, CaseIterable, Codable, Sendable {
    case originate, spy, whisper, barge

    public static let newTokenDefault: [CallControlAction] = [.originate]
}

public struct APIToken: Codable, Sendable, Equatable {
    public var name: String
    /// nil: every system.
    public var systemKeys: [String]?
    public var actions: [CallControlAction]

    public init(name: String, systemKeys: [String]?, actions: [CallControlAction]) {
        self.name = name
        self.systemKeys = systemKeys
        self.actions = actions
    }

    /// Why this token may not do `action` on `systemKey`, or nil when it may.
    public func refusal(_ action: CallControlAction, systemKey: String) -> String? {
        if !actions.contains(action) {
            return "token '\(name)' may not \(action.rawValue) (it may: \(actions.map(\.rawValue).joined(separator: ", ")))"
        }
        if let systemKeys, !systemKeys.contains(systemKey) {
            return "token '\(name)' is not for system '\(systemKey)' (it is for: \(systemKeys.joined(separator: ", ")))"
        }
        return nil
    }
}
