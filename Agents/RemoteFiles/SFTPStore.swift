import AgentCore
import CLibSSH2
import Foundation
import Glibc

/// SFTP over libssh2 in blocking mode. Every libssh2 call runs on the store's own serial
/// `BlockingQueue`, which also keeps the session (not thread-safe) on one thread at a time;
/// the session's timeout bounds every blocking call. `@unchecked Sendable` because the libssh2
/// pointers are used only on `io`.
final class SFTPStore: RemoteFileStore, @unchecked Sendable {
    private let io: BlockingQueue
    private let settings: RemoteFilesSettings
    private let socket: BlockingSocket
    private let session: OpaquePointer
    private let sftp: OpaquePointer
    private var server: String { settings.server }

    private static let libraryReady: Bool = libssh2_init(0) == 0

    private init(io: BlockingQueue, settings: RemoteFilesSettings, socket: BlockingSocket, session: OpaquePointer, sftp: OpaquePointer) {
        self.io = io
        self.settings = settings
        self.socket = socket
        self.session = session
        self.sftp = sftp
    }

    static func connect(_ settings: RemoteFilesSettings, acceptNewHostKey: Bool) async throws(RemoteFilesError) -> SFTPStore {
        let io = BlockingQueue(label: "tamas.remote-files.sftp")
        return try await run(on: io, server: settings.server) { () throws(RemoteFilesError) -> SFTPStore in
            try open(settings, acceptNewHostKey: acceptNewHostKey, io: io)
        }
    }

    private static func open(_ settings: RemoteFilesSettings, acceptNewHostKey: Bool, io: BlockingQueue) throws(RemoteFilesError) -> SFTPStore {
        let server = settings.server
        guard libraryReady else { throw .protocolFailure(server: server, reason: "libssh2 could not be initialised") }
        let socket = try BlockingSocket(host: settings.host, port: settings.port, server: server,
                                        connectTimeoutSeconds: settings.connectTimeoutSeconds, ioTimeoutSeconds: settings.timeoutSeconds)
        guard let session = libssh2_session_init_ex(nil, nil, nil, nil) else {
            throw .protocolFailure(server: server, reason: "libssh2 could not create a session")
        }
        do throws(RemoteFilesError) {
            libssh2_session_set_blocking(session, 1)
            libssh2_session_set_timeout(session, settings.timeoutSeconds * 1000)
            guard libssh2_session_handshake(session, socket.descriptor) == 0 else {
                throw failure(session, server: server, during: "the SSH handshake (is this an SSH server?)")
            }
            try checkHostKey(session, settings: settings, acceptNew: acceptNewHostKey)
            try authenticate(session, settings: settings)
            guard let sftp = libssh2_sftp_init(session) else {
                throw failure(session, server: server, during: "starting SFTP (is the sftp subsystem enabled in sshd_config?)")
            }
            return SFTPStore(io: io, settings: settings, socket: socket, session: session, sftp: sftp)
        } catch {
            libssh2_session_free(session)
            socket.close()
            throw error
        }
    }

