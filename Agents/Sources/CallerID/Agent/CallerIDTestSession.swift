import CallerIDProtocol
import DeviceLink
import Foundation
import TamasEvents

/// `cid test`: open the port as configured and show each record the box sends and what it means.
/// A modem gets its init string as in `cid run`, or it would show no caller ID at all.
struct CallerIDTestSession {
    let settings: CallerIDAgentSettings
    let secondsLimit: Int

    /// nil when it ran to its limit; otherwise why it could not read the device.
    func run() async throws -> String? {
        var decoder = CallerIDDecoder(settings: settings.decoder)
        var framer = RecordFramer(protocol: settings.decoder.protocol)
        let parser = CallerIDRecordParser(settings: settings.decoder)
        let link = try SerialLink(settings: settings.serial)
        var elapsed = 0
        return try await withLinkInputs(link) { inputs in
            for await input in inputs {
                let now = Timestamp.now()
                var toDevice: [UInt8] = []
                switch input {
                case .status(let state, let detail):
                    if state == "portUnavailable" { return "\(state): \(detail)" }
                    say("[\(state)] \(detail)")
                case .connected:
                    toDevice = decoder.portOpened(now: now)
                case .disconnected:
                    break
                case .bytes(let bytes):
                    _ = decoder.receive(bytes, now: now)
                    for record in framer.push(bytes) {
                        let meanings = record.truncated
                            ? ["unparsed: longer than \(RecordFramer.maxRecordBytes) bytes without an end"]
                            : parser.parse(record.text).map(Self.describe)
                        say("\(record.text)\n    -> \(meanings.joined(separator: "; "))")
                    }
                case .tick:
                    _ = decoder.tick(now: now)
                    elapsed += 1
                    if elapsed >= secondsLimit {
                        say("[stopped] after \(secondsLimit) s")
                        return nil
                    }
                }
                toDevice += decoder.takeBytesToWrite()
                if !toDevice.isEmpty {
                    say("[sent] \(String(decoding: toDevice, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
                    try? await link.write(toDevice)
                }
            }
            return nil
        }
    }

    static func describe(_ record: CallerIDRecord) -> String {
        switch record {
        case .callerID(let line, let number): "caller ID on line \(line): \(number.isEmpty ? "withheld" : number)"
        case .calledNumber(let line, let number): "called number on line \(line): \(number)"
        case .ring(let line, let count): "ring on line \(line)" + (count.map { " (ring \($0))" } ?? "")
        case .offHook(let line): "off-hook on line \(line)"
        case .onHook(let line): "on-hook (hang-up) on line \(line)"
        case .dialed(let line, let digits): "dialed on line \(line): \(digits)"
        case .hangUp(let line, let dialed, let duration):
            "hang-up on line \(line)" + (dialed.isEmpty ? "" : ", number \(dialed)")
                + ", duration T\(duration.field) = \(duration.seconds) s" + (duration.doubt.map { " (\($0))" } ?? "")
        case .modemResult(let ok): ok ? "modem OK" : "modem ERROR"
        case .informational(let what): "understood, no call event: \(what)"
        case .unparsed(let reason): "unparsed: \(reason)"
        }
    }

    private func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
