import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import TamasLink
import TestSupport
import XCTest

/// A wrong secret, a plain-TCP client, a 100 MB frame, a client that never finishes its
/// handshake and frames that are not messages after a good hello are each refused with a clear
/// log line while a good agent keeps streaming.
final class MisbehavingClientTests: XCTestCase {
    /// A well-behaved jsonl agent on office5, fed `count` events in slices of 100 every 150 ms so
    /// that the misbehaving clients are tried while it streams.
    func startGoodAgent(_ collector: CollectorUnderTest, in folder: URL, events count: Int) throws
        -> (agent: ChildProcess, config: URL, writer: Task<Void, Error>) {
        let feed = try GrowingFile(folder.appendingPathComponent("good.jsonl"))
        let lines = try SampleTraffic(systemKey: "office5", count: count).lines()
        let config = try collector.enrollAgent("good", systems: ["office5"], folder: folder,
                                               extra: "jsonl:\n  input: \(feed.url.path)\n  follow: true\n")
        let agent = try ChildProcess("tamas-agent", ["jsonl", "--config", config.path], name: "good agent")
        let writer = Task.detached {
            for start in stride(from: 0, to: lines.count, by: 100) {
                feed.append(lines[start..<min(start + 100, lines.count)])
                try await Task.sleep(for: .milliseconds(150))
            }
        }
        return (agent, config, writer)
    }

    func testBadClientsAreRefusedWhileAGoodAgentKeepsStreaming() async throws {
        let folder = try temporaryFolder("e2e-bad")
        let collector = try CollectorUnderTest(name: "e2e-bad")
        let (good, goodConfig, writer) = try startGoodAgent(collector, in: folder, events: 3000)

        let badConfigText = try String(contentsOf: goodConfig, encoding: .utf8)
            .replacingOccurrences(of: "secret: ", with: "secret: 00")
            .replacingOccurrences(of: "good-spool", with: "bad-spool")
        let badConfig = folder.appendingPathComponent("bad.yaml")
        try badConfigText.write(to: badConfig, atomically: false, encoding: .utf8)
        chmod(badConfig.path, 0o600)
        let bad = try ChildProcess("tamas-agent", ["jsonl", "--config", badConfig.path], name: "wrong-secret agent")
        bad.waitForLog("collector refused this agent: unknown agent id or wrong secret", timeout: 20)
        collector.process?.waitForLog("agent connection refused", timeout: 5)
        bad.terminate()

        let plain = try RawSocket(port: collector.agentPort)
        plain.send(Array("GET / HTTP/1.0\r\n\r\n".utf8))
        XCTAssertTrue(plain.waitForClose(timeout: 5), "a plain-TCP client is disconnected")
        collector.process?.waitForLog("TLS", timeout: 5)

        let stalled = try RawSocket(port: collector.agentPort)
        let stallStart = Date()
        XCTAssertTrue(stalled.waitForClose(timeout: 8), "a client that never starts TLS is dropped")
        XCTAssertLessThan(Date().timeIntervalSince(stallStart), 6)
        collector.process?.waitForLog("no hello within 2.0 s", timeout: 5)

        let fingerprint = try LinkTLS.fingerprint(pem: String(contentsOf: collector.dataDir.appendingPathComponent("tls/collector.crt"), encoding: .utf8))
        let giant = try await sendOversizedFrame(port: collector.agentPort, fingerprint: fingerprint)
        XCTAssertTrue(giant.closed, "the collector closes a connection announcing a 100 MB frame")
        XCTAssertLessThan(giant.seconds, 5)
        let residentKB = try XCTUnwrap(collector.process.flatMap { residentMemoryKB(pid: $0.pid) })
        XCTAssertLessThan(residentKB, 150_000, "the announced 100 MB were never buffered")
        collector.process?.waitForLog("exceeds the limit", timeout: 5)

        try await writer.value
        let arrived = try eventually(timeout: 60) {
            try collector.events().filter { ($0["type"] as? String)?.hasPrefix("call.") == true }.count == 3000
        }
        XCTAssertTrue(arrived, "the good agent's 3000 events all arrived")
        XCTAssertTrue(good.isRunning)
        XCTAssertFalse(good.log.contains("link down"), "the good agent's link never dropped:\n\(good.log.suffix(2000))")
    }

