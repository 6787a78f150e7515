import NIOCore
import NIOEmbedded
import TamasEvents
import TamasLink
import XCTest

final class LinkFrameCodecTests: XCTestCase {
    let codec = LinkFrameCodec(maxFrameBytes: 1 << 20)

    func everyMessage() -> [LinkMessage] {
        let report = SpoolReport(backlog: 3, capacity: 100, state: "ok", oldestAt: "2026-11-26T10:00:00Z")
        return [
            .hello(Hello(agentId: "ag_1", secret: "s", kind: "smdr", version: "0.1.0", systemKeys: ["K"], spoolId: "sp", spool: report)),
            .welcome(Welcome(protocolVersion: 1, collectorVersion: "0.1.0", agentName: "a", committedThrough: 42,
                             systemKeys: ["K"], heartbeatSeconds: 15, maxFrameBytes: 1 << 20)),
            .refused(Refused(reason: "wrong secret", permanent: true)),
            .batch(EventBatch(firstSequence: 7, events: [ByteBuffer(string: "{\"a\":1}"), ByteBuffer(string: "{}")])),
            .ack(throughSequence: 8),
            .heartbeat(Heartbeat(spool: report, deviceState: "connected")),
            .command(Command(id: "c1", name: "originate", arguments: ["from": "201", "to": "0912"])),
            .result(CommandResult(id: "c1", ok: false, error: "busy")),
            .data(DataChunk(commandId: "c2", offset: 4096, isLast: true, bytes: ByteBuffer(bytes: [0, 1, 2, 255]))),
        ]
    }

    func testEveryMessageRoundTripsInAnyFragmentation() throws {
        var wire = ByteBuffer()
        for message in everyMessage() { try codec.encode(message, into: &wire) }
        for chunkSize in [1, 3, 17, wire.readableBytes] {
            var pending = ByteBuffer()
            var decoded: [LinkMessage] = []
            var source = wire
            while source.readableBytes > 0, let chunk = source.readSlice(length: min(chunkSize, source.readableBytes)) {
                pending.writeImmutableBuffer(chunk)
                while let message = try codec.decode(&pending) { decoded.append(message) }
            }
            XCTAssertEqual(decoded, everyMessage(), "chunk size \(chunkSize)")
        }
    }

