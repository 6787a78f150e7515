import Foundation
import SMDRProtocol
import TestSupport
import XCTest

/// `tamas-agent smdr run` against a PBX test double on TCP port 2300's protocol, with a real
/// collector: login, streaming, a wrong password, a dropped connection and a silent one.
final class SMDRAgentTCPTests: XCTestCase {
    func testRightPasswordStreamsEveryCallAndADroppedConnectionIsResumed() throws {
        let folder = try temporaryFolder("smdr-tcp")
        let collector = try CollectorUnderTest(name: "smdr-tcp")
        let pbx = try FakePBX(password: "Kx500pass")
        let traffic = Scenario.traffic(calls: 60, seed: 7)
        pbx.print(traffic.lines)
        pbx.dropConnection(afterLines: traffic.lines.count / 2)
        let config = try collector.enrollAgent("ns500", systems: ["office1"], folder: folder,
                                               extra: Scenario.tcp(port: pbx.port, password: "kx500PASS"))
        let agent = try ChildProcess("tamas-agent", ["smdr", "run", "--config", config.path], name: "smdr agent")

        let complete = try eventually(timeout: 60, every: 0.5) { try endedCallCounts(collector.calls()) == traffic.counts }
        XCTAssertTrue(complete, "calls: \((try? endedCallCounts(collector.calls())) ?? [:]) expected: \(traffic.counts)\nagent log:\n\(agent.log.suffix(3000))")
        XCTAssertEqual(try collector.calls().count, traffic.calls.count, "no call split or doubled by the reconnect")
        XCTAssertEqual(pbx.unsentLines, 0)
        XCTAssertEqual(pbx.logins, 2, "logged in, dropped, logged in again")
        let states = try statusStates(collector)
        XCTAssertTrue(states.contains("loggedIn"), "\(states)")
        XCTAssertTrue(states.contains("connectionLost"), "the drop is explained in the call log: \(states)")
        XCTAssertTrue(agent.isRunning)
        XCTAssertFalse(agent.log.contains("Kx500pass") || agent.log.contains("kx500PASS"), "the password is never logged")
    }

    func testWrongPasswordIsReportedAndNotRetriedFast() throws {
        let folder = try temporaryFolder("smdr-reject")
        let collector = try CollectorUnderTest(name: "smdr-reject")
        let pbx = try FakePBX(password: "PCCSMDR")
        let config = try collector.enrollAgent("ns500", systems: ["office1"], folder: folder,
                                               extra: Scenario.tcp(port: pbx.port, password: "wrong-one"))
        let agent = try ChildProcess("tamas-agent", ["smdr", "run", "--config", config.path], name: "smdr agent")
        let reported = try eventually(timeout: 30, every: 0.3) {
            try collector.events().contains { $0["type"] as? String == "agent.status" && $0["state"] as? String == "loginRejected" }
        }
        XCTAssertTrue(reported, "agent log:\n\(agent.log.suffix(3000))")
        let detail = try collector.events().first { $0["state"] as? String == "loginRejected" }?["detail"] as? String ?? ""
        XCTAssertTrue(detail.hasPrefix("SMDR login rejected"), detail)
        XCTAssertFalse(detail.contains("wrong-one"), "the password is not in the status")
        sleep(5)
        XCTAssertEqual(pbx.connections, 1, "a rejected password is not hammered at the PBX")
        XCTAssertEqual(pbx.logins, 0)
        XCTAssertTrue(agent.isRunning, "the agent keeps running and will try again much later")
    }

    /// A vanished PBX sends no FIN, and SMDR has no heartbeat: only TCP keepalive notices. The
    /// kernel shows the agent's keepalive timer in /proc/net/tcp; with Linux's defaults it would
    /// read two hours, with the agent's own timings at most a minute.
    func testTheConnectionProbesADeadPBXWithinAMinuteOfSilence() throws {
        let folder = try temporaryFolder("smdr-keepalive")
        let collector = try CollectorUnderTest(name: "smdr-keepalive")
        let pbx = try FakePBX(password: "PCCSMDR")
        let config = try collector.enrollAgent("ns500", systems: ["office1"], folder: folder,
                                               extra: Scenario.tcp(port: pbx.port, password: "PCCSMDR"))
        let agent = try ChildProcess("tamas-agent", ["smdr", "run", "--config", config.path], name: "smdr agent")
        XCTAssertTrue(eventually(timeout: 30, every: 0.2) { pbx.logins == 1 }, "agent log:\n\(agent.log.suffix(3000))")
        var timer: (kind: Int, seconds: Double)?
        let armed = eventually(timeout: 20, every: 0.2) {
            timer = Self.tcpTimer(remotePort: pbx.port)
            return timer?.kind == 2
        }
        XCTAssertTrue(armed, "no keepalive timer on the agent's connection to port \(pbx.port): \(String(describing: timer))")
        XCTAssertLessThanOrEqual(timer?.seconds ?? .infinity, 60)
    }

