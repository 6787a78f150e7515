#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One open serial port: a non-blocking descriptor configured for raw 8-bit-clean input, so the
/// bytes reach the state machine exactly as the PBX or caller-ID box sent them. Not thread-safe:
/// `SerialPortSupervisor` owns it on its own thread.
public final class SerialDevice {
    public enum ReadOutcome: Equatable {
        case bytes([UInt8])
        case nothingYet
        case lost(SerialError)
    }

    public let path: String
    /// Where `path` leads, e.g. `/dev/ttyUSB0` behind a `/dev/serial/by-id/` link.
    public let devicePath: String
    /// Config keys whose values the driver did not keep (read back after configuring). Some
    /// USB adapters ignore mark/space parity, and a pseudo-terminal forces 8 bits without parity.
    public let settingsNotKept: [String]
    let descriptor: Int32
    private let deviceNumber: dev_t
    private var isClosed = false

    public init(opening settings: SerialSettings) throws(SerialError) {
        let path = settings.path
        // O_NOCTTY: a port must never become the agent's controlling terminal (a hang-up would
        // signal the process). O_NONBLOCK: open does not wait for carrier, reads do not block.
        let descriptor = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, errno: errno) }
        do throws(SerialError) {
            var status = stat()
            guard fstat(descriptor, &status) == 0 else { throw SerialError.cannotOpen(path: path, errno: errno) }
            settingsNotKept = try Self.configure(descriptor, path: path, settings: settings)
            deviceNumber = status.st_rdev
        } catch {
            _ = systemClose(descriptor)
            throw error
        }
        self.path = path
        self.descriptor = descriptor
        devicePath = Self.resolve(path)
    }

    deinit {
        close()
    }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        // Unsent output would make close wait for the driver to drain it (up to 30 s on many
        // UARTs, forever with RTS/CTS and a silent peer); the device it was for is gone or unwanted.
        tcflush(descriptor, TCOFLUSH)
        _ = systemClose(descriptor)
    }

    /// Reads what is waiting. End of input and EIO both mean the device went away: a tty in raw
    /// mode with VMIN=1 never returns 0 bytes while it is alive.
    public func read(maxCount: Int = 4096) -> ReadOutcome {
        var buffer = [UInt8](repeating: 0, count: maxCount)
        let count = buffer.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, $0.count) }
        let code = errno
        if count > 0 { return .bytes(Array(buffer.prefix(count))) }
        if count == 0 { return .lost(.hungUp(path: path)) }
        switch code {
        case EAGAIN, EWOULDBLOCK, EINTR: return .nothingYet
        default: return .lost(.readFailed(path: path, errno: code))
        }
    }

    /// Writes as much as the driver takes now and returns how many bytes that was.
    public func write(_ bytes: ArraySlice<UInt8>) throws(SerialError) -> Int {
        let count = bytes.withUnsafeBytes { systemWrite(descriptor, $0.baseAddress, $0.count) }
        let code = errno
        if count >= 0 { return count }
        switch code {
        case EAGAIN, EWOULDBLOCK, EINTR: return 0
        default: throw .writeFailed(path: path, errno: code)
        }
    }

    /// Whether the configured path still leads to this descriptor's device. An unplugged adapter
    /// usually hangs up, but a by-id link can vanish or be re-pointed first.
    public func pathProblem() -> SerialError? {
        var status = stat()
        if stat(path, &status) != 0 {
            return errno == ENOENT || errno == ENOTDIR ? .deviceRemoved(path: path) : nil
        }
        return status.st_rdev == deviceNumber ? nil : .deviceReplaced(path: path)
    }

    private static func configure(_ descriptor: Int32, path: String, settings: SerialSettings) throws(SerialError) -> [String] {
        var current = termios()
        guard tcgetattr(descriptor, &current) == 0 else {
            throw errno == ENOTTY ? .notASerialPort(path: path) : .cannotConfigure(path: path, errno: errno)
        }
        // Two agents reading one port would each get a random half of every line.
        guard ioctl(descriptor, UInt(TIOCEXCL)) == 0 else { throw .cannotConfigure(path: path, errno: errno) }
        var wanted = current
        applyRawMode(&wanted, for: settings)
        guard tcsetattr(descriptor, TCSANOW, &wanted) == 0 else { throw .cannotConfigure(path: path, errno: errno) }
        // tcsetattr succeeds if any part was applied, so read back what the driver kept.
        var actual = termios()
        guard tcgetattr(descriptor, &actual) == 0 else { throw .cannotConfigure(path: path, errno: errno) }
        return settingsNotKept(wanted: wanted, actual: actual)
    }

    /// Raw mode: no echo, no line editing, no signals, no CR/LF translation, no XON/XOFF, no
    /// parity checking or stripping (a wrong parity setting shows up as unparsed lines, not as
    /// silently dropped bytes); CLOCAL because a null-modem cable to a PBX carries no carrier.
    static func applyRawMode(_ attributes: inout termios, for settings: SerialSettings) {
        cfmakeraw(&attributes)
        attributes.c_iflag &= ~flag(IXON | IXOFF | IXANY | INPCK | ISTRIP | IGNPAR | PARMRK | ICRNL | INLCR | IGNCR)
        attributes.c_oflag &= ~flag(OPOST)
        attributes.c_lflag &= ~flag(ECHO | ECHONL | ICANON | ISIG | IEXTEN)
        attributes.c_cflag &= ~(flag(CSIZE | PARENB | PARODD | CSTOPB) | flag(CRTSCTS) | markSpaceFlag)
        attributes.c_cflag |= flag(CREAD | CLOCAL) | flag(settings.dataBits == 7 ? CS7 : CS8)
        switch settings.parity {
        case .none: break
        case .even: attributes.c_cflag |= flag(PARENB)
        case .odd: attributes.c_cflag |= flag(PARENB | PARODD)
        case .mark: attributes.c_cflag |= flag(PARENB | PARODD) | markSpaceFlag
        case .space: attributes.c_cflag |= flag(PARENB) | markSpaceFlag
        }
        if settings.stopBits == 2 { attributes.c_cflag |= flag(CSTOPB) }
        if settings.flowControl == .rtsCts { attributes.c_cflag |= flag(CRTSCTS) }
        withUnsafeMutableBytes(of: &attributes.c_cc) { controlCharacters in
            controlCharacters[Int(VMIN)] = 1
            controlCharacters[Int(VTIME)] = 0
        }
        let speed = baudConstant(settings.baud)
        cfsetispeed(&attributes, speed)
        cfsetospeed(&attributes, speed)
    }

    static func settingsNotKept(wanted: termios, actual: termios) -> [String] {
        var wanted = wanted
        var actual = actual
        func differs(_ mask: tcflag_t) -> Bool { wanted.c_cflag & mask != actual.c_cflag & mask }
        var notKept: [String] = []
        if cfgetispeed(&wanted) != cfgetispeed(&actual) || cfgetospeed(&wanted) != cfgetospeed(&actual) {
            notKept.append("serial.baud")
        }
        if differs(flag(CSIZE)) { notKept.append("serial.dataBits") }
        if differs(flag(PARENB | PARODD) | markSpaceFlag) { notKept.append("serial.parity") }
        if differs(flag(CSTOPB)) { notKept.append("serial.stopBits") }
        if differs(flag(CRTSCTS)) { notKept.append("serial.flowControl") }
        if wanted.c_iflag != actual.c_iflag || wanted.c_oflag != actual.c_oflag || wanted.c_lflag != actual.c_lflag {
            notKept.append("raw mode")
        }
        return notKept
    }

    static func baudConstant(_ baud: Int) -> speed_t {
        let constant: Int = switch baud {
        case 1200: Int(B1200)
        case 1800: Int(B1800)
        case 2400: Int(B2400)
        case 4800: Int(B4800)
        case 19200: Int(B19200)
        case 38400: Int(B38400)
        case 57600: Int(B57600)
        case 115200: Int(B115200)
        default: Int(B9600)  // 9600 itself; validation admits nothing else here
        }
        return speed_t(truncatingIfNeeded: constant)
    }

    private static func resolve(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

#if os(Linux)
private let markSpaceFlag = flag(CMSPAR)
#else
private let markSpaceFlag: tcflag_t = 0
#endif

private func flag(_ value: some BinaryInteger) -> tcflag_t { tcflag_t(truncatingIfNeeded: value) }

// The methods above are named like the system calls; these keep the calls unambiguous.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }
private func systemClose(_ fd: Int32) -> Int32 { close(fd) }
