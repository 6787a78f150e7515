import Foundation
import XCTest

/// A system program run by a test (sshd, python3), killed and reaped when dropped. Spawned with
/// posix_spawn rather than Foundation's Process: sshd closes every inherited descriptor at start,
/// which Foundation reads as the child's exit and then blocks its process-watching thread in
/// waitpid, so no other Process in the test would ever be seen to finish.
public final class ServerProcess: @unchecked Sendable {
    public let pid: pid_t
    private let logFile: URL
    private let lock = NSLock()
    private var reaped = false

    public init(_ executable: String, _ arguments: [String]) throws {
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("tamas-server-\(UUID().uuidString.prefix(8)).log")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, nil, argv, environ)
        guard status == 0 else {
            throw NSError(domain: "ServerProcess", code: Int(status), userInfo: [NSLocalizedDescriptionKey: "cannot start \(executable): \(String(cString: strerror(status)))"])
        }
        pid = child
    }

    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    public var isRunning: Bool {
        lock.withLock {
            guard !reaped else { return false }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { reaped = true }
            return !reaped
        }
    }

    public func stop() {
        lock.withLock {
            guard !reaped else { return }
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            reaped = true
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: logFile)
    }
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
public func waitForListener(port: Int, timeout: Double) -> Bool {
    eventually(timeout: timeout, every: 0.05) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

/// Debian's OpenSSH server on a loopback port with its own config, host key and authorized
/// keys in a temporary folder (deploy/install-deps.sh --test installs openssh-server). The
/// user is the one running the tests (root here and in CI).
public final class SSHServerUnderTest: @unchecked Sendable {
    public static let sshd = "/usr/sbin/sshd"
    public let folder: URL
    public let port: Int
    public let user: String
    /// The client key whose public half is authorized (OpenSSH ed25519 format).
    public let clientKey: URL
    private(set) public var hostKeyFingerprint = ""
    private var process: ServerProcess?

    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: sshd) }

    public init(folder: URL) throws {
        self.folder = folder
        port = freeLoopbackPort()
        user = ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? String(cString: getpwuid(getuid()).pointee.pw_name)
        clientKey = folder.appendingPathComponent("client_ed25519")
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        try runTool("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "tamas-test-client", "-f", clientKey.path])
        try FileManager.default.copyItem(at: folder.appendingPathComponent("client_ed25519.pub"),
                                         to: folder.appendingPathComponent("authorized_keys"))
        try newHostKey()
        let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(folder.appendingPathComponent("host_ed25519").path)
            PidFile \(folder.appendingPathComponent("sshd.pid").path)
            AuthorizedKeysFile \(folder.appendingPathComponent("authorized_keys").path)
            StrictModes no
            UsePAM no
            PermitRootLogin yes
            PasswordAuthentication yes
            KbdInteractiveAuthentication no
            Subsystem sftp internal-sftp
            LogLevel VERBOSE

            """
        try config.write(to: folder.appendingPathComponent("sshd_config"), atomically: true, encoding: .utf8)
    }

    /// Replaces the host key (as a reinstalled server would); takes effect at the next start.
    public func newHostKey() throws {
        let key = folder.appendingPathComponent("host_ed25519")
        try? FileManager.default.removeItem(at: key)
        try? FileManager.default.removeItem(at: folder.appendingPathComponent("host_ed25519.pub"))
        try runTool("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key.path])
        let line = try runTool("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", key.path + ".pub"])
        hostKeyFingerprint = line.split(separator: " ").first { $0.hasPrefix("SHA256:") }.map(String.init) ?? ""
    }

    public func start(file: StaticString = #filePath, line: UInt = #line) throws {
        process = try ServerProcess(Self.sshd, ["-D", "-e", "-f", folder.appendingPathComponent("sshd_config").path])
        guard waitForListener(port: port, timeout: 15) else {
            XCTFail("sshd did not listen on \(port): \(process?.log ?? "")", file: file, line: line)
            return
        }
    }

    public func stop() {
        process?.stop()
        process = nil
    }

    public var log: String { process?.log ?? "" }

    deinit {
        stop()
    }
}

/// pyftpdlib (PyPI; deploy/install-deps.sh --test installs it) on a loopback port: one user with
/// a password, read-only on `root`, passive ports from a range of its own.
public final class FTPServerUnderTest: @unchecked Sendable {
    public let port: Int
    public let user = "recordings"
    public let password = "ftp-pass-\(UUID().uuidString.prefix(8))"
    private var process: ServerProcess?

    public static var isInstalled: Bool {
        (try? runToolAllowingFailure("/usr/bin/env", ["python3", "-c", "import pyftpdlib"]).status) == 0
    }

    public init(root: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        port = freeLoopbackPort()
        let passiveStart = 40_000 + Int.random(in: 0..<20_000)
        let script = """
            import logging
            from pyftpdlib.authorizers import DummyAuthorizer
            from pyftpdlib.handlers import FTPHandler
            from pyftpdlib.servers import FTPServer
            logging.basicConfig(level=logging.INFO)
            authorizer = DummyAuthorizer()
            authorizer.add_user(\(Self.python(user)), \(Self.python(password)), \(Self.python(root.path)), perm="elr")
            handler = FTPHandler
            handler.authorizer = authorizer
            handler.passive_ports = range(\(passiveStart), \(passiveStart + 50))
            handler.permit_foreign_addresses = False
            FTPServer(("127.0.0.1", \(port)), handler).serve_forever()
            """
        process = try ServerProcess("/usr/bin/env", ["python3", "-c", script])
        guard waitForListener(port: port, timeout: 20) else {
            XCTFail("pyftpdlib did not listen on \(port): \(process?.log ?? "")", file: file, line: line)
            return
        }
    }

    private static func python(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    public var log: String { process?.log ?? "" }

    public func stop() {
        process?.stop()
    }

    deinit {
        stop()
    }
}

/// Skips a test whose server program is missing on a developer's machine, but fails it under CI
/// (`CI` set), where `deploy/install-deps.sh --test` must have installed it: a green run must
/// never hide a missing install step.
public func requireInstalled(_ installed: Bool, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
    guard !installed else { return }
    let message = "\(what) is not installed: run deploy/install-deps.sh --test"
    if ProcessInfo.processInfo.environment["CI"] != nil {
        XCTFail(message, file: file, line: line)
    }
    throw XCTSkip(message)
}
