import Foundation
import NIOCore
import TamasEvents
import TamasLink

extension Harness {
    static let linkFrameLimits = [LinkProtocol.defaultMaxFrameBytes, 64, 4096, 1 << 20]

    /// The agent<->collector link: LinkFrameCodec.decode over arbitrary bytes in arbitrary
    /// chunkings (what ByteToMessageHandler feeds it), then what the collector does with each
    /// message (IngestServer.run / CollectorStore.prepare), and an encode -> decode round trip.
    ///
    /// Input: byte 0 = chunking seed, byte 1 = flags (bits 0-1: maxFrameBytes choice, bits 2-3:
    /// largest chunk), rest = the byte stream. FUZZ_STRICT=1: trap when a decoded message does
    /// not survive encode/decode.
    public static func fuzzLink(_ input: [UInt8]) {
        guard input.count >= 2 else { return }
        var rng = Rng(input[0])
        let codec = LinkFrameCodec(maxFrameBytes: linkFrameLimits[Int(input[1] & 3)])
        let maxChunk = [1, 7, 64, 4096][Int(input[1] >> 2) & 3]
        var buffer = ByteBufferAllocator().buffer(capacity: 0)
        var offset = 2
        stream: while offset < input.count {
            let end = min(input.count, offset + 1 + rng.below(maxChunk))
            buffer.writeBytes(input[offset..<end])
            offset = end
            while true {
                do {
                    guard let message = try codec.decode(&buffer) else { break }
                    handleLink(message, codec: codec)
                } catch {
                    _ = "\(error)"  // the collector logs it and closes the connection
                    break stream
                }
            }
            if rng.below(4) == 0 { buffer.discardReadBytes() }
        }
    }

    static let linkEventJSON = EventJSON()

    static func handleLink(_ message: LinkMessage, codec: LinkFrameCodec) {
        _ = message.kind
        switch message {
        case .hello(let hello):
            // IngestServer.run: authenticate, protocol check, register, welcome, log line.
            _ = "\(hello.agentId) \(hello.kind) \(hello.version) \(hello.spool.backlog)"
            _ = hello.commands.map(Set.init)
            _ = min(hello.protocolVersion, LinkProtocol.version)
        case .batch(let batch):
            // IngestServer.run: metrics, CollectorStore.prepare (decode + validate each event), ack.
            _ = Int64(batch.events.count)
            // CollectorStore.commit stores every accepted batch's `Int64(batch.lastSequence)`.
            _ = Int64(batch.lastSequence)
            for buffer in batch.events {
                let body = Data(buffer.readableBytesView)
                if let event = try? linkEventJSON.decode(body) {
                    if (try? event.validate()) != nil { _ = event.systemKey }
                    _ = "\(event)"
                }
            }
        case .heartbeat(let heartbeat):
            _ = heartbeat.lastInputAt?.iso8601
            _ = heartbeat.spool?.state
        case .result(let result): _ = (result.id, result.ok, result.output, result.error)
        case .data(let chunk): _ = (chunk.commandId, chunk.offset, chunk.isLast, chunk.bytes.readableBytes)
        case .welcome(let welcome): _ = welcome.committedThrough
        case .refused(let refused): _ = refused.reason
        case .ack(let sequence): _ = sequence
        case .command(let command): _ = command.arguments.count
        }
        // Round trip through the encoder (what a peer would send back / the agent sends).
        var out = ByteBufferAllocator().buffer(capacity: 0)
        do {
            try codec.encode(message, into: &out)
        } catch {
            return  // re-encoded JSON can legitimately grow past the limit
        }
        do {
            let back = try codec.decode(&out)
            if strict {
                guard back == message else { fatalError("STRICT: link round trip differs: \(message) vs \(String(describing: back))") }
                guard out.readableBytes == 0 else { fatalError("STRICT: \(out.readableBytes) bytes left after round trip of \(message)") }
            }
        } catch {
            if strict { fatalError("STRICT: re-encoded \(message.kind) does not decode: \(error)") }
        }
    }
}
