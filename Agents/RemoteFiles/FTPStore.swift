import AgentCore
import Foundation

/// FTP in passive mode (EPSV, else PASV) over blocking sockets on the store's own
/// `BlockingQueue`, for PBXs without SSH (MyPBX). The conversation itself is `FTPReplyReader`,
/// `FTPLogin`, `FTPPassive` and `FTPListing`; this only moves bytes. `@unchecked Sendable`
/// because its mutable state (the reply reader, queued replies) is touched only on `io`.
final class FTPStore: RemoteFileStore, @unchecked Sendable {
    private let io: BlockingQueue
    private let settings: RemoteFilesSettings
    private let control: BlockingSocket
    private var reader = FTPReplyReader()
    private var queued: [FTPReply] = []
    private var extendedPassiveRefused = false
    private var server: String { settings.server }

    private init(io: BlockingQueue, settings: RemoteFilesSettings, control: BlockingSocket) {
        self.io = io
        self.settings = settings
        self.control = control
    }

    static func connect(_ settings: RemoteFilesSettings) async throws(RemoteFilesError) -> FTPStore {
        let io = BlockingQueue(label: "tamas.remote-files.ftp")
        return try await SFTPStore.run(on: io, server: settings.server) { () throws(RemoteFilesError) -> FTPStore in
            guard case .password(let password) = settings.credential else {
                throw .authenticationFailed(server: settings.server, user: settings.user, reason: "FTP logs in with a password, not a key file")
            }
            let control = try BlockingSocket(host: settings.host, port: settings.port, server: settings.server,
                                             connectTimeoutSeconds: settings.connectTimeoutSeconds, ioTimeoutSeconds: settings.timeoutSeconds)
            let store = FTPStore(io: io, settings: settings, control: control)
            try store.logIn(password: password)
            return store
        }
    }

    private func logIn(password: String) throws(RemoteFilesError) {
        var login = FTPLogin(user: settings.user, password: password)
        while true {
            let reply = try nextReply(during: "the login")
            switch login.receive(reply) {
            case .wait: continue
            case .ready: return
            case .send(let verb, let argument): try send(verb, argument, during: "the login")
            case .failed(.refused(let reply)):
                throw .authenticationFailed(server: server, user: settings.user, reason: "\(reply.code) \(reply.text)")
            case .failed(.unavailable(let reply)):
                throw .protocolFailure(server: server, reason: "the FTP server is not available: \(reply.code) \(reply.text)")
            case .failed(.unexpected(let reply)):
                throw .protocolFailure(server: server, reason: "unexpected answer during the login: \(reply.code) \(reply.text)")
            }
        }
    }

    // MARK: - RemoteFileStore

    func list(folder: String) async throws(RemoteFilesError) -> [RemoteFile] {
        try await SFTPStore.run(on: io, server: server) { [self] () throws(RemoteFilesError) -> [RemoteFile] in
            let now = Date()
            if let lines = try transferLines(verb: "MLSD", path: folder) {
                return lines.compactMap { FTPListing.parseMLSD($0, folder: folder) }
            }
            guard let lines = try transferLines(verb: "LIST", path: folder) else {
                throw .failed(server: server, path: folder, reason: "the server can list folders neither with MLSD nor with LIST")
            }
            return lines.compactMap { FTPListing.parseUnixList($0, folder: folder, now: now) }
        }
    }

    func stat(path: String) async throws(RemoteFilesError) -> RemoteFile {
        try await SFTPStore.run(on: io, server: server) { [self] () throws(RemoteFilesError) -> RemoteFile in
            let described = try command("MLST", path, during: "MLST \(path)")
            if let file = FTPListing.parseMLST(described, path: path) { return file }
            guard [500, 501, 502, 504].contains(described.code) else { throw fileFailure(described, path: path) }
            // Servers without MLST (RFC 3659): SIZE answers only for files, CWD only for folders.
            let size = try command("SIZE", path, during: "SIZE \(path)")
            guard size.code == 213, let bytes = Int64(size.text.trimmingCharacters(in: .whitespaces)) else {
                let folder = try command("CWD", path, during: "CWD \(path)")
                guard folder.isCompletion else { throw fileFailure(size, path: path) }
                return RemoteFile(path: path, kind: .directory, size: 0, modified: nil)
            }
            let time = try command("MDTM", path, during: "MDTM \(path)")
            let modified = time.code == 213 ? FTPListing.parseTime(time.text.trimmingCharacters(in: .whitespaces)) : nil
            return RemoteFile(path: path, kind: .file, size: bytes, modified: modified)
        }
    }

