import AgentCore
import Foundation
import NIOCore
import TamasLink
import XCTest

/// `RecordingFetch.stream`: whatever piece sizes a store delivers (SFTP reads, FTP socket reads),
/// the link gets chunks of at most 256 KiB, contiguous, exactly one last.
final class RecordingFetchStreamTests: XCTestCase {
    actor Chunks {
        var all: [DataChunk] = []
        func add(_ chunk: DataChunk) { all.append(chunk) }
    }

    func run(offset: Int64, end: Int64, pieces: [[UInt8]]) async throws -> [DataChunk] {
        let chunks = Chunks()
        try await RecordingFetch.stream(commandId: "c1", offset: offset, end: end,
                                        replies: CommandReplies { await chunks.add($0) }) { _, _, deliver in
            for piece in pieces { try await deliver(piece) }
        }
        return await chunks.all
    }

    func testOddPiecesBecomeBoundedContiguousChunks() async throws {
        let content = (0..<700_001).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var pieces: [[UInt8]] = []
        var index = 0
        var size = 1
        while index < content.count {
            let next = min(content.count, index + size)
            pieces.append(Array(content[index..<next]))
            index = next
            size = size * 3 % 99_991 + 1
        }
        let chunks = try await run(offset: 1000, end: 701_001, pieces: pieces)
        XCTAssertTrue(chunks.allSatisfy { $0.bytes.readableBytes <= RecordingFetch.chunkBytes })
        XCTAssertEqual(chunks.filter(\.isLast).count, 1)
        XCTAssertEqual(chunks.last?.isLast, true)
        var expectedOffset: UInt64 = 1000
        var joined: [UInt8] = []
        for chunk in chunks {
            XCTAssertEqual(chunk.offset, expectedOffset)
            expectedOffset += UInt64(chunk.bytes.readableBytes)
            joined += chunk.bytes.readableBytesView
        }
        XCTAssertEqual(joined, content)
    }

    func testEmptyRangeIsOneEmptyLastChunkAndAShortSourceIsAnError() async throws {
        let empty = try await run(offset: 5, end: 5, pieces: [])
        XCTAssertEqual(empty, [DataChunk(commandId: "c1", offset: 5, isLast: true, bytes: ByteBuffer())])
        do {
            _ = try await run(offset: 0, end: 10, pieces: [[1, 2, 3]])
            XCTFail("a source that ends early is an error")
        } catch {
            XCTAssertEqual("\(error)", "the recording ended at byte 3, before the end of the range (10): it changed while it was read")
        }
    }

    func testRangeArguments() throws {
        let request = try RecordingFetch.Request(["ref": "/m/a.wav", "offset": "10", "length": "100"])
        XCTAssertEqual(try request.end(size: 50), 50, "a range past the end stops at the end")
        XCTAssertEqual(try request.end(size: 500), 110)
        XCTAssertThrowsError(try RecordingFetch.Request(["ref": "/m/a.wav", "offset": "-1"]))
        XCTAssertThrowsError(try RecordingFetch.Request([:]))
        XCTAssertThrowsError(try RecordingFetch.Request(["ref": "x", "offset": "60"]).end(size: 50))
    }
}
