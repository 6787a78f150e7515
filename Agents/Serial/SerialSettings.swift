/// How to open one serial port. Built only through the validating initializer, so a value of
/// this type is always usable; errors name the field as `serial.<field>`. The configuration
/// file's `serial:` section is read by `SerialSection`, which names its own keys in errors.
///
/// Defaults are 9600 baud, 8 data bits, no parity, 1 stop bit, no flow control: the combination
/// every collector in the SMDR facts uses and one of the two the TDA app note lists.
public struct SerialSettings: Equatable, Sendable {
    public enum Parity: String, CaseIterable, Sendable {
        case none, even, odd, mark, space
    }

    public enum FlowControl: String, CaseIterable, Sendable {
        case none, rtsCts
    }

    public static let standardBaudRates = [1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200]

    /// A device node or, better, a stable link such as `/dev/serial/by-id/usb-FTDI_...-if00-port0`.
    public let path: String
    public let baud: Int
    public let dataBits: Int
    public let parity: Parity
    public let stopBits: Int
    public let flowControl: FlowControl
    /// Wait before the first reopen attempt after a loss; doubles on every failure.
    public let reopenDelaySeconds: Double
    /// The cap for that doubling; equal to `reopenDelaySeconds` for a fixed interval.
    public let reopenMaxDelaySeconds: Double

    public init(
        path: String,
        baud: Int = 9600,
        dataBits: Int = 8,
        parity: Parity = .none,
        stopBits: Int = 1,
        flowControl: FlowControl = .none,
        reopenDelaySeconds: Double = 1,
        reopenMaxDelaySeconds: Double = 10
    ) throws(SerialError) {
        self.path = path
        self.baud = baud
        self.dataBits = dataBits
        self.parity = parity
        self.stopBits = stopBits
        self.flowControl = flowControl
        self.reopenDelaySeconds = reopenDelaySeconds
        self.reopenMaxDelaySeconds = reopenMaxDelaySeconds
        try validate()
    }

    private enum Field: String {
        case path, baud, dataBits, parity, stopBits, flowControl, reopenDelaySeconds, reopenMaxDelaySeconds
    }

    private func validate() throws(SerialError) {
        if !path.hasPrefix("/") {
            throw Self.invalid("path", .path, "\"\(path)\"", "an absolute device path such as /dev/ttyUSB0 or /dev/serial/by-id/...")
        }
        if !Self.standardBaudRates.contains(baud) {
            throw Self.invalid("baud", .baud, "\(baud)", Self.standardBaudRates.map(String.init).joined(separator: ", "))
        }
        if dataBits != 7 && dataBits != 8 {
            throw Self.invalid("data bits", .dataBits, "\(dataBits)", "7, 8")
        }
        if stopBits != 1 && stopBits != 2 {
            throw Self.invalid("stop bits", .stopBits, "\(stopBits)", "1, 2")
        }
        #if !os(Linux)
        if parity == .mark || parity == .space {
            throw Self.invalid("parity", .parity, parity.rawValue, "none, even, odd (mark and space need Linux CMSPAR)")
        }
        #endif
        if !(reopenDelaySeconds > 0 && reopenDelaySeconds.isFinite) {
            throw Self.invalid("reopen delay", .reopenDelaySeconds, "\(reopenDelaySeconds)", "a number of seconds above 0")
        }
        if !(reopenMaxDelaySeconds >= reopenDelaySeconds && reopenMaxDelaySeconds.isFinite) {
            throw Self.invalid(
                "reopen max delay", .reopenMaxDelaySeconds, "\(reopenMaxDelaySeconds)",
                "a number of seconds not below serial.reopenDelaySeconds (\(reopenDelaySeconds))")
        }
    }

    private static func invalid(_ name: String, _ key: Field, _ value: String, _ allowed: String) -> SerialError {
        .invalidSetting(name: name, key: "serial.\(key.rawValue)", value: value, allowed: allowed)
    }
}
