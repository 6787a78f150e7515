import AgentCore
import Foundation
import XCTest

/// `ByteInput` on a named pipe: the integration point a program outside Tamas writes to, one
/// writer after another, for as long as the agent runs.
final class ByteInputTests: XCTestCase {
    override func setUp() {
        // A write to a pipe nobody reads must come back as EPIPE for the test to report, not
        // kill the test process.
        signal(SIGPIPE, SIG_IGN)
    }

    func makeNamedPipe() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("byte-input-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("feed.fifo").path
        XCTAssertEqual(mkfifo(path, 0o600), 0, String(cString: strerror(errno)))
        return path
    }

    /// Reads until `expected` bytes have arrived or `timeout` seconds pass, and returns what
    /// arrived. The reads run in a task of their own: one blocked on a pipe cannot be cancelled.
    static func read(_ input: ByteInput, expected: Int, timeout: Double) async throws -> [UInt8] {
        let received = ReceivedBytes()
        let reader = Task {
            while received.count < expected, let chunk = try await input.next() { received.append(chunk) }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while received.count < expected, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if received.count >= expected { try await reader.value }
        return received.bytes
    }

    /// One writer's visit: opens the pipe (waiting for a reader, like a blocking open would, but
    /// giving up after 10 s), writes `text` and closes it.
    static func writeSession(_ path: String, _ text: String) {
        let deadline = Date().addingTimeInterval(10)
        var descriptor = open(path, O_WRONLY | O_NONBLOCK)
        while descriptor < 0, errno == ENXIO, Date() < deadline {
            usleep(1_000)
            descriptor = open(path, O_WRONLY | O_NONBLOCK)
        }
        guard descriptor >= 0 else { return XCTFail("cannot open \(path) for writing: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        let written = Array(text.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written != text.utf8.count { XCTFail("'\(text)' was not written whole: \(String(cString: strerror(errno)))") }
    }

    /// 2,000 writers in a row, each opening the pipe, writing one line and closing it, with at
    /// most 150 µs between them: the reader gets every line, in order, and no writer is told the
    /// pipe is broken. A reader that closes and reopens its end when a writer leaves loses the
    /// line of a writer that came in between, in most runs of this test.
    func testEveryLineOfWritersThatOpenAndCloseThePipeBackToBackArrives() async throws {
        let path = try makeNamedPipe()
        let input = try ByteInput(path: path)
        XCTAssertEqual(input.kind, .namedPipe)
        let lines = (0..<2_000).map { "writer \($0) says hello\n" }
        let writers = Thread {
            for line in lines {
                Self.writeSession(path, line)
                usleep(UInt32.random(in: 0...150))
            }
        }
        writers.start()
        let expected = lines.joined()
        let received = String(decoding: try await Self.read(input, expected: expected.utf8.count, timeout: 20), as: UTF8.self)
        let lost = Set(lines).subtracting(received.split(separator: "\n").map { $0 + "\n" })
        XCTAssertEqual(lost.count, 0, "lost, among others: \(lost.sorted().prefix(3))")
        XCTAssertEqual(received, expected)
    }

    /// With no writer, a read waits for one without using the processor, and the next writer's
    /// bytes are what it returns.
    func testAReaderWithoutAWriterWaitsIdleForTheNextOne() async throws {
        let path = try makeNamedPipe()
        let input = try ByteInput(path: path)
        let pendingFirst = Task { try await ByteInputTests.read(input, expected: 6, timeout: 10) }
        Self.writeSession(path, "first\n")
        let first = try await pendingFirst.value
        XCTAssertEqual(String(decoding: first, as: UTF8.self), "first\n")

        let pending = Task { try await ByteInputTests.read(input, expected: 7, timeout: 20) }
        let cpuBefore = processorSeconds()
        try await Task.sleep(for: .seconds(1))
        XCTAssertLessThan(processorSeconds() - cpuBefore, 0.2, "waiting for a writer spun the processor")
        Self.writeSession(path, "second\n")
        let bytes = try await pending.value
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), "second\n")
    }

    func processorSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

final class ReceivedBytes: @unchecked Sendable {
    private let lock = NSLock()
    private var received: [UInt8] = []

    var bytes: [UInt8] { lock.withLock { received } }
    var count: Int { lock.withLock { received.count } }
    func append(_ chunk: [UInt8]) { lock.withLock { received += chunk } }
}
