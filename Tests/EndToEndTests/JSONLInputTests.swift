import Foundation
import TestSupport
import XCTest

/// `tamas-agent jsonl` reads a named pipe and standard input, not only a file (the other
/// end-to-end tests use files).
final class JSONLInputTests: XCTestCase {
    override func setUp() {
        // A write to a pipe nobody reads must come back as EPIPE for the test to report, not
        // kill the test process.
        signal(SIGPIPE, SIG_IGN)
    }

    func callEventIds(_ collector: CollectorUnderTest) throws -> [String] {
        try collector.events().filter { ($0["type"] as? String)?.hasPrefix("call.") == true }.compactMap { $0["eventId"] as? String }
    }

    func eventIds(_ lines: some Sequence<String>) -> [String] {
        lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["eventId"] as? String }
    }

    /// Processor time (user and system) the process has used, in clock ticks.
    func processorTicks(pid: Int32) -> Int? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let afterName = stat.range(of: ") ") else { return nil }
        let fields = stat[afterName.upperBound...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// A program that opens the pipe, writes some events and closes it, three times over (the
    /// last two visits back to back): the agent keeps reading across every close, sits idle
    /// while nobody writes, and all events arrive once.
    func testANamedPipeFeedsTheAgentAcrossWritersThatCloseAndReopenIt() throws {
        let folder = try temporaryFolder("e2e-fifo")
        let collector = try CollectorUnderTest(name: "e2e-fifo")
        let pipe = folder.appendingPathComponent("events.fifo")
        XCTAssertEqual(mkfifo(pipe.path, 0o600), 0, String(cString: strerror(errno)))
        let config = try collector.enrollAgent("fifo-pbx", systems: ["office8"], folder: folder,
                                               extra: "jsonl:\n  input: \(pipe.path)\n")
        let agent = try ChildProcess("tamas-agent", ["jsonl", "--config", config.path], name: "fifo agent")
        let lines = try SampleTraffic(systemKey: "office8", count: 600).lines()

        try writeSession(pipe, lines[0..<200])
        XCTAssertTrue(try eventually(timeout: 20) { try callEventIds(collector).count == 200 },
                      "the first writer's events arrived:\n\(agent.log.suffix(2000))")
        let ticksBefore = try XCTUnwrap(processorTicks(pid: agent.pid))
        usleep(2_000_000)
        let idleTicks = try XCTUnwrap(processorTicks(pid: agent.pid)) - ticksBefore
        XCTAssertLessThan(idleTicks, 30, "with no writer the agent waits rather than spins (clock ticks in 2 s)")
        XCTAssertTrue(agent.isRunning, "the agent outlives its writer:\n\(agent.log.suffix(2000))")

        try writeSession(pipe, lines[200..<400])
        try writeSession(pipe, lines[400..<600])
        XCTAssertTrue(try eventually(timeout: 20) { try callEventIds(collector).count >= 600 },
                      "the later writers' events arrived:\n\(agent.log.suffix(2000))")
        usleep(500_000)
        XCTAssertEqual(try callEventIds(collector), eventIds(lines), "every event once, in the order written")
        XCTAssertTrue(agent.isRunning)
        XCTAssertFalse(agent.log.contains("input ended"), agent.log.suffix(2000).description)
        let states = try collector.events().filter { $0["type"] as? String == "agent.status" }.compactMap { $0["state"] as? String }
        XCTAssertEqual(states, ["reading"], "a writer closing the pipe is not the end of the input")
    }

    /// `input: "-"` reads standard input to its end; with `--exit-when-drained` the agent then
    /// waits for the collector's acknowledgements and exits 0.
    func testStandardInputFeedsTheAgentUntilItEnds() throws {
        let folder = try temporaryFolder("e2e-stdin")
        let collector = try CollectorUnderTest(name: "e2e-stdin")
        let config = try collector.enrollAgent("stdin-pbx", systems: ["office9"], folder: folder, extra: "jsonl:\n  input: \"-\"\n")
        let lines = try SampleTraffic(systemKey: "office9", count: 300).lines()
        let result = try runToolAllowingFailure("tamas-agent", ["jsonl", "--config", config.path, "--exit-when-drained"],
                                                input: Data(lines.map { $0 + "\n" }.joined().utf8), timeout: 30)
        XCTAssertEqual(result.status, 0, result.error.suffix(2000).description)
        XCTAssertEqual(try callEventIds(collector), eventIds(lines))
        let states = try collector.events().filter { $0["type"] as? String == "agent.status" }.compactMap { $0["state"] as? String }
        XCTAssertEqual(states, ["reading", "inputEnded"])
    }

    /// One writer's visit: opens the pipe for writing (failing after 10 s without a reader rather
    /// than blocking forever), writes `lines` and closes it.
    func writeSession(_ pipe: URL, _ lines: some Sequence<String>) throws {
        let deadline = Date().addingTimeInterval(10)
        var descriptor = open(pipe.path, O_WRONLY | O_NONBLOCK)
        while descriptor < 0, errno == ENXIO, Date() < deadline {
            usleep(10_000)
            descriptor = open(pipe.path, O_WRONLY | O_NONBLOCK)
        }
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(descriptor) }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        let bytes = Array(lines.map { $0 + "\n" }.joined().utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            offset += written
        }
    }
}