    /// An enrolled agent's connection that says hello properly and then sends a frame the
    /// collector cannot read (a `result` whose JSON is not a command result; bytes of no known
    /// frame kind) is closed, with a log line naming the agent and what was wrong, while a good
    /// agent keeps streaming.
    func testAMalformedFrameAfterHelloClosesOnlyThatConnectionAndSaysWhy() async throws {
        let folder = try temporaryFolder("e2e-malformed")
        let collector = try CollectorUnderTest(name: "e2e-malformed")
        let (good, _, writer) = try startGoodAgent(collector, in: folder, events: 1500)
        let enrollment = try JSONSerialization.jsonObject(with: Data(
            try collector.tamasctl(["agents", "add", "garbler", "--system", "office5", "--json"]).utf8)) as? [String: Any]
        let credentials = try XCTUnwrap(enrollment.flatMap { json in
            (json["agentId"] as? String).flatMap { id in (json["secret"] as? String).map { (agentId: id, secret: $0) } }
        })
        let fingerprint = try LinkTLS.fingerprint(pem: String(contentsOf: collector.dataDir.appendingPathComponent("tls/collector.crt"), encoding: .utf8))

        var notAResult = ByteBuffer()
        let json = Array(#"{"greeting":"not a command result"}"#.utf8)
        notAResult.writeInteger(UInt32(1 + json.count))
        notAResult.writeInteger(LinkMessage.Kind.result.rawValue)
        notAResult.writeBytes(json)
        let first = try await sendAfterHello(notAResult, port: collector.agentPort, fingerprint: fingerprint,
                                             agentId: credentials.agentId, secret: credentials.secret)
        XCTAssertEqual(first.welcomedAs, "garbler")
        XCTAssertTrue(first.closed, "the collector closes a connection whose frame is not a message")
        let malformedLine = try XCTUnwrap(logLine(collector, containing: "malformed frame of kind 0x31"))
        XCTAssertTrue(malformedLine.contains("level=warning") && malformedLine.contains("agent=garbler")
                      && malformedLine.contains("remote=127.0.0.1:") && malformedLine.contains(#"\"id\""#), malformedLine)

        let garbage = ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x05, 0x07, 0xDE, 0xAD, 0xBE, 0xEF])
        let second = try await sendAfterHello(garbage, port: collector.agentPort, fingerprint: fingerprint,
                                              agentId: credentials.agentId, secret: credentials.secret)
        XCTAssertEqual(second.welcomedAs, "garbler")
        XCTAssertTrue(second.closed, "the collector closes a connection sending bytes of no frame kind")
        let unknownLine = try XCTUnwrap(logLine(collector, containing: "unknown frame kind 0x7"))
        XCTAssertTrue(unknownLine.contains("level=warning") && unknownLine.contains("agent=garbler"), unknownLine)
        XCTAssertTrue(try eventually(timeout: 15) {
            try collector.agents().first { $0["name"] as? String == "garbler" }?["connected"] as? Bool == false
        }, "the closed connection is no longer listed as connected")
        XCTAssertEqual(try collector.metrics()["tamas_agent_connections_refused_total"], 2)

        try await writer.value
        let arrived = try eventually(timeout: 30) {
            try collector.events().filter { ($0["type"] as? String)?.hasPrefix("call.") == true }.count == 1500
        }
        XCTAssertTrue(arrived, "the good agent's 1500 events all arrived")
        XCTAssertTrue(good.isRunning)
        XCTAssertFalse(good.log.contains("link down"), "the good agent's link never dropped:\n\(good.log.suffix(2000))")
    }

    func logLine(_ collector: CollectorUnderTest, containing text: String) -> String? {
        collector.process?.waitForLog(text, timeout: 15)
        return collector.log.split(separator: "\n").first { $0.contains(text) }.map(String.init)
    }

    /// Opens TLS with the collector's pinned certificate, says hello as the given agent, waits
    /// for the welcome, sends `bytes` and waits (up to 10 s) for the collector to hang up.
    func sendAfterHello(_ bytes: ByteBuffer, port: Int, fingerprint: String, agentId: String, secret: String)
        async throws -> (welcomedAs: String?, closed: Bool) {
        let channel = try await connectLinkClient(port: port, fingerprint: fingerprint)
        let timeout = Task {
            try await Task.sleep(for: .seconds(10))
            try await channel.channel.close()
        }
        defer { timeout.cancel() }
        var welcomedAs: String?
        let start = Date()
        do {
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(try frame(.hello(Hello(
                    agentId: agentId, secret: secret, kind: "jsonl", version: "0.1.0", systemKeys: ["office5"],
                    spoolId: UUID().uuidString, spool: SpoolReport(backlog: 0, capacity: 100, state: "ok")))))
                var messages = inbound.makeAsyncIterator()
                guard case .welcome(let welcome)? = try await messages.next() else { return }
                welcomedAs = welcome.agentName
                try await outbound.write(bytes)
                while try await messages.next() != nil {}
            }
        } catch {
            // The collector's close can surface as a TLS error (no close_notify) rather than an end.
        }
        return (welcomedAs, Date().timeIntervalSince(start) < 9)
    }

