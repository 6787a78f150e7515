import Foundation
import NIOCore

/// Why a peer's bytes were refused; each closes the connection with a log line naming it.
public enum LinkFrameError: Error, Equatable, CustomStringConvertible, Sendable {
    case frameTooLarge(announced: Int, limit: Int)
    case emptyFrame
    case unknownKind(UInt8)
    case malformed(kind: UInt8, problem: String)

    public var description: String {
        switch self {
        case .frameTooLarge(let announced, let limit): "frame of \(announced) bytes exceeds the limit of \(limit)"
        case .emptyFrame: "frame without a kind byte"
        case .unknownKind(let kind): "unknown frame kind 0x\(String(kind, radix: 16))"
        case .malformed(let kind, let problem): "malformed frame of kind 0x\(String(kind, radix: 16)): \(problem)"
        }
    }
}

/// Wire format: `length: UInt32 big-endian` (bytes that follow) `kind: UInt8` `payload`.
///
/// Sans-I/O: `decode` takes whatever bytes have arrived and returns complete messages; the NIO
/// handlers below are thin wrappers. The length is checked before a single payload byte is
/// buffered, so a peer announcing 100 MB is refused after four bytes.
public struct LinkFrameCodec: Sendable {
    public let maxFrameBytes: Int
    private let encoder = JSONEncoder()
    private let decoder = JSONDecoder()

    public init(maxFrameBytes: Int = LinkProtocol.defaultMaxFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
    }

    /// Reads one message if a whole frame is in `buffer`; nil means "need more bytes".
    /// Optional extension kinds are consumed and skipped.
    public func decode(_ buffer: inout ByteBuffer) throws(LinkFrameError) -> LinkMessage? {
        while true {
            guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
            guard length <= maxFrameBytes else { throw .frameTooLarge(announced: Int(length), limit: maxFrameBytes) }
            guard length > 0 else { throw .emptyFrame }
            guard buffer.readableBytes >= 4 + Int(length) else { return nil }
            buffer.moveReaderIndex(forwardBy: 4)
            guard let kindByte: UInt8 = buffer.readInteger(),
                  var payload = buffer.readSlice(length: Int(length) - 1) else { throw .emptyFrame }
            guard let kind = LinkMessage.Kind(rawValue: kindByte) else {
                if kindByte >= LinkProtocol.firstOptionalKind { continue }
                throw .unknownKind(kindByte)
            }
            return try decodePayload(kind: kind, payload: &payload)
        }
    }

    public func encode(_ message: LinkMessage, into buffer: inout ByteBuffer) throws {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(message.kind.rawValue)
        switch message {
        case .hello(let value): try writeJSON(value, into: &buffer)
        case .welcome(let value): try writeJSON(value, into: &buffer)
        case .refused(let value): try writeJSON(value, into: &buffer)
        case .heartbeat(let value): try writeJSON(value, into: &buffer)
        case .command(let value): try writeJSON(value, into: &buffer)
        case .result(let value): try writeJSON(value, into: &buffer)
        case .ack(let sequence): buffer.writeInteger(sequence)
        case .batch(let batch):
            buffer.writeInteger(batch.firstSequence)
            buffer.writeInteger(UInt32(batch.events.count))
            for event in batch.events {
                buffer.writeInteger(UInt32(event.readableBytes))
                buffer.writeImmutableBuffer(event)
            }
        case .data(let chunk):
            let id = Array(chunk.commandId.utf8)
            buffer.writeInteger(UInt16(id.count))
            buffer.writeBytes(id)
            buffer.writeInteger(chunk.offset)
            buffer.writeInteger(UInt8(chunk.isLast ? 1 : 0))
            buffer.writeImmutableBuffer(chunk.bytes)
        }
        let length = buffer.writerIndex - start - 4
        guard length <= maxFrameBytes else {
            buffer.moveWriterIndex(to: start)
            throw LinkFrameError.frameTooLarge(announced: length, limit: maxFrameBytes)
        }
        buffer.setInteger(UInt32(length), at: start)
    }

    private func writeJSON(_ value: some Encodable, into buffer: inout ByteBuffer) throws {
        buffer.writeBytes(try encoder.encode(value))
    }

