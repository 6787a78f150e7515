#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything that can go wrong with a serial port, worded for the installer who reads it in an
/// `agent.status` event or a log: what failed, on which path or setting, and what to try.
public enum SerialError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A setting outside what the adapter supports; `key` is the config key, e.g. `serial.baud`.
    case invalidSetting(name: String, key: String, value: String, allowed: String)
    case cannotOpen(path: String, errno: Int32)
    case notASerialPort(path: String)
    case cannotConfigure(path: String, errno: Int32)
    /// The device signalled hang-up or end of input: typically a USB adapter being unplugged.
    case hungUp(path: String)
    case readFailed(path: String, errno: Int32)
    case writeFailed(path: String, errno: Int32)
    /// The configured path no longer exists although the descriptor looked alive.
    case deviceRemoved(path: String)
    /// The configured path now leads to another device (adapter replugged under the same link).
    case deviceReplaced(path: String)
    case notOpen(path: String)

    public var description: String {
        switch self {
        case let .invalidSetting(name, key, value, allowed):
            "unsupported \(name) \(value) (setting \(key); allowed: \(allowed))"
        case let .cannotOpen(path, code):
            "cannot open \(path): \(Self.explain(code))"
        case let .notASerialPort(path):
            "cannot use \(path): not a serial port (check the serial: port: setting)"
        case let .cannotConfigure(path, code):
            "cannot configure \(path): \(Self.explain(code))"
        case let .hungUp(path):
            "lost \(path): the device hung up (adapter unplugged or cable pulled?)"
        case let .readFailed(path, code):
            "lost \(path): read failed: \(Self.explain(code))"
        case let .writeFailed(path, code):
            "cannot write to \(path): \(Self.explain(code))"
        case let .deviceRemoved(path):
            "lost \(path): the device path disappeared (adapter unplugged?)"
        case let .deviceReplaced(path):
            "lost \(path): the path now leads to a different device (adapter replugged?)"
        case let .notOpen(path):
            "cannot write to \(path): the port is not open"
        }
    }

    /// The errno values installers actually meet, with the fix; anything else gets the C library text.
    static func explain(_ code: Int32) -> String {
        switch code {
        case EACCES, EPERM:
            "permission denied (add the agent's user to the dialout group)"
        case ENOENT:
            "no such file (is the adapter plugged in? see ls -l /dev/serial/by-id/)"
        case ENXIO, ENODEV:
            "no such device (is the adapter plugged in?)"
        case EBUSY:
            "device busy (another program has the port open)"
        case EIO:
            "input/output error (adapter unplugged?)"
        default:
            String(cString: strerror(code)).lowercased()
        }
    }
}
