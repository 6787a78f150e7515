import Foundation
import TestSupport

/// Recordings as Telsa writes them: audio bytes, then the Telsa64 trailer lines at the end.
enum TelsaRecordings {
    static func trailer(channel: Int, started: String = "2025/12/09 11:34:30", number: String = "09123456789") -> Data {
        Data("""
            \(started)|Info|FileName:e9c9be2f-5932-4226-8ac7-5c5ab5de09e9|ServerName:TELSAPC|Card:0x40000047a69dc00|Channel:\(channel)
            \(started)|Number|Number:\(number)
            \(started)|CallWindow|Status:Start|Call_Type:Voice_Call|Color:Gray
            11
            Telsa64

            """.utf8)
    }

    /// The fixture's trailer, without the researcher's `# SOURCE` line.
    static func fixtureTrailer() throws -> Data {
        let text = String(decoding: try Fixtures.data("telsa/telsa64_trailer_sample.txt"), as: UTF8.self)
        return Data(text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("#") }.joined(separator: "\n").utf8)
    }

    /// Audio-like bytes: a RIFF header and a deterministic pattern that is not UTF-8 text.
    static func audio(_ count: Int, seed: UInt8 = 7) -> Data {
        var bytes = [UInt8](Data("RIFF".utf8))
        var value = seed
        while bytes.count < count {
            value = value &* 31 &+ 17
            bytes.append(value | 0x80)
        }
        return Data(bytes.prefix(count))
    }

    static func write(_ data: Data, to url: URL, modified: Date? = nil) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
        if let modified { try setModified(url, modified) }
    }

    static func append(_ data: Data, to url: URL) throws {
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
    }

    static func setModified(_ url: URL, _ date: Date) throws {
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: url.path)
    }

    /// 2025-12-09 11:34:30 in Tehran (+03:30), the trailers' start.
    static let trailerStart = Date(timeIntervalSince1970: 1_765_267_470)
}
