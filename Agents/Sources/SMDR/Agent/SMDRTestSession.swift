import DeviceLink
import Foundation
import SMDRProtocol
import TamasEvents

/// `smdr test`: the installer's first look at a PBX (what HyperTerminal was for): connect as
/// configured, show each line and how it was read, and stop at the first fatal problem.
struct SMDRTestSession {
    /// States after which waiting longer shows nothing new.
    static let fatalStates: Set<String> = ["loginRejected", "portUnavailable", "connectFailed", "loginTimedOut"]

    let settings: SMDRAgentSettings
    let lineLimit: Int
    let secondsLimit: Int

    /// nil when it ran to its limit; otherwise why it could not read the PBX.
    func run() async throws -> String? {
        var framer = LineFramer()
        var shown = 0
        var elapsed = 0
        return try await withLinkInputs(try settings.makeLink()) { inputs in
            for await input in inputs {
                switch input {
                case .status(let state, let detail):
                    if Self.fatalStates.contains(state) { return "\(state): \(detail)" }
                    say("[\(state)] \(detail)")
                case .bytes(let bytes):
                    for line in framer.push(bytes) {
                        say(Self.describe(line))
                        shown += 1
                        if shown >= lineLimit { return nil }
                    }
                case .tick:
                    elapsed += 1
                    if elapsed >= secondsLimit {
                        say("[stopped] \(shown) line(s) in \(secondsLimit) s")
                        return nil
                    }
                case .connected, .disconnected:
                    break
                }
            }
            return nil
        }
    }

    private func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func describe(_ line: LineFramer.Line) -> String {
        let meaning: String
        if line.truncated {
            meaning = "unparsed: longer than \(LineFramer().maxLineBytes) bytes without a line end"
        } else {
            switch SMDRLineParser.parse(line.text) {
            case .record(let record): meaning = describe(record)
            case .layoutLine(let kind): meaning = "skipped: \(kind.rawValue) line"
            case .notACall(let reason): meaning = "not a call: \(reason)"
            case .unparsed(let reason): meaning = "unparsed: \(reason)"
            }
        }
        return "\(line.text)\n    -> \(meaning)"
    }

    static func describe(_ record: SMDRRecord) -> String {
        let date = record.dateFields
        var parts = [
            "\(record.kind.rawValue) call, layout \(record.layout.rawValue)",
            "date fields \(date.first)/\(date.second)/\(date.third)",
            String(format: "time %02d:%02d", record.hour, record.minute),
        ]
        if record.transferMark { parts.append("transfer mark *") }
        if let ext = record.extension { parts.append("extension \(ext)") }
        if let co = record.coLine { parts.append("CO \(co)") }
        parts.append(record.number.isEmpty ? "no number" : "number \(record.number)\(record.dialTransferred ? " (transferred, '-')" : "")")
        if let name = record.callerName { parts.append("caller name \(name)") }
        if let ddi = record.ddi { parts.append("DDI \(ddi)") }
        if let ring = record.ringSec { parts.append("ring \(ring) s") }
        parts.append(record.durationSec.map { "duration \($0) s" } ?? "no duration")
        if let cost = record.cost { parts.append("cost \(cost)") }
        if let account = record.accountCode { parts.append("account \(account)") }
        if let code = record.conditionCode { parts.append("code \(code)") }
        if record.isRingingNotice { parts.append("ringing notice") }
        if record.isAnswerNotice { parts.append("answer notice") }
        return parts.joined(separator: ", ")
    }
}
