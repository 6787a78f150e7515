import Foundation
import Glibc
import SerialPort
import TestSupport
import XCTest

final class SerialPortSupervisorTests: XCTestCase {
    /// Every byte value, then what PBXs and caller-ID boxes really send: CR, LF, CRLF, form feed,
    /// NUL, 0xFF and ISO-8859-1 text, none of which a raw port may translate or swallow.
    static let payload: [UInt8] = Array(0...255)
        + Array("10/12/20 16:09    402 01 <I>02188776655            0'05 00:01'44  NA\r\n".utf8)
        + [0x0D, 0x0A, 0x0A, 0x0D, 0x0C, 0x00, 0xFF, 0x00]
        + [0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72, 0x20, 0xE9, 0xE0, 0xA0, 0x0D]
        + Array("L1C09191714505@L1R01@\u{3}AT\r".utf8)

    private func settings(
        _ link: PortLink, baud: Int = 9600, dataBits: Int = 8, parity: SerialSettings.Parity = .none,
        stopBits: Int = 1, flow: SerialSettings.FlowControl = .none
    ) throws -> SerialSettings {
        try SerialSettings(
            path: link.path, baud: baud, dataBits: dataBits, parity: parity, stopBits: stopBits,
            flowControl: flow, reopenDelaySeconds: 0.02, reopenMaxDelaySeconds: 0.1)
    }

    private static func isOpened(_ event: SerialPortEvent) -> Bool {
        if case .opened = event { return true }
        return false
    }

    private static func isReopened(_ event: SerialPortEvent) -> Bool {
        if case .reopened = event { return true }
        return false
    }

    private static func isLost(_ event: SerialPortEvent) -> Bool {
        if case .lost = event { return true }
        return false
    }

    func testBytesArriveExactlyAsSentAtEverySetting() async throws {
        for line in SerialDeviceTests.lineSettings {
            let label = "\(line.baud) \(line.dataBits)\(line.parity)\(line.stopBits) \(line.flow)"
            let terminal = try PseudoTerminal()
            let link = try PortLink()
            try link.point(at: terminal.slavePath)
            let supervisor = try SerialPortSupervisor(settings: settings(
                link, baud: line.baud, dataBits: line.dataBits, parity: line.parity, stopBits: line.stopBits, flow: line.flow))
            let log = EventLog(supervisor.events)

            try await log.wait(for: "opened at \(label)") { $0.contains(where: Self.isOpened) }
            let opened = await log.events.first
            XCTAssertEqual(opened, .opened(SerialPortOpened(
                path: link.path, devicePath: terminal.slavePath, settingsNotKept: line.notKeptOnPTY)), label)

            for start in stride(from: 0, to: Self.payload.count, by: 97) {
                try terminal.send(Array(Self.payload[start..<min(start + 97, Self.payload.count)]))
            }
            let received = try await log.waitForBytes(Self.payload.count)
            XCTAssertEqual(received, Self.payload, label)

            log.consumer.cancel()
            XCTAssertTrue(terminal.slaveClosed(within: .seconds(2)), "port still open after cancel at \(label)")
        }
    }

    func testWritesReachTheDeviceUnchanged() async throws {
        let terminal = try PseudoTerminal()
        let link = try PortLink()
        try link.point(at: terminal.slavePath)
        let supervisor = try SerialPortSupervisor(settings: settings(link))
        let log = EventLog(supervisor.events)
        try await log.wait(for: "opened") { $0.contains(where: Self.isOpened) }

        let modemInit = Array("ATZ\rAT+VCID=1\r\n".utf8) + [0x00, 0xFF, 0xFC, 0x6C, 0x70, 0x72, 0x74, 0x06, 0x6C, 0xFD]
        try supervisor.write(modemInit)
        try supervisor.write(Array(0...255))
        let expected = modemInit + Array(0...255)
        XCTAssertEqual(terminal.receive(count: expected.count), expected)
        supervisor.stop()
        try await log.waitUntilFinished()
        XCTAssertTrue(terminal.slaveClosed(within: .seconds(2)), "port still open after stop()")
    }

    func testAnAbsentDeviceIsReportedOnceRetriedAndOpenedWhenItAppears() async throws {
        let link = try PortLink()
        let supervisor = try SerialPortSupervisor(settings: settings(link))
        let log = EventLog(supervisor.events)

        try await log.wait(for: "openFailed") { !$0.isEmpty }
        XCTAssertThrowsError(try supervisor.write([0x41])) { error in
            XCTAssertEqual("\(error)", "cannot write to \(link.path): the port is not open")
        }
        // Several retries happen meanwhile (0.02 s doubling to 0.1 s); the same reason is told once.
        try await Task.sleep(for: .milliseconds(300))
        let failures = await log.events
        XCTAssertEqual(failures, [.openFailed(.cannotOpen(path: link.path, errno: ENOENT), retryInSeconds: 0.02)])

        let terminal = try PseudoTerminal()
        try link.point(at: terminal.slavePath)
        try await log.wait(for: "opened after the device appeared") { $0.contains(where: Self.isOpened) }
        let opened = await log.events.last
        XCTAssertEqual(opened, .opened(SerialPortOpened(path: link.path, devicePath: terminal.slavePath, settingsNotKept: [])))
        try terminal.send([0x31, 0x0D])
        let received = try await log.waitForBytes(2)
        XCTAssertEqual(received, [0x31, 0x0D])
        log.consumer.cancel()
    }

