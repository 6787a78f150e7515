/// The parts of an Asterisk channel name: `SIP/201-0000001a`, `Local/201@from-internal-00000011;2`,
/// `SIP/201-0000000d<ZOMBIE>`.
public struct AMIChannelName: Hashable, Sendable {
    public var technology: Substring
    /// The device or trunk name between `TECH/` and the last `-`.
    public var peer: Substring
    /// A `<MASQ>`/`<ZOMBIE>` channel is the shell left behind by a masquerade, not a party.
    public var isMasqueradeShell: Bool
    /// The name without any `<...>` marker.
    public var base: Substring

    public init(_ name: String) {
        let full = Substring(name)
        if let marker = full.firstIndex(of: "<") {
            base = full[..<marker]
            isMasqueradeShell = true
        } else {
            base = full
            isMasqueradeShell = false
        }
        guard let slash = base.firstIndex(of: "/") else {
            technology = base
            peer = ""
            return
        }
        technology = base[..<slash]
        let rest = base[base.index(after: slash)...]
        if let dash = rest.lastIndex(of: "-"), dash > rest.startIndex {
            peer = rest[..<dash]
        } else {
            peer = rest
        }
    }

    /// Local channels, parking lots and the like are plumbing, never a party of a call.
    public var isPlumbing: Bool {
        isMasqueradeShell || technology == "Local" || technology == "Parked" || technology == "Bridge"
            || technology == "Recorder" || technology == "Announcer" || technology == "Message" || technology.isEmpty
    }
}

/// What a channel is to a call.
public enum AMIChannelKind: Hashable, Sendable {
    case plumbing
    case `extension`(String)
    case trunk(String)

    var extensionNumber: String? {
        if case .extension(let number) = self { return number }
        return nil
    }

    var isParty: Bool { self != .plumbing }
}

/// Applies `AMIChannelRules` (see there for the order and why unknown channels are trunks).
public struct AMIChannelClassifier: Sendable {
    public let rules: AMIChannelRules
    private let trunkContexts: Set<String>
    private let extensionContexts: Set<String>

    public init(rules: AMIChannelRules) {
        self.rules = rules
        trunkContexts = Set(rules.trunkContexts)
        extensionContexts = Set(rules.extensionContexts)
    }

    public func kind(channel: String, context: String?) -> AMIChannelKind {
        let name = AMIChannelName(channel)
        if name.isPlumbing { return .plumbing }
        let peer = String(name.peer)
        if Self.matches(peer, rules.trunkPeers) { return .trunk(peer) }
        if Self.matches(peer, rules.extensionPeers) { return .extension(peer) }
        if looksLikeExtension(peer) { return .extension(peer) }
        if let context {
            if trunkContexts.contains(context) { return .trunk(peer) }
            if extensionContexts.contains(context) { return .extension(peer) }
        }
        return .trunk(peer)
    }

    /// For device names without a channel (`ExtensionStatus` extens, `PeerEntry` object names).
    public func isExtensionNumber(_ text: String) -> Bool {
        looksLikeExtension(text) || Self.matches(text, rules.extensionPeers)
    }

    private func looksLikeExtension(_ peer: String) -> Bool {
        let count = peer.utf8.count
        guard count >= rules.extensionDigitsMin, count <= rules.extensionDigitsMax else { return false }
        return peer.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
    }

    private static func matches(_ peer: String, _ patterns: [String]) -> Bool {
        for pattern in patterns {
            if pattern.hasSuffix("*") {
                if peer.hasPrefix(pattern.dropLast()) { return true }
            } else if peer == pattern {
                return true
            }
        }
        return false
    }
}
