import Foundation

/// One entry of a remote folder, or the facts of one remote file.
public struct RemoteFile: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case file, directory, symbolicLink, other
    }

    /// The full remote path.
    public var path: String
    public var kind: Kind
    public var size: Int64
    /// Nil when the server does not say.
    public var modified: Date?

    public init(path: String, kind: Kind, size: Int64, modified: Date?) {
        self.path = path
        self.kind = kind
        self.size = size
        self.modified = modified
    }

    public var name: String { String(path.split(separator: "/").last ?? Substring(path)) }
}

/// A read-only view of a remote server's files (the recordings of an Asterisk box), over SFTP
/// or FTP. One store is one logged-in connection; every call on it runs its blocking I/O off
/// the cooperative threads and the NIO event loops, one call at a time.
public protocol RemoteFileStore: Sendable {
    /// The entries of `folder` (no `.` and `..`), in the server's order.
    func list(folder: String) async throws(RemoteFilesError) -> [RemoteFile]
    /// The facts of `path` itself: a symbolic link is reported as one, not followed.
    func stat(path: String) async throws(RemoteFilesError) -> RemoteFile
    /// Bytes `offset..<offset+length` of the file at `path` (fewer if it ends sooner), handed to
    /// `deliver` in order in pieces of at most `chunkBytes`; one piece is in memory at a time.
    func read(path: String, offset: Int64, length: Int64, chunkBytes: Int,
              deliver: @escaping @Sendable ([UInt8]) async throws -> Void) async throws
    /// Logs out and closes the connection; the store is unusable afterwards.
    func close() async
}

extension RemoteFileStore {
    /// The `count` most recently modified plain files of `folder`, newest first.
    public func newestFiles(in folder: String, count: Int) async throws(RemoteFilesError) -> [RemoteFile] {
        RemoteFile.newestFiles(try await list(folder: folder), count: count)
    }
}

extension RemoteFile {
    /// The `count` most recently modified plain files among `entries`, newest first (by path when
    /// times are equal, so the order is stable).
    public static func newestFiles(_ entries: [RemoteFile], count: Int) -> [RemoteFile] {
        let files = entries.filter { $0.kind == .file }
        return Array(files.sorted { ($0.modified ?? .distantPast, $1.path) > ($1.modified ?? .distantPast, $0.path) }.prefix(count))
    }
}

/// Everything that goes wrong talking to the recording server, worded for the installer who
/// reads it in `tamas-agent ami test-files` or in a failed recording download.
public enum RemoteFilesError: Error, CustomStringConvertible, Equatable, Sendable {
    case cannotConnect(server: String, reason: String)
    case timedOut(server: String, during: String)
    /// The SSH or FTP conversation broke down (not an SSH/FTP server, a dropped link, ...).
    case protocolFailure(server: String, reason: String)
    case authenticationFailed(server: String, user: String, reason: String)
    /// The server's SSH host key is not the one pinned on first use.
    case hostKeyChanged(server: String, pinned: String, offered: String, knownHostsFile: String)
    case hostKeyUnusable(server: String, reason: String)
    case notFound(server: String, path: String)
    case permissionDenied(server: String, path: String)
    case failed(server: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotConnect(let server, let reason): "cannot connect to \(server): \(reason)"
        case .timedOut(let server, let during): "\(server) did not answer in time (\(during))"
        case .protocolFailure(let server, let reason): "\(server): \(reason)"
        case .authenticationFailed(let server, let user, let reason): "\(server) refused the login of '\(user)': \(reason)"
        case .hostKeyChanged(let server, let pinned, let offered, let file):
            """
            REFUSED: the SSH host key of \(server) has CHANGED since it was first seen.
              pinned:  \(pinned)
              offered: \(offered)
            Someone may be intercepting the connection, or the server was reinstalled or its key replaced.
            Check the key on the server (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub and the other key types). \
            If the change is expected, accept the new key deliberately with \
            'tamas-agent ami test-files --config FILE --accept-new-host-key' (or delete the line for \(server) from \(file)).
            """
        case .hostKeyUnusable(let server, let reason): "\(server): the SSH host key cannot be checked: \(reason)"
        case .notFound(let server, let path): "\(server): no such file or folder: \(path)"
        case .permissionDenied(let server, let path): "\(server): permission denied: \(path)"
        case .failed(let server, let path, let reason): "\(server): \(path): \(reason)"
        }
    }
}

/// How to reach and log in to the recording server.
public struct RemoteFilesSettings: Sendable, Equatable {
    public enum Transfer: String, Sendable, CaseIterable {
        case sftp, ftp
    }

    /// Printing one (a log line, a failed assertion) never shows the password or passphrase.
    public enum Credential: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
        case password(String)
        /// An OpenSSH or PEM private key file (SFTP only); its passphrase, if it has one.
        case privateKeyFile(path: String, passphrase: String?)

        public var description: String {
            switch self {
            case .password: "password (hidden)"
            case .privateKeyFile(let path, _): "private key \(path)"
            }
        }

        public var debugDescription: String { description }
    }

    public var transfer: Transfer
    public var host: String
    public var port: Int
    public var user: String
    public var credential: Credential
    public var connectTimeoutSeconds: Int
    /// For each answer of the server once connected (login, a listing, a chunk of a file).
    public var timeoutSeconds: Int
    /// Where SSH host keys are pinned on first use (`host:port SHA256:...` lines, mode 0600).
    public var knownHostsFile: String

    public init(transfer: Transfer, host: String, port: Int, user: String, credential: Credential,
                connectTimeoutSeconds: Int = 10, timeoutSeconds: Int = 30, knownHostsFile: String) {
        self.transfer = transfer
        self.host = host
        self.port = port
        self.user = user
        self.credential = credential
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.timeoutSeconds = timeoutSeconds
        self.knownHostsFile = knownHostsFile
    }

    /// `host:port`, bracketed for IPv6, as errors and known_hosts name the server.
    public var server: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public enum RemoteFiles {
    /// Opens a logged-in store. `acceptNewHostKey` replaces a pinned SSH host key that changed
    /// (the installer's deliberate `--accept-new-host-key`); otherwise a changed key is refused.
    public static func connect(_ settings: RemoteFilesSettings, acceptNewHostKey: Bool = false) async throws(RemoteFilesError) -> any RemoteFileStore {
        switch settings.transfer {
        case .sftp: try await SFTPStore.connect(settings, acceptNewHostKey: acceptNewHostKey)
        case .ftp: try await FTPStore.connect(settings)
        }
    }
}