    /// The timer of the established loopback connection to `remotePort` (the agent's side):
    /// kind 2 is keepalive; its expiry is printed in clock ticks of 1/100 s.
    static func tcpTimer(remotePort: Int) -> (kind: Int, seconds: Double)? {
        // Read to the end: /proc files report no size, and a one-shot read stops at the first page,
        // which a machine with many connections (a CI runner) fills before this connection's row.
        guard let data = FileHandle(forReadingAtPath: "/proc/net/tcp")?.readDataToEndOfFile() else { return nil }
        let table = String(decoding: data, as: UTF8.self)
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 5, fields[3] == "01",
                  let remote = fields[2].split(separator: ":").last, Int(remote, radix: 16) == remotePort else { continue }
            let timer = fields[5].split(separator: ":")
            guard timer.count == 2, let kind = Int(timer[0], radix: 16), let ticks = Int(timer[1], radix: 16) else { continue }
            return (kind, Double(ticks) / 100)
        }
        return nil
    }

    func testSilentConnectionIsReplacedAfterTheIdleTimeout() throws {
        let folder = try temporaryFolder("smdr-idle")
        let collector = try CollectorUnderTest(name: "smdr-idle")
        let pbx = try FakePBX(password: "PCCSMDR")
        let config = try collector.enrollAgent("ns500", systems: ["office1"], folder: folder,
                                               extra: Scenario.tcp(port: pbx.port, password: "PCCSMDR", idleTimeoutSeconds: 2))
        let agent = try ChildProcess("tamas-agent", ["smdr", "run", "--config", config.path], name: "smdr agent")
        XCTAssertTrue(eventually(timeout: 30, every: 0.2) { pbx.logins >= 2 }, "agent log:\n\(agent.log.suffix(3000))")
        XCTAssertTrue(try eventually(timeout: 20) { try statusStates(collector).contains("idleTimeout") })
        let traffic = Scenario.traffic(calls: 10, seed: 11)
        pbx.print(traffic.lines)
        XCTAssertTrue(try eventually(timeout: 30, every: 0.5) { try endedCallCounts(collector.calls()) == traffic.counts },
                      "after reconnecting, calls flow again")
    }

    func testTestCommandPrintsParsedLinesAndFailsClearly() throws {
        let folder = try temporaryFolder("smdr-test-command")
        let pbx = try FakePBX(password: "PCCSMDR")
        pbx.print([
            "  Date     Time    Ext CO        Dial Number        Ring Duration  Acc code  CD",
            "02/11/11 01:06PM   130 09 <I>02614301566            0'00 00:00'56            TR",
            "MN ALM 123",
        ])
        let good = try Scenario.standaloneConfig(in: folder, section: Scenario.tcp(port: pbx.port, password: "PCCSMDR"))
        let output = try runTool("tamas-agent", ["smdr", "test", "--config", good.path, "--lines", "3", "--seconds", "20"], timeout: 40)
        XCTAssertTrue(output.contains("[loggedIn] SMDR login accepted"), output)
        XCTAssertTrue(output.contains("-> skipped: header line"), output)
        XCTAssertTrue(output.contains("-> incoming call, layout A (80 columns, no cost)"), output)
        XCTAssertTrue(output.contains("extension 130, CO 09, number 02614301566"), output)
        XCTAssertTrue(output.contains("-> not a call: alarm line (not a call)"), output)

        let rejected = try Scenario.standaloneConfig(in: folder, section: Scenario.tcp(port: pbx.port, password: "nope"))
        let refused = try runToolAllowingFailure("tamas-agent", ["smdr", "test", "--config", rejected.path, "--seconds", "20"], timeout: 40)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.error.contains("loginRejected: SMDR login rejected"), refused.error)

        let missing = try Scenario.standaloneConfig(in: folder, section: Scenario.serial(port: folder.appendingPathComponent("no-such-port").path))
        let noPort = try runToolAllowingFailure("tamas-agent", ["smdr", "test", "--config", missing.path, "--seconds", "20"], timeout: 40)
        XCTAssertNotEqual(noPort.status, 0)
        XCTAssertTrue(noPort.error.contains("portUnavailable") && noPort.error.contains("no-such-port"), noPort.error)
    }

    func testAPasswordInAFileOthersCanReadIsRefused() throws {
        let folder = try temporaryFolder("smdr-secret")
        let config = try Scenario.standaloneConfig(in: folder, section: Scenario.tcp(port: 2300, password: "Secret1"))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: config.path)
        let result = try runToolAllowingFailure("tamas-agent", ["smdr", "test", "--config", config.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("smdr.tcp.password") && result.error.contains("chmod 600"), result.error)
    }
}
