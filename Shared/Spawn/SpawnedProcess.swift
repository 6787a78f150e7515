import Glibc
import Synchronization

/// A child process started with `posix_spawn`, for everything Tamas runs itself (the demo's agent,
/// benchmark scripts, the tools the tests drive).
///
/// Foundation's `Process.run()` in Swift 6.3.1 for Linux crashes now and then (SIGSEGV in
/// `findMaximumOpenFromProcSelfFD`, which copies 256 bytes of every `/proc/self/fd` entry and reads
/// past glibc's buffer when the next page is unmapped; swift-corelibs-foundation PR #5472). A test
/// run that starts a few hundred processes hit it; this type never lists `/proc/self/fd`: the child
/// closes every descriptor from 3 up with `posix_spawn_file_actions_addclosefrom_np`.
///
/// Every process is reaped exactly once, by `waitpid` on its own pid (never `-1`), so it can live
/// beside other code that starts children.
public final class SpawnedProcess: Sendable {
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// How the child ended: its exit code, or the signal that ended it.
    public enum Termination: Equatable, Sendable {
        case exited(Int32)
        case signalled(Int32)

        /// The exit code, or the signal's number (what Foundation's `terminationStatus` said).
        public var status: Int32 {
            switch self {
            case .exited(let code), .signalled(let code): code
            }
        }
    }

    public let pid: pid_t
    public let executable: String
    /// Set once, when the child is reaped.
    private let ended = Mutex<Termination?>(nil)

    /// Starts `executable` (an absolute path) with `arguments`. The child's standard input, output
    /// and error are the given descriptors (which the caller keeps and closes), or this process's
    /// own where nil. `environment` nil passes this process's environment on.
    public init(executable: String, arguments: [String], environment: [String: String]? = nil,
                standardInput: Int32? = nil, standardOutput: Int32? = nil, standardError: Int32? = nil) throws {
        guard let closeFrom = Self.addCloseFrom else {
            throw Failure(description: "cannot start \(executable): this C library has no posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later has it)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (descriptor, target) in [(standardInput, STDIN_FILENO), (standardOutput, STDOUT_FILENO), (standardError, STDERR_FILENO)] {
            if let descriptor { posix_spawn_file_actions_adddup2(&actions, descriptor, target) }
        }
        _ = closeFrom(&actions, 3)
        // The child starts as from a shell: nothing blocked, nothing ignored. Threads of this
        // process block signals they handle elsewhere (SIGTERM for a graceful stop) and the
        // runtime ignores SIGPIPE; inherited, a child would never see either.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } }
        defer {
            argv.forEach { free($0) }
            envp?.forEach { free($0) }
        }
        var child: pid_t = 0
        var argumentList = argv + [nil]
        let variables = envp.map { $0 + [nil] }
        let result = argumentList.withUnsafeMutableBufferPointer { arguments -> Int32 in
            guard let arguments = arguments.baseAddress else { return EINVAL }
            guard var variableList = variables else { return posix_spawn(&child, executable, &actions, &attributes, arguments, environ) }
            return variableList.withUnsafeMutableBufferPointer { variables -> Int32 in
                guard let variables = variables.baseAddress else { return EINVAL }
                return posix_spawn(&child, executable, &actions, &attributes, arguments, variables)
            }
        }
        guard result == 0 else {
            throw Failure(description: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
        self.executable = executable
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            _ = waitUntilExit()
        }
    }

    /// How it ended, reaping it if it has; nil while it runs.
    public var termination: Termination? {
        ended.withLock { ended in
            if let ended { return ended }
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid {
                // WIFEXITED / WEXITSTATUS / WTERMSIG, C macros Swift does not import.
                let signal = status & 0x7F
                ended = signal == 0 ? .exited((status >> 8) & 0xFF) : .signalled(signal)
            } else if reaped < 0, errno != EINTR {
                ended = .exited(-1)
            }
            return ended
        }
    }

    public var isRunning: Bool { termination == nil }

    public func signal(_ number: Int32) {
        guard isRunning else { return }
        kill(pid, number)
    }

    /// Blocks until the child has ended. The wait itself leaves the child unreaped (`WNOWAIT`)
    /// and holds no lock, so other threads can still look at it or signal it meanwhile.
    @discardableResult
    public func waitUntilExit() -> Termination {
        while true {
            if let ended = termination { return ended }
            var info = siginfo_t()
            _ = waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT)
        }
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// Not in the headers Swift imports (it needs `_GNU_SOURCE`), so looked up once.
    private static let addCloseFrom: AddCloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: AddCloseFrom.self) }
}
