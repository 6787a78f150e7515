import Foundation
import Spawn
import XCTest

final class SpawnedProcessTests: XCTestCase {
    private func run(_ script: String, environment: [String: String]? = nil, input: String = "") throws -> (SpawnedProcess.Termination, String) {
        let output = Pipe()
        let inputPipe = Pipe()
        let process = try SpawnedProcess(executable: "/bin/sh", arguments: ["-c", script], environment: environment,
                                         standardInput: inputPipe.fileHandleForReading.fileDescriptor,
                                         standardOutput: output.fileHandleForWriting.fileDescriptor)
        try output.fileHandleForWriting.close()
        try inputPipe.fileHandleForReading.close()
        inputPipe.fileHandleForWriting.write(Data(input.utf8))
        try inputPipe.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.waitUntilExit(), text)
    }

    func testExitCodeOutputInputAndEnvironment() throws {
        let (ended, text) = try run(#"read line; echo "$line $GREETING"; exit 3"#, environment: ["GREETING": "salam"], input: "hello\n")
        XCTAssertEqual(ended, .exited(3))
        XCTAssertEqual(text, "hello salam\n")
    }

    func testWithoutAnEnvironmentTheChildGetsThisOne() throws {
        let (ended, text) = try run("echo $HOME")
        XCTAssertEqual(ended, .exited(0))
        XCTAssertEqual(text, (ProcessInfo.processInfo.environment["HOME"] ?? "") + "\n")
    }

    /// Only standard input, output and error reach the child, whatever this process has open:
    /// an inherited pipe end would keep another child's reader from ever seeing its end.
    func testTheChildInheritsNoOtherDescriptor() throws {
        let stray = Pipe()
        defer { try? stray.fileHandleForWriting.close() }
        let (ended, text) = try run("ls /proc/$$/fd")
        XCTAssertEqual(ended, .exited(0))
        XCTAssertEqual(text.split(separator: "\n").sorted(), ["0", "1", "2"], "stray pipe: \(stray.fileHandleForWriting.fileDescriptor)")
    }

    func testASignalWhileAnotherThreadWaitsEndsTheChildAndBothSeeIt() throws {
        let process = try SpawnedProcess(executable: "/bin/sleep", arguments: ["30"])
        XCTAssertTrue(process.isRunning)
        let waited = expectation(description: "the waiting thread returns")
        Thread.detachNewThread {
            XCTAssertEqual(process.waitUntilExit(), .signalled(SIGTERM))
            waited.fulfill()
        }
        usleep(200_000)
        process.signal(SIGTERM)
        wait(for: [waited], timeout: 10)
        XCTAssertEqual(process.termination, .signalled(SIGTERM))
        XCTAssertFalse(process.isRunning)
    }

    /// Whatever this thread blocks or the runtime ignores, the child starts with nothing blocked
    /// and the default actions, so a plain SIGTERM stops it.
    func testTheChildStartsWithNoSignalBlockedOrIgnored() throws {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        let ignored = signal(SIGPIPE, SIG_IGN)
        defer {
            pthread_sigmask(SIG_SETMASK, &previous, nil)
            signal(SIGPIPE, ignored)
        }
        let (ended, text) = try run("exec grep -E '^Sig(Blk|Ign)' /proc/self/status")
        XCTAssertEqual(ended, .exited(0))
        let masks = Dictionary(uniqueKeysWithValues: text.split(separator: "\n").compactMap { line -> (String, UInt64)? in
            let parts = line.split(separator: "\t")
            guard parts.count == 2, let mask = UInt64(parts[1], radix: 16) else { return nil }
            return (String(parts[0]), mask)
        })
        XCTAssertEqual(masks["SigBlk:"], 0, text)
        for number in [SIGTERM, SIGPIPE, SIGINT] {
            XCTAssertEqual((masks["SigIgn:"] ?? 0) & (1 << UInt64(number - 1)), 0, "signal \(number) ignored: \(text)")
        }
    }

    func testAMissingProgramIsAClearError() {
        XCTAssertThrowsError(try SpawnedProcess(executable: "/nonexistent/tool", arguments: [])) { error in
            XCTAssertEqual("\(error)", "cannot start /nonexistent/tool: No such file or directory")
        }
    }
}
