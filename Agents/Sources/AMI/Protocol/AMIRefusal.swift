import Foundation

/// An action Asterisk answered with `Response: Error`, and why. manager.c's process_message
/// words the two refusals it makes itself the same way from 1.4 to 22: `Permission denied`
/// when the user's write classes do not cover the action, and `Invalid/unknown command` (1.4)
/// or `Invalid/unknown command: <Action>. Use Action: ListCommands to show available
/// commands.` (1.6 on) when no loaded module registered it. Anything else is the action's own
/// answer (res_pjsip's `No endpoints found`, ...). Only the first is about manager.conf.
public struct AMIRefusal: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case permissionDenied
        /// Too new or too old for this Asterisk, or its module (chan_sip, res_pjsip) is not loaded.
        case unknownAction
        case failed
    }

    public var action: String
    public var message: String
    public var kind: Kind
    public var dialect: AMIDialect

    public init(action: String, message: String?, dialect: AMIDialect) {
        self.action = action
        self.dialect = dialect
        let text = (message ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        self.message = text.isEmpty ? "no message" : text
        if text.lowercased() == "permission denied" {
            kind = .permissionDenied
        } else if text.lowercased().hasPrefix("invalid/unknown command") {
            kind = .unknownAction
        } else {
            kind = .failed
        }
    }

    /// The `agent.status` state word.
    public var state: String {
        switch kind {
        case .permissionDenied: "permissionMissing"
        case .unknownAction: "actionUnsupported"
        case .failed: "actionFailed"
        }
    }

    /// Names the action, quotes Asterisk, and says what would change the answer.
    public var detail: String {
        switch kind {
        case .permissionDenied:
            "\(action): \(message); \(AMIWriteClass.advice(for: action, dialect: dialect))"
        case .unknownAction:
            "\(action) is not supported by this Asterisk (\(message)): the action is unknown to this version or its module is not loaded"
        case .failed:
            "\(action) failed: \(message)"
        }
    }
}

/// The manager.conf write class to grant for an action, the least one that allows it (docs/asterisk.md,
/// "manager.conf user"): from 1.6 on any one of an action's classes is enough, 1.4 wants all of them.
public enum AMIWriteClass {
    public static func needed(for action: String, dialect: AMIDialect) -> String? {
        switch (action.lowercased(), dialect >= .v1_8) {
        case ("command", _): "command"
        case ("originate", true): "originate"
        case ("originate", false), ("status", false): "call"
        case ("sippeers", false): "system"
        case ("pjsipshowendpoints", _): "system"
        case ("coreshowchannels", _), ("sippeers", true), ("extensionstatelist", _), ("status", true): "reporting"
        default: nil
        }
    }

    public static func advice(for action: String, dialect: AMIDialect) -> String {
        guard let needed = needed(for: action, dialect: dialect) else {
            return "the AMI user's write classes in manager.conf do not allow it"
        }
        return "add '\(needed)' to the AMI user's write line in manager.conf"
    }
}
