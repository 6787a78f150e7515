import Foundation
import RemoteFiles
import TestSupport
import XCTest

/// Collects what a store delivers.
actor Received {
    private(set) var bytes: [UInt8] = []
    private(set) var pieces: [Int] = []

    func add(_ piece: [UInt8]) {
        bytes += piece
        pieces.append(piece.count)
    }
}

func recordingBytes(_ count: Int, seed: UInt8) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ ($0 >> 8)) }
}

/// SFTP over libssh2 against Debian's OpenSSH server, started on a loopback port with its own
/// host key and authorized key.
final class SFTPStoreTests: XCTestCase {
    var folder: URL!
    var server: SSHServerUnderTest!
    var recordings: URL!

    override func setUpWithError() throws {
        try requireInstalled(SSHServerUnderTest.isInstalled, "openssh-server (/usr/sbin/sshd)")
        folder = try temporaryFolder("sftp")
        recordings = folder.appendingPathComponent("monitor/2024/01/02")
        try FileManager.default.createDirectory(at: recordings, withIntermediateDirectories: true)
        server = try SSHServerUnderTest(folder: folder)
        try server.start()
    }

    override func tearDown() {
        server?.stop()
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    func settings(_ credential: RemoteFilesSettings.Credential? = nil) -> RemoteFilesSettings {
        RemoteFilesSettings(transfer: .sftp, host: "127.0.0.1", port: server.port, user: server.user,
                            credential: credential ?? .privateKeyFile(path: server.clientKey.path, passphrase: nil),
                            connectTimeoutSeconds: 5, timeoutSeconds: 10,
                            knownHostsFile: folder.appendingPathComponent("data/known_hosts").path)
    }

    func connectError(_ settings: RemoteFilesSettings, acceptNewHostKey: Bool = false) async -> RemoteFilesError? {
        do {
            let store = try await RemoteFiles.connect(settings, acceptNewHostKey: acceptNewHostKey)
            await store.close()
            return nil
        } catch {
            return error
        }
    }

    func testKeyLoginListsAndDownloadsByteForByteAndByRange() async throws {
        let content = recordingBytes(700_000, seed: 7)
        let older = recordings.appendingPathComponent("in-200-09121234567-20240102-033000-1704166200.77.wav")
        let newer = recordings.appendingPathComponent("out-09121234567-201-20240102-040000-1704168000.80.wav")
        try Data(content).write(to: older)
        try Data(recordingBytes(1000, seed: 9)).write(to: newer)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_704_166_300)], ofItemAtPath: older.path)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_704_168_100)], ofItemAtPath: newer.path)

        let store = try await RemoteFiles.connect(settings())
        let listing = try await store.list(folder: recordings.path)
        XCTAssertEqual(Set(listing.map(\.name)), [older.lastPathComponent, newer.lastPathComponent])
        let newest = try await store.newestFiles(in: recordings.path, count: 5)
        XCTAssertEqual(newest.map(\.name), [newer.lastPathComponent, older.lastPathComponent])
        XCTAssertEqual(newest.last?.size, 700_000)
        XCTAssertEqual(newest.last?.modified, Date(timeIntervalSince1970: 1_704_166_300))

        let facts = try await store.stat(path: older.path)
        XCTAssertEqual(facts.kind, .file)
        XCTAssertEqual(facts.size, Int64(content.count))

        let whole = Received()
        try await store.read(path: older.path, offset: 0, length: Int64(content.count), chunkBytes: 256 * 1024) { await whole.add($0) }
        let wholeBytes = await whole.bytes
        XCTAssertEqual(wholeBytes, content, "the download matches the file byte for byte")
        let pieces = await whole.pieces
        XCTAssertTrue(pieces.allSatisfy { $0 <= 256 * 1024 }, "\(pieces)")

        let range = Received()
        try await store.read(path: older.path, offset: 300_000, length: 1000, chunkBytes: 256 * 1024) { await range.add($0) }
        let rangeBytes = await range.bytes
        XCTAssertEqual(rangeBytes, Array(content[300_000..<301_000]))

        let tail = Received()
        try await store.read(path: older.path, offset: 699_990, length: 100, chunkBytes: 4) { await tail.add($0) }
        let tailBytes = await tail.bytes
        XCTAssertEqual(tailBytes, Array(content[699_990...]), "a range past the end stops at the end")

        do {
            _ = try await store.stat(path: recordings.appendingPathComponent("missing.wav").path)
            XCTFail("a missing file has no facts")
        } catch {
            XCTAssertEqual(error, .notFound(server: "127.0.0.1:\(server.port)", path: recordings.appendingPathComponent("missing.wav").path))
        }
        await store.close()

        let pins = try KnownHosts(file: settings().knownHostsFile).entries()
        XCTAssertEqual(pins, ["127.0.0.1:\(server.port)": server.hostKeyFingerprint], "the host key is pinned on first use, as ssh-keygen -l shows it")
        let mode = try FileManager.default.attributesOfItem(atPath: settings().knownHostsFile)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
    }

    func testWrongPasswordAndUnauthorizedKeyAreRefusedClearly() async throws {
        let password = "wrong-\(UUID().uuidString)"
        let refused = await connectError(settings(.password(password)))
        guard case .authenticationFailed(let server, let user, let reason)? = refused else {
            return XCTFail("expected a refused login, got \(String(describing: refused))")
        }
        XCTAssertEqual(server, "127.0.0.1:\(self.server.port)")
        XCTAssertEqual(user, self.server.user)
        XCTAssertTrue(reason.contains("wrong password"), reason)
        XCTAssertFalse(refused?.description.contains(password) ?? true, "the password is never shown")

        let stranger = folder.appendingPathComponent("stranger_ed25519")
        try runTool("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", stranger.path])
        let wrongKey = await connectError(settings(.privateKeyFile(path: stranger.path, passphrase: nil)))
        guard case .authenticationFailed(_, _, let keyReason)? = wrongKey else {
            return XCTFail("expected a refused key, got \(String(describing: wrongKey))")
        }
        XCTAssertTrue(keyReason.contains("not authorized"), keyReason)
    }

    func testChangedHostKeyIsRefusedLoudlyUntilAcceptedOnPurpose() async throws {
        let firstFingerprint = server.hostKeyFingerprint
        let first = await connectError(settings())
        XCTAssertNil(first)

        server.stop()
        try server.newHostKey()
        try server.start()
        XCTAssertNotEqual(server.hostKeyFingerprint, firstFingerprint)

        let changed = await connectError(settings())
        XCTAssertEqual(changed, .hostKeyChanged(server: "127.0.0.1:\(server.port)", pinned: firstFingerprint,
                                                offered: server.hostKeyFingerprint, knownHostsFile: settings().knownHostsFile))
        let text = changed?.description ?? ""
        for part in ["CHANGED", firstFingerprint, server.hostKeyFingerprint, "--accept-new-host-key", settings().knownHostsFile] {
            XCTAssertTrue(text.contains(part), "'\(part)' in: \(text)")
        }
        XCTAssertEqual(try KnownHosts(file: settings().knownHostsFile).entries().values.first, firstFingerprint,
                       "a refused key is not pinned")

        let accepted = await connectError(settings(), acceptNewHostKey: true)
        XCTAssertNil(accepted)
        XCTAssertEqual(try KnownHosts(file: settings().knownHostsFile).entries()["127.0.0.1:\(server.port)"], server.hostKeyFingerprint)
        let afterwards = await connectError(settings())
        XCTAssertNil(afterwards, "the newly accepted key is the pin from now on")
    }

    func testNoServerIsAClearConnectError() async throws {
        var closed = settings()
        closed.port = freeLoopbackPort()
        let refused = await connectError(closed)
        guard case .cannotConnect(let server, _)? = refused else { return XCTFail("\(String(describing: refused))") }
        XCTAssertEqual(server, "127.0.0.1:\(closed.port)")
    }
}

