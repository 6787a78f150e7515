import Foundation
import TamasEvents

/// The text Telsa64 appends to the END of each recording (.mp3/.wav): lines of the form
/// `yyyy/MM/dd HH:mm:ss|Type|Key:Value|…`, then a count, then the literal `Telsa64`.
///
/// The count's meaning is not settled: the only sample has 3 entry lines and the count 11, and
/// the one reader we found takes "up to count lines before it". So entries are read backwards
/// from the count while they look like entries, at most `count` of them, and a shortfall is
/// recorded in `countMismatch` rather than treated as an error (docs/telsa.md).
public struct TelsaTrailer: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var at: Timestamp
        public var type: String
        public var fields: [String: String]
        public var text: String
    }

    public var entries: [Entry]
    public var declaredCount: Int
    public var countMismatch: Bool { declaredCount != entries.count }

    /// When the recording started: the `Info` entry's time, else the first entry's.
    public var startedAt: Timestamp? { (entries.first { $0.type == "Info" } ?? entries.first)?.at }
    public var channel: Int? { field("Channel").flatMap { Int($0) } }
    public var number: String? { field("Number") }
    public var fileName: String? { field("FileName") }
    public var callWindowStatus: String? { entries.last { $0.type == "CallWindow" }?.fields["Status"] }
    public var callType: String? { entries.last { $0.type == "CallWindow" }?.fields["Call_Type"] }
    public var text: String { entries.map(\.text).joined(separator: "\n") }

    public func field(_ key: String) -> String? {
        entries.lazy.compactMap { $0.fields[key] }.first
    }

    public struct Problem: Error, Equatable, Sendable {
        /// The file simply has no trailer (not a Telsa64 file): not an error worth reporting.
        public var absent: Bool
        public var reason: String
    }

    public static let magic = "Telsa64"

    /// Parses the last bytes of a file. Never traps, whatever the bytes.
    public static func parse(tail: [UInt8], timeZone: TimeZone) -> Result<TelsaTrailer, Problem> {
        // Split bytes, not decoded text: the audio before the trailer is not UTF-8, and each
        // trailer line is decoded on its own.
        var lines = split(tail)
        while let last = lines.last, trimmed(last).isEmpty { lines.removeLast() }
        guard let last = lines.popLast(), trimmed(last).elementsEqual(magic.utf8) else {
            return .failure(Problem(absent: true, reason: "the file does not end with a \(magic) line"))
        }
        guard let countLine = lines.popLast(), let count = Int(String(decoding: trimmed(countLine), as: UTF8.self)),
              count >= 0 else {
            return .failure(Problem(absent: false, reason: "the line before \(magic) is not a count"))
        }
        var entries: [Entry] = []
        while entries.count < count, let candidate = lines.popLast() {
            if let entry = entry(String(decoding: trimmed(candidate), as: UTF8.self), timeZone: timeZone) {
                entries.insert(entry, at: 0)
                continue
            }
            // Nothing promises a line end between the audio and the first trailer line.
            if let entry = entryGluedToAudio(trimmed(candidate), timeZone: timeZone) { entries.insert(entry, at: 0) }
            break
        }
        guard !entries.isEmpty else {
            return .failure(Problem(absent: false, reason: "\(magic) trailer without any `date|Type|key:value` line"))
        }
        return .success(TelsaTrailer(entries: entries, declaredCount: count))
    }

    private static func split(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
    }

    private static func trimmed(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = line
        while let first = slice.first, first == 0x20 || first == 0x0D || first == 0x09 || first == 0x00 { slice.removeFirst() }
        while let last = slice.last, last == 0x20 || last == 0x0D || last == 0x09 || last == 0x00 { slice.removeLast() }
        return slice
    }

    /// The entry at the end of a line that begins with audio bytes: from the last position where
    /// a `yyyy/MM/dd HH:mm:ss|` stamp starts.
    private static func entryGluedToAudio(_ line: ArraySlice<UInt8>, timeZone: TimeZone) -> Entry? {
        let stampLength = 19
        guard line.count > stampLength else { return nil }
        var start = line.endIndex - stampLength - 1
        while start > line.startIndex {
            if line[start + stampLength] == 0x7C, line[start + 4] == 0x2F, line[start + 7] == 0x2F,
               let text = String(validating: line[start...], as: UTF8.self), let entry = entry(text, timeZone: timeZone) {
                return entry
            }
            start -= 1
        }
        return nil
    }

    private static func entry(_ text: String, timeZone: TimeZone) -> Entry? {
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count >= 2, let at = time(parts[0], timeZone: timeZone) else { return nil }
        let type = String(parts[1])
        guard !type.isEmpty, type.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
        var fields: [String: String] = [:]
        for part in parts.dropFirst(2) {
            guard let colon = part.firstIndex(of: ":") else { continue }
            let key = String(part[..<colon])
            if fields[key] == nil { fields[key] = String(part[part.index(after: colon)...]) }
        }
        return Entry(at: at, type: type, fields: fields, text: text)
    }

    /// `yyyy/MM/dd HH:mm:ss` in the recorder PC's local time.
    private static func time(_ text: Substring, timeZone: TimeZone) -> Timestamp? {
        let bytes = Array(text.utf8)
        guard bytes.count == 19, bytes[4] == 0x2F, bytes[7] == 0x2F, bytes[10] == 0x20, bytes[13] == 0x3A, bytes[16] == 0x3A
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard bytes[index] >= 0x30, bytes[index] <= 0x39 else { return nil }
                value = value * 10 + Int(bytes[index] - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return nil }
        return Timestamp(year: year, month: month, day: day, hour: hour, minute: minute, second: second, timeZone: timeZone)
    }
}
