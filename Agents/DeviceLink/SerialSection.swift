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
        let parity = try section.string("parity", oneOf: SerialSettings.Parity.allCases.map(\.rawValue), default: "none")
        let stopBits = try section.int("stopBits", default: 1, range: 1...2)
        let flowControl = try section.string(
            "flowControl", oneOf: SerialSettings.FlowControl.allCases.map(\.rawValue), default: "none")
        do {
            return try SerialSettings(
                path: port, baud: baud, dataBits: dataBits, parity: SerialSettings.Parity(rawValue: parity) ?? .none,
                stopBits: stopBits, flowControl: SerialSettings.FlowControl(rawValue: flowControl) ?? .none)
        } catch {
            throw section.error(configKey(for: error), error.description)
        }
    }

    /// SerialSettings names its fields `serial.<field>`; the file calls the path `port`.
    private static func configKey(for error: SerialError) -> String {
        guard case let .invalidSetting(_, key, _, _) = error else { return "port" }
        let field = key.hasPrefix("serial.") ? String(key.dropFirst("serial.".count)) : key
        return field == "path" ? "port" : field
    }
}