    func testAnOversizedFrameIsRefusedFromItsLengthAlone() {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(100 << 20))
        XCTAssertThrowsError(try codec.decode(&buffer)) {
            XCTAssertEqual($0 as? LinkFrameError, .frameTooLarge(announced: 100 << 20, limit: 1 << 20))
        }
    }

    func testEncodingRefusesWhatThePeerWouldRefuse() {
        var buffer = ByteBuffer()
        let big = EventBatch(firstSequence: 1, events: [ByteBuffer(repeating: 0x41, count: 2 << 20)])
        XCTAssertThrowsError(try codec.encode(.batch(big), into: &buffer))
        XCTAssertEqual(buffer.readableBytes, 0, "nothing half-written")
    }

    func testMalformedFramesNameTheProblem() {
        func frame(_ kind: UInt8, _ payload: [UInt8]) -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.writeInteger(UInt32(payload.count + 1))
            buffer.writeInteger(kind)
            buffer.writeBytes(payload)
            return buffer
        }
        var truncatedBatch = frame(0x10, [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 65])
        XCTAssertThrowsError(try codec.decode(&truncatedBatch)) { XCTAssertTrue("\($0)".contains("batch"), "\($0)") }
        var badJSON = frame(0x01, Array("{not json".utf8))
        XCTAssertThrowsError(try codec.decode(&badJSON)) { XCTAssertTrue("\($0)".contains("malformed"), "\($0)") }
        var shortAck = frame(0x11, [1, 2])
        XCTAssertThrowsError(try codec.decode(&shortAck))
        var unknownMandatory = frame(0x44, [])
        XCTAssertThrowsError(try codec.decode(&unknownMandatory)) { XCTAssertEqual($0 as? LinkFrameError, .unknownKind(0x44)) }
        var empty = ByteBuffer()
        empty.writeInteger(UInt32(0))
        XCTAssertThrowsError(try codec.decode(&empty)) { XCTAssertEqual($0 as? LinkFrameError, .emptyFrame) }
    }

    /// A newer peer's optional frame kinds are skipped, which is how the protocol grows without
    /// breaking old agents.
    func testOptionalExtensionFramesAreSkipped() throws {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(4))
        buffer.writeInteger(UInt8(0x90))
        buffer.writeBytes([1, 2, 3])
        try codec.encode(.ack(throughSequence: 5), into: &buffer)
        XCTAssertEqual(try codec.decode(&buffer), .ack(throughSequence: 5))
    }

    /// Found by fuzzing: a batch numbered near the top of the range made the collector trap
    /// (overflow computing its last sequence, or storing it as Int64), ending it for every agent.
    func testSequencesBeyondWhatTheStoresHoldAreRefusedNotTrapped() throws {
        func batch(first: UInt64, events: Int) -> ByteBuffer {
            var payload = ByteBuffer()
            payload.writeInteger(first)
            payload.writeInteger(UInt32(events))
            for _ in 0..<events { payload.writeInteger(UInt32(0)) }
            var frame = ByteBuffer()
            frame.writeInteger(UInt32(payload.readableBytes + 1))
            frame.writeInteger(UInt8(0x10))
            frame.writeImmutableBuffer(payload)
            return frame
        }
        for (first, events) in [(UInt64.max, 1), (UInt64(Int64.max) + 1, 1), (UInt64(Int64.max), 2), (UInt64(Int64.max) - 2, 4)] {
            var buffer = batch(first: first, events: events)
            XCTAssertThrowsError(try codec.decode(&buffer), "first \(first), \(events) events") {
                XCTAssertEqual($0 as? LinkFrameError, .malformed(kind: 0x10, problem:
                    "a batch of \(events) events from sequence \(first) goes beyond \(Int64.max)"))
            }
        }
        var highest = batch(first: UInt64(Int64.max) - 1, events: 2)
        guard case .batch(let accepted) = try codec.decode(&highest) else { return XCTFail("not a batch") }
        XCTAssertEqual(accepted.lastSequence, UInt64(Int64.max))

        var ack = ByteBuffer()
        ack.writeInteger(UInt32(9))
        ack.writeInteger(UInt8(0x11))
        ack.writeInteger(UInt64(Int64.max) + 1)
        XCTAssertThrowsError(try codec.decode(&ack)) {
            XCTAssertEqual($0 as? LinkFrameError, .malformed(kind: 0x11, problem: "ack sequence \(UInt64(Int64.max) + 1) is beyond \(Int64.max)"))
        }
    }

    func testRandomBytesNeverCrashTheDecoder() {
        var random = SplitMix64(seed: 0x7A3A5)
        for _ in 0..<20_000 {
            var buffer = ByteBuffer(bytes: (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            while (try? codec.decode(&buffer)).flatMap({ $0 }) != nil {}
        }
    }

    func testNIOHandlersFrameAStream() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LinkFrameDecoder(maxFrameBytes: 1 << 20)))
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(LinkFrameEncoder(maxFrameBytes: 1 << 20)))
        try channel.writeOutbound(LinkMessage.ack(throughSequence: 99))
        let encoded = try XCTUnwrap(channel.readOutbound(as: ByteBuffer.self))
        try channel.writeInbound(encoded)
        XCTAssertEqual(try channel.readInbound(as: LinkMessage.self), .ack(throughSequence: 99))
        var oversized = ByteBuffer()
        oversized.writeInteger(UInt32(2 << 20))
        XCTAssertThrowsError(try channel.writeInbound(oversized))
        _ = try? channel.finish()
    }
}
