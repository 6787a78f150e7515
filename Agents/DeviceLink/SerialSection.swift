import AgentCore
import SerialPort

/// Reads a `serial:` section (port, baud, dataBits, parity, stopBits, flowControl), reporting
/// problems with the file, key and line like every other setting.
public enum SerialSection {
    public static let keys: Set<String> = ["port", "baud", "dataBits", "parity", "stopBits", "flowControl"]

    public static func read(_ section: ConfigSection, defaultBaud: Int = 9600) throws -> SerialSettings {
        try section.rejectUnknownKeys(keys)
        let port = try section.string("port")
        let baud = try section.int("baud", default: defaultBaud, range: 1200...115_200)
        let dataBits = try section.int("dataBits", default: 8, range: 7...8)
        let parity = try word("parity", in: section, default: SerialSettings.Parity.none)
        let stopBits = try section.int("stopBits", default: 1, range: 1...2)
        let flowControl = try word("flowControl", in: section, default: SerialSettings.FlowControl.none)
        do {
            return try SerialSettings(path: port, baud: baud, dataBits: dataBits, parity: parity, stopBits: stopBits,
                                      flowControl: flowControl)
        } catch {
            guard case let .invalidSetting(name, key, value, allowed) = error else { throw section.error("port", error.description) }
            let field = configKey(for: key)
            throw section.error(field, "unsupported \(field == "port" ? "port" : name) \(value) (allowed: \(allowed))")
        }
    }

    /// Matched without regard to case: terminal programs and PBX manuals write `Even`, `RTS/CTS`'s
    /// setting as `RtsCts`, and the installer copies what they read.
    private static func word<Word: RawRepresentable & CaseIterable>(
        _ key: String, in section: ConfigSection, default fallback: Word
    ) throws -> Word where Word.RawValue == String {
        guard let text = try section.optionalString(key) else { return fallback }
        if let match = Word.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) { return match }
        throw section.error(key, "must be one of \(Word.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
    }

    /// SerialSettings names its fields `serial.<field>`; the file calls the path `port`, and the
    /// message already starts with the file's own key, so the field's name is not repeated.
    private static func configKey(for key: String) -> String {
        let field = key.hasPrefix("serial.") ? String(key.dropFirst("serial.".count)) : key
        return field == "path" ? "port" : field
    }
}
