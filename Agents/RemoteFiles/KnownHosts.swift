import Foundation
import TamasLink

/// SSH host keys pinned on first use: one `host:port SHA256:<base64>` line per server in a file
/// of the agent's data folder, created 0600. The first connection to a server pins the key it
/// offers; later connections must offer the same key or are refused (`hostKeyChanged`) until
/// the installer accepts the new key on purpose. Blocking file I/O: call from a `BlockingQueue`.
public struct KnownHosts: Sendable {
    public enum Outcome: Equatable, Sendable {
        case matched
        /// Nothing was pinned for the server: the offered key is now.
        case pinnedOnFirstUse
        /// The pinned key differed and the caller asked to accept the new one.
        case replaced(previous: String)
    }

    public let file: String

    public init(file: String) {
        self.file = file
    }

    /// The pinned fingerprint of every server in the file.
    public func entries() throws(RemoteFilesError) -> [String: String] {
        guard FileManager.default.fileExists(atPath: file) else { return [:] }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw .hostKeyUnusable(server: file, reason: "cannot read the known-hosts file \(file)")
        }
        var pins: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let fields = line.split(separator: " ")
            if fields.count >= 2 { pins[String(fields[0])] = String(fields[1]) }
        }
        return pins
    }

    public func check(server: String, offered: String, acceptNew: Bool) throws(RemoteFilesError) -> Outcome {
        var pins = try entries()
        switch pins[server] {
        case offered?:
            return .matched
        case let pinned? where !acceptNew:
            throw .hostKeyChanged(server: server, pinned: pinned, offered: offered, knownHostsFile: file)
        case let pinned:
            pins[server] = offered
            try write(pins)
            return pinned.map { .replaced(previous: $0) } ?? .pinnedOnFirstUse
        }
    }

    private func write(_ pins: [String: String]) throws(RemoteFilesError) {
        let folder = (file as NSString).deletingLastPathComponent
        if !folder.isEmpty { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let text = "# SSH host keys of recording servers, pinned by tamas-agent on first use (host:port SHA256 fingerprint)\n"
            + pins.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)\n" }.joined()
        do {
            try Secrets.writePrivateFile(text, to: file)
        } catch {
            throw .hostKeyUnusable(server: file, reason: "cannot write the known-hosts file: \(error)")
        }
    }

    /// OpenSSH's spelling of a SHA-256 key fingerprint (`ssh-keygen -lf`): `SHA256:` and the
    /// digest in base64 without padding.
    public static func fingerprint(sha256 digest: [UInt8]) -> String {
        "SHA256:" + Data(digest).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }
}