    func testUnplugAndReplugReportLostThenReopenedAndBytesKeepFlowing() async throws {
        let link = try PortLink()
        let first = try PseudoTerminal()
        try link.point(at: first.slavePath)
        let supervisor = try SerialPortSupervisor(settings: settings(link))
        let log = EventLog(supervisor.events)
        try await log.wait(for: "opened") { $0.contains(where: Self.isOpened) }
        try first.send(Array("before\r\n".utf8))
        _ = try await log.waitForBytes(8)

        first.closeMaster()
        link.remove()
        try await log.wait(for: "lost after unplug") { $0.contains(where: Self.isLost) }
        let afterUnplug = await log.events
        XCTAssertEqual(afterUnplug.first(where: Self.isLost), .lost(.hungUp(path: link.path)))
        XCTAssertThrowsError(try supervisor.write([0x41]), "writes while unplugged must be refused")

        let second = try PseudoTerminal()
        try link.point(at: second.slavePath)
        try await log.wait(for: "reopened after replug") { $0.contains(where: Self.isReopened) }
        let afterReplug = await log.events
        XCTAssertEqual(afterReplug.last, .reopened(SerialPortOpened(path: link.path, devicePath: second.slavePath, settingsNotKept: [])))
        XCTAssertEqual(afterReplug.filter(Self.isOpened).count, 1, EventLog.summary(afterReplug))
        XCTAssertTrue(afterReplug.allSatisfy { event in
            if case let .openFailed(reason, _) = event { return reason == .cannotOpen(path: link.path, errno: ENOENT) }
            return true
        }, EventLog.summary(afterReplug))

        try supervisor.write(Array("AT+VCID=1\r".utf8))
        XCTAssertEqual(second.receive(count: 10), Array("AT+VCID=1\r".utf8), "modem init after reopen")
        try second.send(Array("after\r\n".utf8) + [0x00, 0xFF])
        let received = try await log.waitForBytes(8 + 9)
        XCTAssertEqual(received, Array("before\r\nafter\r\n".utf8) + [0x00, 0xFF])
        log.consumer.cancel()
        XCTAssertTrue(second.slaveClosed(within: .seconds(2)), "port still open after cancel")
    }

    func testALinkThatVanishesWithoutHangUpIsNoticedAndReopenedWhenBack() async throws {
        let terminal = try PseudoTerminal()
        let link = try PortLink()
        try link.point(at: terminal.slavePath)
        let supervisor = try SerialPortSupervisor(settings: settings(link), pathCheckSeconds: 0.05)
        let log = EventLog(supervisor.events)
        try await log.wait(for: "opened") { $0.contains(where: Self.isOpened) }

        link.remove()
        try await log.wait(for: "lost after the link vanished") { $0.contains(where: Self.isLost) }
        let lost = await log.events.first(where: Self.isLost)
        XCTAssertEqual(lost, .lost(.deviceRemoved(path: link.path)))
        XCTAssertTrue(terminal.slaveClosed(within: .seconds(2)), "descriptor kept after loss")

        try link.point(at: terminal.slavePath)
        try await log.wait(for: "reopened") { $0.contains(where: Self.isReopened) }
        XCTAssertFalse(terminal.slaveClosed(within: .milliseconds(20)), "reopened but the slave is not open")
        try terminal.send([0x0A, 0x0D, 0x00])
        let received = try await log.waitForBytes(3)
        XCTAssertEqual(received, [0x0A, 0x0D, 0x00])
        log.consumer.cancel()
    }

    func testCancellingTheConsumerEndsTheThreadAndClosesThePort() async throws {
        let terminal = try PseudoTerminal()
        let link = try PortLink()
        try link.point(at: terminal.slavePath)
        let supervisor = try SerialPortSupervisor(settings: settings(link))
        let log = EventLog(supervisor.events)
        try await log.wait(for: "opened") { $0.contains(where: Self.isOpened) }
        XCTAssertFalse(terminal.slaveClosed(within: .milliseconds(50)), "the port must stay open while consumed")

        log.consumer.cancel()
        XCTAssertTrue(terminal.slaveClosed(within: .seconds(2)), "port still open after the consumer was cancelled")
        try await log.waitUntilFinished()
        XCTAssertThrowsError(try supervisor.write([0x41]), "a stopped port must refuse writes")
        // Nothing reopens it afterwards, even well past the reopen delay.
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertTrue(terminal.slaveClosed(within: .milliseconds(20)), "the port was reopened after cancel")
    }

    func testEachPortChangeHasAnAgentStatusWordedForTheInstaller() {
        let plain = SerialPortOpened(path: "/dev/ttyUSB0", devicePath: "/dev/ttyUSB0", settingsNotKept: [])
        let linked = SerialPortOpened(
            path: "/dev/serial/by-id/usb-FTDI-if00-port0", devicePath: "/dev/ttyUSB1", settingsNotKept: ["serial.parity"])
        let statuses = [
            SerialPortEvent.opened(plain), .reopened(linked), .lost(.hungUp(path: "/dev/ttyUSB0")),
            .openFailed(.cannotOpen(path: "/dev/ttyUSB0", errno: EACCES), retryInSeconds: 2), .bytes([0x41]),
        ].map { $0.agentStatus.map { "\($0.state): \($0.detail)" } }
        XCTAssertEqual(statuses, [
            "portOpened: opened /dev/ttyUSB0",
            "portReopened: opened /dev/serial/by-id/usb-FTDI-if00-port0 (/dev/ttyUSB1), but the driver did not keep serial.parity",
            "portLost: lost /dev/ttyUSB0: the device hung up (adapter unplugged or cable pulled?)",
            "portUnavailable: cannot open /dev/ttyUSB0: permission denied (add the agent's user to the dialout group); retrying in 2.0 s",
            nil,
        ])
    }
}