    private static func checkHostKey(_ session: OpaquePointer, settings: RemoteFilesSettings, acceptNew: Bool) throws(RemoteFilesError) {
        guard let hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256) else {
            throw .hostKeyUnusable(server: settings.server, reason: "libssh2 gave no SHA-256 digest of the key")
        }
        let digest = hash.withMemoryRebound(to: UInt8.self, capacity: 32) { Array(UnsafeBufferPointer(start: $0, count: 32)) }
        let offered = KnownHosts.fingerprint(sha256: digest)
        _ = try KnownHosts(file: settings.knownHostsFile).check(server: settings.server, offered: offered, acceptNew: acceptNew)
    }

    private static func authenticate(_ session: OpaquePointer, settings: RemoteFilesSettings) throws(RemoteFilesError) {
        let user = settings.user
        let userLength = UInt32(user.utf8.count)
        let offered = libssh2_userauth_list(session, user, userLength).map { String(cString: $0) }
        if libssh2_userauth_authenticated(session) != 0 { return }
        let result: Int32
        let method: String
        switch settings.credential {
        case .password(let password):
            method = "password"
            result = libssh2_userauth_password_ex(session, user, userLength, password, UInt32(password.utf8.count), nil)
        case .privateKeyFile(let path, let passphrase):
            method = "publickey"
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw .authenticationFailed(server: settings.server, user: user, reason: "cannot read the private key file \(path)")
            }
            result = libssh2_userauth_publickey_fromfile_ex(session, user, userLength, nil, path, passphrase)
        }
        guard result != 0 else { return }
        let accepted = offered.map { "; the server accepts: \($0)" } ?? ""
        switch result {
        case LIBSSH2_ERROR_AUTHENTICATION_FAILED, LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
            let what = method == "password" ? "wrong password (or password logins are off for this user)" : "the key is not authorized for this user"
            throw .authenticationFailed(server: settings.server, user: user, reason: what + accepted)
        case LIBSSH2_ERROR_FILE:
            throw .authenticationFailed(server: settings.server, user: user, reason: "the private key file cannot be used (wrong passphrase or format)")
        case LIBSSH2_ERROR_TIMEOUT:
            throw .timedOut(server: settings.server, during: "the login")
        default:
            throw .authenticationFailed(server: settings.server, user: user, reason: lastError(session) + accepted)
        }
    }

    // MARK: - RemoteFileStore

    func list(folder: String) async throws(RemoteFilesError) -> [RemoteFile] {
        try await Self.run(on: io, server: server) { [self] () throws(RemoteFilesError) -> [RemoteFile] in
            guard let handle = libssh2_sftp_open_ex(sftp, folder, UInt32(folder.utf8.count), 0, 0, LIBSSH2_SFTP_OPENDIR) else {
                throw sftpFailure(path: folder, during: "opening the folder")
            }
            defer { libssh2_sftp_close_handle(handle) }
            var entries: [RemoteFile] = []
            var name = [CChar](repeating: 0, count: 1024)
            while true {
                var attributes = LIBSSH2_SFTP_ATTRIBUTES()
                let length = libssh2_sftp_readdir_ex(handle, &name, name.count, nil, 0, &attributes)
                guard length >= 0 else { throw sftpFailure(path: folder, during: "reading the folder") }
                guard length > 0 else { return entries }
                let entry = String(decoding: name.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                guard entry != ".", entry != ".." else { continue }
                entries.append(Self.file(path: FTPListing.join(folder, entry), attributes))
            }
        }
    }

    func stat(path: String) async throws(RemoteFilesError) -> RemoteFile {
        try await Self.run(on: io, server: server) { [self] () throws(RemoteFilesError) -> RemoteFile in
            var attributes = LIBSSH2_SFTP_ATTRIBUTES()
            guard libssh2_sftp_stat_ex(sftp, path, UInt32(path.utf8.count), LIBSSH2_SFTP_LSTAT, &attributes) == 0 else {
                throw sftpFailure(path: path, during: "stat")
            }
            return Self.file(path: path, attributes)
        }
    }

    func read(path: String, offset: Int64, length: Int64, chunkBytes: Int,
              deliver: @escaping @Sendable ([UInt8]) async throws -> Void) async throws {
        let handle = try await Self.run(on: io, server: server) { [self] () throws(RemoteFilesError) -> SFTPHandle in
            guard let handle = libssh2_sftp_open_ex(sftp, path, UInt32(path.utf8.count), UInt(LIBSSH2_FXF_READ), 0, LIBSSH2_SFTP_OPENFILE) else {
                throw sftpFailure(path: path, during: "opening the file")
            }
            libssh2_sftp_seek64(handle, UInt64(offset))
            return SFTPHandle(pointer: handle)
        }
        do {
            var remaining = length
            while remaining > 0 {
                let want = Int(min(Int64(chunkBytes), remaining))
                let bytes = try await Self.run(on: io, server: server) { [self] () throws(RemoteFilesError) -> [UInt8] in
                    var buffer = [UInt8](repeating: 0, count: want)
                    var filled = 0
                    while filled < want {
                        let count = buffer.withUnsafeMutableBytes {
                            libssh2_sftp_read(handle.pointer, $0.baseAddress?.assumingMemoryBound(to: CChar.self).advanced(by: filled), want - filled)
                        }
                        guard count >= 0 else { throw sftpFailure(path: path, during: "reading") }
                        guard count > 0 else { break }
                        filled += count
                    }
                    return Array(buffer.prefix(filled))
                }
                guard !bytes.isEmpty else { break }
                try await deliver(bytes)
                remaining -= Int64(bytes.count)
            }
        } catch {
            _ = try? await io.run { libssh2_sftp_close_handle(handle.pointer) }
            throw error
        }
        _ = try? await io.run { libssh2_sftp_close_handle(handle.pointer) }
    }

    func close() async {
        _ = try? await io.run { [self] in
            libssh2_sftp_shutdown(sftp)
            libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "tamas-agent done", "")
            libssh2_session_free(session)
            socket.close()
        }
    }

    // MARK: - Helpers

    /// libssh2's handle pointer, carried between queue calls; only ever used on `io`.
    private struct SFTPHandle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    private static func file(path: String, _ attributes: LIBSSH2_SFTP_ATTRIBUTES) -> RemoteFile {
        let kind: RemoteFile.Kind
        if attributes.flags & UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS) == 0 {
            kind = .other
        } else {
            switch attributes.permissions & UInt(LIBSSH2_SFTP_S_IFMT) {
            case UInt(LIBSSH2_SFTP_S_IFREG): kind = .file
            case UInt(LIBSSH2_SFTP_S_IFDIR): kind = .directory
            case UInt(LIBSSH2_SFTP_S_IFLNK): kind = .symbolicLink
            default: kind = .other
            }
        }
        let size = attributes.flags & UInt(LIBSSH2_SFTP_ATTR_SIZE) != 0 ? Int64(attributes.filesize) : 0
        let modified = attributes.flags & UInt(LIBSSH2_SFTP_ATTR_ACMODTIME) != 0 ? Date(timeIntervalSince1970: Double(attributes.mtime)) : nil
        return RemoteFile(path: path, kind: kind, size: size, modified: modified)
    }

    private func sftpFailure(path: String, during: String) -> RemoteFilesError {
        let code = libssh2_session_last_errno(session)
        guard code == LIBSSH2_ERROR_SFTP_PROTOCOL else {
            return code == LIBSSH2_ERROR_TIMEOUT ? .timedOut(server: server, during: "\(during) \(path)")
                : .failed(server: server, path: path, reason: "\(during): \(Self.lastError(session))")
        }
        switch UInt(libssh2_sftp_last_error(sftp)) {
        case UInt(LIBSSH2_FX_NO_SUCH_FILE), UInt(LIBSSH2_FX_NO_SUCH_PATH): return .notFound(server: server, path: path)
        case UInt(LIBSSH2_FX_PERMISSION_DENIED): return .permissionDenied(server: server, path: path)
        case let status: return .failed(server: server, path: path, reason: "\(during): SFTP status \(status)")
        }
    }

    private static func failure(_ session: OpaquePointer, server: String, during: String) -> RemoteFilesError {
        libssh2_session_last_errno(session) == LIBSSH2_ERROR_TIMEOUT
            ? .timedOut(server: server, during: during)
            : .protocolFailure(server: server, reason: "\(during) failed: \(lastError(session))")
    }

    private static func lastError(_ session: OpaquePointer) -> String {
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(session, &message, &length, 0)
        return message.map { "\(String(cString: $0)) (libssh2 \(code))" } ?? "libssh2 error \(code)"
    }

    /// Runs on the queue and narrows what comes back to `RemoteFilesError`.
    static func run<T: Sendable>(on io: BlockingQueue, server: String,
                                 _ body: @escaping @Sendable () throws(RemoteFilesError) -> T) async throws(RemoteFilesError) -> T {
        do {
            return try await io.run { try body() }
        } catch let error as RemoteFilesError {
            throw error
        } catch {
            throw .protocolFailure(server: server, reason: "\(error)")
        }
    }
}