    /// Opens TLS with the collector's pinned certificate, announces a 100 MB frame, sends its
    /// first megabyte and waits for the collector to hang up.
    func sendOversizedFrame(port: Int, fingerprint: String) async throws -> (closed: Bool, seconds: Double) {
        let context = try NIOSSLContext(configuration: LinkTLS.clientConfiguration(
            trust: .pinned(fingerprint: fingerprint), clientCertificateFile: nil, clientKeyFile: nil))
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        LinkTLS.clientHandler(context: context, trust: .pinned(fingerprint: fingerprint), serverHostname: "127.0.0.1"))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let start = Date()
        let timeout = Task {
            try await Task.sleep(for: .seconds(10))
            try await channel.channel.close()
        }
        defer { timeout.cancel() }
        do {
            try await channel.executeThenClose { inbound, outbound in
                var header = ByteBuffer()
                header.writeInteger(UInt32(100 << 20))
                header.writeInteger(UInt8(0x10))
                try await outbound.write(header)
                try await outbound.write(ByteBuffer(repeating: 0x41, count: 1 << 20))
                for try await _ in inbound {}
            }
        } catch {
            return (true, Date().timeIntervalSince(start))
        }
        let seconds = Date().timeIntervalSince(start)
        return (seconds < 10, seconds)
    }
}

/// A TLS connection to the collector's agent port that reads link messages and writes raw
/// bytes, so a test can send well-formed frames (`frame(_:)`) or anything else.
func connectLinkClient(port: Int, fingerprint: String) async throws -> NIOAsyncChannel<LinkMessage, ByteBuffer> {
    let context = try NIOSSLContext(configuration: LinkTLS.clientConfiguration(
        trust: .pinned(fingerprint: fingerprint), clientCertificateFile: nil, clientKeyFile: nil))
    return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                let pipeline = channel.pipeline.syncOperations
                try pipeline.addHandler(
                    LinkTLS.clientHandler(context: context, trust: .pinned(fingerprint: fingerprint), serverHostname: "127.0.0.1"))
                try pipeline.addHandler(ByteToMessageHandler(LinkFrameDecoder()))
                return try NIOAsyncChannel<LinkMessage, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
}

func frame(_ message: LinkMessage) throws -> ByteBuffer {
    var buffer = ByteBuffer()
    try LinkFrameCodec().encode(message, into: &buffer)
    return buffer
}

func residentMemoryKB(pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
    return Int(line.split(separator: " ").dropFirst().first ?? "")
}

/// A bare TCP client for the tests that must not speak TLS.
final class RawSocket {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    /// True when the peer closed the connection (read returns 0 or an error) before the timeout.
    func waitForClose(timeout: Double) -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            guard poll(&poller, 1, 100) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { return true }
        }
        return false
    }

    deinit { close(descriptor) }
}
