import Foundation
import Glibc
import SerialPort
import TestSupport
import XCTest

final class SerialSettingsTests: XCTestCase {
    private func message(_ body: () throws -> Any) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    func testOnlyThePathIsRequiredAndTheRestDefaultsTo9600EightNoneOne() throws {
        let settings = try SerialSettings(path: "/dev/ttyUSB0")
        XCTAssertEqual(settings.baud, 9600)
        XCTAssertEqual(settings.dataBits, 8)
        XCTAssertEqual(settings.parity, .none)
        XCTAssertEqual(settings.stopBits, 1)
        XCTAssertEqual(settings.flowControl, .none)
        XCTAssertEqual(settings.reopenDelaySeconds, 1)
        XCTAssertEqual(settings.reopenMaxDelaySeconds, 10)
    }

    func testEveryStandardRateFrom1200To115200IsAcceptedAndNothingElse() throws {
        XCTAssertEqual(SerialSettings.standardBaudRates, [1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200])
        for baud in SerialSettings.standardBaudRates {
            XCTAssertEqual(try SerialSettings(path: "/dev/ttyS0", baud: baud).baud, baud)
        }
        for baud in [0, 300, 600, 14000, 14400, 230400, -9600] {
            XCTAssertThrowsError(try SerialSettings(path: "/dev/ttyS0", baud: baud), "baud \(baud)")
        }
        XCTAssertEqual(
            message { try SerialSettings(path: "/dev/ttyUSB0", baud: 14000) },
            "unsupported baud 14000 (setting serial.baud; allowed: 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200)")
    }

    func testEachBadValueNamesItsSetting() {
        XCTAssertEqual(message { try SerialSettings(path: "/dev/ttyS0", dataBits: 6) },
                       "unsupported data bits 6 (setting serial.dataBits; allowed: 7, 8)")
        XCTAssertEqual(message { try SerialSettings(path: "/dev/ttyS0", stopBits: 3) },
                       "unsupported stop bits 3 (setting serial.stopBits; allowed: 1, 2)")
        XCTAssertEqual(message { try SerialSettings(path: "ttyUSB0") },
                       "unsupported path \"ttyUSB0\" (setting serial.path; allowed: an absolute device path such as /dev/ttyUSB0 or /dev/serial/by-id/...)")
        XCTAssertEqual(message { try SerialSettings(path: "/dev/ttyS0", reopenDelaySeconds: 0) },
                       "unsupported reopen delay 0.0 (setting serial.reopenDelaySeconds; allowed: a number of seconds above 0)")
        XCTAssertEqual(message { try SerialSettings(path: "/dev/ttyS0", reopenDelaySeconds: 5, reopenMaxDelaySeconds: 2) },
                       "unsupported reopen max delay 2.0 (setting serial.reopenMaxDelaySeconds; allowed: a number of seconds not below serial.reopenDelaySeconds (5.0))")
    }

    func testSystemErrorsSayWhatFailedWhereAndWhatToDo() {
        XCTAssertEqual(SerialError.cannotOpen(path: "/dev/ttyUSB0", errno: EACCES).description,
                       "cannot open /dev/ttyUSB0: permission denied (add the agent's user to the dialout group)")
        XCTAssertEqual(SerialError.cannotOpen(path: "/dev/ttyUSB0", errno: ENOENT).description,
                       "cannot open /dev/ttyUSB0: no such file (is the adapter plugged in? see ls -l /dev/serial/by-id/)")
        XCTAssertEqual(SerialError.cannotOpen(path: "/dev/ttyS1", errno: EBUSY).description,
                       "cannot open /dev/ttyS1: device busy (another program has the port open)")
        XCTAssertEqual(SerialError.readFailed(path: "/dev/ttyUSB0", errno: EIO).description,
                       "lost /dev/ttyUSB0: read failed: input/output error (adapter unplugged?)")
        XCTAssertEqual(SerialError.cannotConfigure(path: "/dev/ttyS1", errno: EINVAL).description,
                       "cannot configure /dev/ttyS1: invalid argument")
    }
}
