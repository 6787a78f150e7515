import AgentCore
import Foundation
import NIOCore
import TamasLink
import TelsaProtocol
import TestSupport
import XCTest
@testable import TelsaAgent

/// `fetch-recording` driven directly, with a `CommandReplies` that collects the chunks.
final class RecordingFetchTests: XCTestCase {
    actor Collected {
        var chunks: [DataChunk] = []
        func add(_ chunk: DataChunk) { chunks.append(chunk) }
    }

    var root: URL!
    var outside: URL!

    override func setUpWithError() throws {
        root = try temporaryFolder("telsa-fetch-root")
        outside = try temporaryFolder("telsa-fetch-outside")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
        try? FileManager.default.removeItem(at: outside)
    }

    func ref(_ path: String) throws -> String {
        let attributes = try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(path).path)
        let size = try XCTUnwrap(attributes[.size] as? Int)
        var info = stat()
        XCTAssertEqual(lstat(root.appendingPathComponent(path).path, &info), 0)
        let millis = Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000
        return "\(size)-\(millis)/\(path)"
    }

    func fetch(_ arguments: [String: String]) async -> (CommandResult, [DataChunk]) {
        let collected = Collected()
        let replies = CommandReplies { await collected.add($0) }
        let result = await RecordingFetchHandler(root: root.path).handle(
            Command(id: "c1", name: "fetch-recording", arguments: arguments), replies: replies)
        return (result, await collected.chunks)
    }

    func bytes(_ chunks: [DataChunk]) -> Data {
        chunks.reduce(into: Data()) { data, chunk in data.append(contentsOf: chunk.bytes.readableBytesView) }
    }

    func testStreamsTheExactBytesIn256KiBChunksThenASmallJSONResult() async throws {
        let content = TelsaRecordings.audio(700_000) + (try TelsaRecordings.fixtureTrailer())
        try TelsaRecordings.write(content, to: root.appendingPathComponent("Archive/Line1/a.wav"))
        let (result, chunks) = await fetch(["ref": try ref("Archive/Line1/a.wav")])
        XCTAssertTrue(result.ok, result.error ?? "")
        XCTAssertEqual(result.id, "c1")
        XCTAssertEqual(chunks.map(\.offset), [0, 262_144, 524_288])
        XCTAssertEqual(chunks.map(\.bytes.readableBytes), [262_144, 262_144, content.count - 524_288])
        XCTAssertEqual(chunks.map(\.isLast), [false, false, true])
        XCTAssertTrue(chunks.allSatisfy { $0.commandId == "c1" })
        XCTAssertEqual(bytes(chunks), content)
        let output = try JSONDecoder().decode(RecordingFetchResult.self, from: Data((result.output ?? "").utf8))
        XCTAssertEqual(output, RecordingFetchResult(size: Int64(content.count), offset: 0, length: Int64(content.count),
                                                    contentType: "audio/wav", fileName: "a.wav"))
    }

    func testHonoursRangeRequests() async throws {
        let content = TelsaRecordings.audio(600_000, seed: 3)
        try TelsaRecordings.write(content, to: root.appendingPathComponent("record/b.mp3"))
        let ref = try ref("record/b.mp3")

        let (middle, middleChunks) = await fetch(["ref": ref, "offset": "300000", "length": "1000"])
        XCTAssertTrue(middle.ok, middle.error ?? "")
        XCTAssertEqual(middleChunks.map(\.offset), [300_000])
        XCTAssertEqual(middleChunks.map(\.isLast), [true])
        XCTAssertEqual(bytes(middleChunks), content.subdata(in: 300_000..<301_000))
        XCTAssertTrue(middle.output?.contains("\"contentType\":\"audio/mpeg\"") == true, middle.output ?? "")
        XCTAssertTrue(middle.output?.contains("\"length\":1000") == true, middle.output ?? "")
        XCTAssertTrue(middle.output?.contains("\"size\":600000") == true, middle.output ?? "")

        let (tail, tailChunks) = await fetch(["ref": ref, "offset": "10000"])
        XCTAssertTrue(tail.ok)
        XCTAssertEqual(tailChunks.map(\.offset), [10_000, 10_000 + 262_144, 10_000 + 2 * 262_144])
        XCTAssertEqual(bytes(tailChunks), content.subdata(in: 10_000..<600_000))

        let (clamped, clampedChunks) = await fetch(["ref": ref, "offset": "599990", "length": "\(Int64.max)"])
        XCTAssertTrue(clamped.ok, "a length past the end stops at the end")
        XCTAssertEqual(bytes(clampedChunks), content.subdata(in: 599_990..<600_000))

        let (empty, emptyChunks) = await fetch(["ref": ref, "offset": "600000"])
        XCTAssertTrue(empty.ok)
        XCTAssertEqual(emptyChunks.map(\.isLast), [true], "an empty range still ends with one last chunk")
        XCTAssertEqual(emptyChunks.first?.bytes.readableBytes, 0)

        let (beyond, beyondChunks) = await fetch(["ref": ref, "offset": "600001"])
        XCTAssertFalse(beyond.ok)
        XCTAssertTrue(beyond.error?.contains("beyond the end") == true, beyond.error ?? "")
        XCTAssertEqual(beyondChunks, [])

        let (negative, _) = await fetch(["ref": ref, "offset": "-5"])
        XCTAssertFalse(negative.ok)
        XCTAssertTrue(negative.error?.contains("'offset' must be a whole number") == true, negative.error ?? "")
    }

    func testRefusesEveryWayOutOfTheTelsaFolder() async throws {
        let secret = outside.appendingPathComponent("secret.wav")
        try TelsaRecordings.write(Data("outside".utf8), to: secret)
        try TelsaRecordings.write(TelsaRecordings.audio(100), to: root.appendingPathComponent("Archive/1/ok.wav"))
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("Archive/1/link.wav").path,
                                                   withDestinationPath: secret.path)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("Archive/escape").path,
                                                   withDestinationPath: outside.path)
        let escapes = [
            "7-0/../\(outside.lastPathComponent)/secret.wav",
            "7-0/Archive/../../\(outside.lastPathComponent)/secret.wav",
            "7-0/\(secret.path)",
            "7-0//etc/passwd.wav",
            "7-0/Archive/1/link.wav",
            "7-0/Archive/escape/secret.wav",
            "7-0/Archive/./1/ok.wav",
            "7-0/Archive\\1\\ok.wav",
        ]
        for ref in escapes {
            let (result, chunks) = await fetch(["ref": ref])
            XCTAssertFalse(result.ok, ref)
            XCTAssertEqual(chunks, [], "no byte leaves for \(ref)")
            XCTAssertTrue(result.error?.contains("refused") == true, "\(ref): \(result.error ?? "")")
        }
        try TelsaRecordings.write(Data("config".utf8), to: root.appendingPathComponent("telsa.ini"))
        let (config, _) = await fetch(["ref": try ref("telsa.ini")])
        XCTAssertFalse(config.ok)
        XCTAssertTrue(config.error?.contains("only .wav and .mp3") == true, config.error ?? "")
    }

    func testMissingChangedAndMalformedRefsFailClearly() async throws {
        let (missing, _) = await fetch(["ref": "100-1765267470000/Archive/1/gone.wav"])
        XCTAssertFalse(missing.ok)
        XCTAssertEqual(missing.error, "no such recording: 'Archive/1/gone.wav'")

        let (noRef, _) = await fetch([:])
        XCTAssertEqual(noRef.error, "missing argument 'ref'")
        let (garbage, _) = await fetch(["ref": "Archive/1/a.wav"])
        XCTAssertTrue(garbage.error?.contains("is not a Telsa recording ref") == true, garbage.error ?? "")

        let url = root.appendingPathComponent("record/c.wav")
        try TelsaRecordings.write(TelsaRecordings.audio(1000), to: url)
        let before = try ref("record/c.wav")
        try TelsaRecordings.append(TelsaRecordings.audio(10), to: url)
        let (changed, chunks) = await fetch(["ref": before])
        XCTAssertFalse(changed.ok)
        XCTAssertTrue(changed.error?.contains("changed since it was announced") == true, changed.error ?? "")
        XCTAssertEqual(chunks, [])
    }
}