/// Passive FTP against pyftpdlib (PyPI) on a loopback port.
final class FTPStoreTests: XCTestCase {
    var folder: URL!
    var server: FTPServerUnderTest!

    override func setUpWithError() throws {
        try requireInstalled(FTPServerUnderTest.isInstalled, "pyftpdlib (python3 -m pip install pyftpdlib)")
        folder = try temporaryFolder("ftp")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("monitor/2024/01/02"), withIntermediateDirectories: true)
        server = try FTPServerUnderTest(root: folder)
    }

    override func tearDown() {
        server?.stop()
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    func settings(password: String? = nil) -> RemoteFilesSettings {
        RemoteFilesSettings(transfer: .ftp, host: "127.0.0.1", port: server.port, user: server.user,
                            credential: .password(password ?? server.password), connectTimeoutSeconds: 5, timeoutSeconds: 10,
                            knownHostsFile: folder.appendingPathComponent("known_hosts").path)
    }

    func testListsAndDownloadsWholeFilesAndRanges() async throws {
        let content = recordingBytes(600_000, seed: 3)
        let day = folder.appendingPathComponent("monitor/2024/01/02")
        try Data(content).write(to: day.appendingPathComponent("in-200-0912-20240102-033000-1704166200.77.wav"))
        try Data(recordingBytes(10, seed: 1)).write(to: day.appendingPathComponent("exten-201-202-20240102-040000-1704168000.80.wav"))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_704_166_300)],
                                              ofItemAtPath: day.appendingPathComponent("in-200-0912-20240102-033000-1704166200.77.wav").path)

        let store = try await RemoteFiles.connect(settings())
        let newest = try await store.newestFiles(in: "/monitor/2024/01/02", count: 10)
        XCTAssertEqual(newest.map(\.name), ["exten-201-202-20240102-040000-1704168000.80.wav", "in-200-0912-20240102-033000-1704166200.77.wav"])
        XCTAssertEqual(newest.last?.size, 600_000)
        XCTAssertEqual(newest.last?.modified, Date(timeIntervalSince1970: 1_704_166_300))
        let folders = try await store.list(folder: "/monitor/2024")
        XCTAssertEqual(folders.map(\.kind), [.directory])

        let path = "/monitor/2024/01/02/in-200-0912-20240102-033000-1704166200.77.wav"
        let facts = try await store.stat(path: path)
        XCTAssertEqual(facts.size, 600_000)
        XCTAssertEqual(facts.modified, Date(timeIntervalSince1970: 1_704_166_300))
        await store.close()

        let download = try await RemoteFiles.connect(settings())
        let whole = Received()
        try await download.read(path: path, offset: 0, length: 600_000, chunkBytes: 256 * 1024) { await whole.add($0) }
        let wholeBytes = await whole.bytes
        XCTAssertEqual(wholeBytes, content, "byte for byte")
        await download.close()

        let ranged = try await RemoteFiles.connect(settings())
        let range = Received()
        try await ranged.read(path: path, offset: 123_456, length: 5000, chunkBytes: 1024) { await range.add($0) }
        let rangeBytes = await range.bytes
        XCTAssertEqual(rangeBytes, Array(content[123_456..<128_456]), "REST + RETR, stopped after the range")
        do {
            _ = try await ranged.stat(path: "/monitor/nothing.wav")
            XCTFail("no such file")
        } catch {
            XCTAssertEqual(error, .notFound(server: "127.0.0.1:\(server.port)", path: "/monitor/nothing.wav"),
                           "the connection stays in step after a transfer cut short")
        }
        let again = try await ranged.stat(path: path)
        XCTAssertEqual(again.size, 600_000)
        await ranged.close()
    }

    func testWrongPasswordIsRefusedClearly() async throws {
        let password = "not-\(UUID().uuidString)"
        do {
            let store = try await RemoteFiles.connect(settings(password: password))
            await store.close()
            XCTFail("a wrong password logs in")
        } catch {
            guard case .authenticationFailed(let server, let user, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(server, "127.0.0.1:\(self.server.port)")
            XCTAssertEqual(user, "recordings")
            XCTAssertTrue(reason.hasPrefix("530"), reason)
            XCTAssertFalse(error.description.contains(password))
        }
    }
}