    func read(path: String, offset: Int64, length: Int64, chunkBytes: Int,
              deliver: @escaping @Sendable ([UInt8]) async throws -> Void) async throws {
        let data = try await SFTPStore.run(on: io, server: server) { [self] () throws(RemoteFilesError) -> BlockingSocket in
            let data = try openPassive()
            do throws(RemoteFilesError) {
                if offset > 0 {
                    let restart = try command("REST", String(offset), during: "REST")
                    guard restart.code == 350 else {
                        throw .failed(server: server, path: path, reason: "the server cannot resume at byte \(offset): \(restart.code) \(restart.text)")
                    }
                }
                let start = try command("RETR", path, during: "RETR \(path)")
                guard start.isPreliminary else { throw fileFailure(start, path: path) }
                return data
            } catch {
                data.close()
                throw error
            }
        }
        var remaining = length
        defer { data.close() }
        while remaining > 0 {
            let want = Int(min(Int64(chunkBytes), remaining))
            let bytes = try await SFTPStore.run(on: io, server: server) { () throws(RemoteFilesError) -> [UInt8] in
                var buffer: [UInt8] = []
                while buffer.count < want {
                    let piece = try data.receive(maximum: want - buffer.count, during: "downloading \(path)")
                    guard !piece.isEmpty else { break }
                    buffer += piece
                }
                return buffer
            }
            guard !bytes.isEmpty else { break }
            try await deliver(bytes)
            remaining -= Int64(bytes.count)
        }
        // The transfer's final reply (226, or 426 when the range ended before the file did and
        // the data connection was closed early) must be read, or it would answer the next command.
        try await SFTPStore.run(on: io, server: server) { [self] () throws(RemoteFilesError) in
            data.close()
            _ = try nextReply(during: "the end of RETR \(path)")
        }
    }

    func close() async {
        _ = try? await io.run { [self] in
            try? send("QUIT", nil, during: "QUIT")
            control.close()
        }
    }

    // MARK: - Conversation

    private func send(_ verb: String, _ argument: String?, during: String) throws(RemoteFilesError) {
        let line: [UInt8]
        do {
            line = try FTPCommand.line(verb, argument)
        } catch {
            throw .failed(server: server, path: argument ?? verb, reason: error.description)
        }
        try control.send(line, during: during)
    }

    private func nextReply(during: String) throws(RemoteFilesError) -> FTPReply {
        while queued.isEmpty {
            let bytes = try control.receive(maximum: 16 * 1024, during: during)
            guard !bytes.isEmpty else { throw .protocolFailure(server: server, reason: "the FTP server closed the connection during \(during)") }
            do {
                queued += try reader.feed(bytes)
            } catch {
                throw .protocolFailure(server: server, reason: error.description)
            }
        }
        return queued.removeFirst()
    }

    /// Sends one command and returns its first reply (a preliminary one for transfers).
    private func command(_ verb: String, _ argument: String?, during: String) throws(RemoteFilesError) -> FTPReply {
        try send(verb, argument, during: during)
        return try nextReply(during: during)
    }

    private func openPassive() throws(RemoteFilesError) -> BlockingSocket {
        let host = control.peerAddress ?? settings.host
        if !extendedPassiveRefused {
            let reply = try command("EPSV", nil, during: "EPSV")
            if let port = FTPPassive.parse229(reply) { return try dataSocket(host: host, port: port) }
            extendedPassiveRefused = true
        }
        let reply = try command("PASV", nil, during: "PASV")
        guard let (_, port) = FTPPassive.parse227(reply) else {
            throw .protocolFailure(server: server, reason: "passive mode refused: \(reply.code) \(reply.text)")
        }
        return try dataSocket(host: host, port: port)
    }

    private func dataSocket(host: String, port: Int) throws(RemoteFilesError) -> BlockingSocket {
        try BlockingSocket(host: host, port: port, server: "\(server) (data port \(port))",
                           connectTimeoutSeconds: settings.connectTimeoutSeconds, ioTimeoutSeconds: settings.timeoutSeconds)
    }

    /// A listing's lines; nil when the server does not know the command (502, 500, 504).
    private func transferLines(verb: String, path: String) throws(RemoteFilesError) -> [String]? {
        let data = try openPassive()
        defer { data.close() }
        let start = try command(verb, path, during: "\(verb) \(path)")
        if [500, 502, 504].contains(start.code) { return nil }
        guard start.isPreliminary else { throw fileFailure(start, path: path) }
        var bytes: [UInt8] = []
        while true {
            let piece = try data.receive(maximum: 64 * 1024, during: "\(verb) \(path)")
            guard !piece.isEmpty else { break }
            bytes += piece
        }
        let done = try nextReply(during: "\(verb) \(path)")
        guard done.isCompletion else { throw fileFailure(done, path: path) }
        return String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
    }

    private func fileFailure(_ reply: FTPReply, path: String) -> RemoteFilesError {
        reply.fileProblem(server: server, path: path)
    }
}