    private func readJSON<Value: Decodable>(_ type: Value.Type, kind: Kind, from payload: ByteBuffer) throws(LinkFrameError) -> Value {
        do {
            return try decoder.decode(type, from: Data(payload.readableBytesView))
        } catch {
            throw .malformed(kind: kind.rawValue, problem: "\(error)")
        }
    }

    typealias Kind = LinkMessage.Kind

    private func decodePayload(kind: Kind, payload: inout ByteBuffer) throws(LinkFrameError) -> LinkMessage {
        switch kind {
        case .hello: return .hello(try readJSON(Hello.self, kind: kind, from: payload))
        case .welcome: return .welcome(try readJSON(Welcome.self, kind: kind, from: payload))
        case .refused: return .refused(try readJSON(Refused.self, kind: kind, from: payload))
        case .heartbeat: return .heartbeat(try readJSON(Heartbeat.self, kind: kind, from: payload))
        case .command: return .command(try readJSON(Command.self, kind: kind, from: payload))
        case .result: return .result(try readJSON(CommandResult.self, kind: kind, from: payload))
        case .ack:
            guard payload.readableBytes == 8, let sequence: UInt64 = payload.readInteger() else {
                throw .malformed(kind: kind.rawValue, problem: "ack must be 8 bytes")
            }
            // Both ends keep sequences in SQLite, as Int64.
            guard sequence <= UInt64(Int64.max) else {
                throw .malformed(kind: kind.rawValue, problem: "ack sequence \(sequence) is beyond \(Int64.max)")
            }
            return .ack(throughSequence: sequence)
        case .batch:
            guard let first: UInt64 = payload.readInteger(), let count: UInt32 = payload.readInteger() else {
                throw .malformed(kind: kind.rawValue, problem: "batch header truncated")
            }
            guard count > 0, Int(count) <= payload.readableBytes / 4 else {
                throw .malformed(kind: kind.rawValue, problem: "batch announces \(count) events in \(payload.readableBytes) bytes")
            }
            // The collector stores the batch's last sequence (first + count - 1) as Int64: a range
            // beyond it is refused here rather than trapping the collector for every agent.
            guard first <= UInt64(Int64.max), UInt64(count) - 1 <= UInt64(Int64.max) - first else {
                throw .malformed(kind: kind.rawValue, problem: "a batch of \(count) events from sequence \(first) goes beyond \(Int64.max)")
            }
            var events: [ByteBuffer] = []
            events.reserveCapacity(Int(count))
            for index in 0..<Int(count) {
                guard let size: UInt32 = payload.readInteger(), let event = payload.readSlice(length: Int(size)) else {
                    throw .malformed(kind: kind.rawValue, problem: "event \(index) of \(count) truncated")
                }
                events.append(event)
            }
            guard payload.readableBytes == 0 else {
                throw .malformed(kind: kind.rawValue, problem: "\(payload.readableBytes) bytes after the last event")
            }
            return .batch(EventBatch(firstSequence: first, events: events))
        case .data:
            guard let idLength: UInt16 = payload.readInteger(), let id = payload.readString(length: Int(idLength)),
                  let offset: UInt64 = payload.readInteger(), let last: UInt8 = payload.readInteger() else {
                throw .malformed(kind: kind.rawValue, problem: "data header truncated")
            }
            return .data(DataChunk(commandId: id, offset: offset, isLast: last != 0, bytes: payload))
        }
    }
}

/// NIO adapters around `LinkFrameCodec`.
public struct LinkFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = LinkMessage
    let codec: LinkFrameCodec

    public init(maxFrameBytes: Int = LinkProtocol.defaultMaxFrameBytes) {
        codec = LinkFrameCodec(maxFrameBytes: maxFrameBytes)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let message = try codec.decode(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(message))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

public struct LinkFrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = LinkMessage
    let codec: LinkFrameCodec

    public init(maxFrameBytes: Int = LinkProtocol.defaultMaxFrameBytes) {
        codec = LinkFrameCodec(maxFrameBytes: maxFrameBytes)
    }

    public func encode(data: LinkMessage, out: inout ByteBuffer) throws {
        try codec.encode(data, into: &out)
    }
}
