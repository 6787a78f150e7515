import Foundation
import Glibc
@testable import SerialPort
import TestSupport
import XCTest

final class SerialDeviceTests: XCTestCase {
    private func isSet(_ field: tcflag_t, _ mask: some BinaryInteger) -> Bool {
        field & tcflag_t(truncatingIfNeeded: mask) != 0
    }

    private func speed(_ baud: Int) -> speed_t {
        let constants: [Int: Int32] = [1200: B1200, 9600: B9600, 19200: B19200, 115200: B115200]
        return speed_t(truncatingIfNeeded: constants[baud] ?? -1)
    }

    /// What a Linux pseudo-terminal does with each request: it keeps the speed, stop bits,
    /// CRTSCTS, PARODD and CMSPAR, but always forces CS8 and clears PARENB (drivers/tty/pty.c),
    /// so the adapter must report data bits and parity as not kept whenever they ask for more.
    static let lineSettings: [(baud: Int, dataBits: Int, parity: SerialSettings.Parity, stopBits: Int, flow: SerialSettings.FlowControl, notKeptOnPTY: [String])] = [
        (1200, 7, .even, 1, .none, ["serial.dataBits", "serial.parity"]),
        (9600, 8, .none, 1, .none, []),
        (115200, 8, .odd, 2, .none, ["serial.parity"]),
        (9600, 7, .mark, 1, .none, ["serial.dataBits", "serial.parity"]),
        (9600, 8, .space, 1, .none, ["serial.parity"]),
        (19200, 8, .none, 1, .rtsCts, []),
    ]

    func testRawModeSpeedStopBitsAndFlowControlReallyReachTheSlave() throws {
        for line in Self.lineSettings {
            let terminal = try PseudoTerminal()
            let link = try PortLink()
            try link.point(at: terminal.slavePath)
            let settings = try SerialSettings(
                path: link.path, baud: line.baud, dataBits: line.dataBits, parity: line.parity,
                stopBits: line.stopBits, flowControl: line.flow)
            let label = "\(line.baud) \(line.dataBits)\(line.parity)\(line.stopBits) \(line.flow)"

            let device = try SerialDevice(opening: settings)
            defer { device.close() }
            var attributes = try terminal.slaveAttributes()

            XCTAssertEqual(device.settingsNotKept, line.notKeptOnPTY, label)
            XCTAssertEqual(device.devicePath, terminal.slavePath, label)
            XCTAssertEqual(cfgetispeed(&attributes), speed(settings.baud), label)
            XCTAssertEqual(cfgetospeed(&attributes), speed(settings.baud), label)
            XCTAssertEqual(isSet(attributes.c_cflag, CSTOPB), settings.stopBits == 2, label)
            XCTAssertEqual(isSet(attributes.c_cflag, CRTSCTS), settings.flowControl == .rtsCts, label)
            XCTAssertEqual(isSet(attributes.c_cflag, CMSPAR), settings.parity == .mark || settings.parity == .space, label)
            XCTAssertEqual(isSet(attributes.c_cflag, PARODD), settings.parity == .mark || settings.parity == .odd, label)
            XCTAssertTrue(isSet(attributes.c_cflag, CLOCAL) && isSet(attributes.c_cflag, CREAD), label)
            for (name, flag) in [("ICANON", ICANON), ("ECHO", ECHO), ("ISIG", ISIG), ("IEXTEN", IEXTEN)] {
                XCTAssertFalse(isSet(attributes.c_lflag, flag), "\(name) still on at \(label)")
            }
            for (name, flag) in [("ICRNL", ICRNL), ("INLCR", INLCR), ("IGNCR", IGNCR), ("IXON", IXON), ("IXOFF", IXOFF), ("ISTRIP", ISTRIP), ("INPCK", INPCK)] {
                XCTAssertFalse(isSet(attributes.c_iflag, flag), "\(name) still on at \(label)")
            }
            XCTAssertFalse(isSet(attributes.c_oflag, OPOST), "OPOST still on at \(label)")
        }
    }

    /// The part a pseudo-terminal cannot show: the exact character-size and parity bits requested.
    func testDataBitsAndParityBitsAreRequestedExactly() throws {
        let expected: [(SerialSettings.Parity, parenb: Bool, parodd: Bool, cmspar: Bool)] = [
            (.none, false, false, false), (.even, true, false, false), (.odd, true, true, false),
            (.mark, true, true, true), (.space, true, false, true),
        ]
        for dataBits in [7, 8] {
            for (parity, parenb, parodd, cmspar) in expected {
                var attributes = termios()
                attributes.c_cflag = tcflag_t(truncatingIfNeeded: PARENB | PARODD | CMSPAR | CS5)
                SerialDevice.applyRawMode(&attributes, for: try SerialSettings(path: "/x", dataBits: dataBits, parity: parity))
                let label = "\(dataBits) bits \(parity)"
                XCTAssertEqual(attributes.c_cflag & tcflag_t(truncatingIfNeeded: CSIZE),
                               tcflag_t(truncatingIfNeeded: dataBits == 7 ? CS7 : CS8), label)
                XCTAssertEqual(isSet(attributes.c_cflag, PARENB), parenb, label)
                XCTAssertEqual(isSet(attributes.c_cflag, PARODD), parodd, label)
                XCTAssertEqual(isSet(attributes.c_cflag, CMSPAR), cmspar, label)
            }
        }
    }

    func testAPathThatIsNotATerminalIsRefusedByName() {
        XCTAssertThrowsError(try SerialDevice(opening: SerialSettings(path: "/dev/null"))) { error in
            XCTAssertEqual("\(error)", "cannot use /dev/null: not a serial port (check the serial: port: setting)")
        }
    }

    func testAMissingDeviceSaysWhereAndWhatToCheck() throws {
        let link = try PortLink()
        XCTAssertThrowsError(try SerialDevice(opening: SerialSettings(path: link.path))) { error in
            XCTAssertEqual(error as? SerialError, .cannotOpen(path: link.path, errno: ENOENT))
            XCTAssertEqual("\(error)", "cannot open \(link.path): no such file (is the adapter plugged in? see ls -l /dev/serial/by-id/)")
        }
    }
}
