import Foundation
import SMDRProtocol
import TamasEvents
import TestSupport
import XCTest

/// `tamas-agent smdr run` on a real serial path: a pseudo-terminal behind a by-id style link,
/// the test printing SMDR on the other end, a real collector receiving the calls.
final class SMDRAgentSerialTests: XCTestCase {
    func testCallsArriveAtTwoLineSettingsAndAPortThatComesBack() throws {
        let folder = try temporaryFolder("smdr-serial")
        let collector = try CollectorUnderTest(name: "smdr-serial")
        for (index, setting) in [(baud: 9600, dataBits: 8, parity: "none"), (baud: 1200, dataBits: 7, parity: "even")].enumerated() {
            let system = "pbx\(index)"
            let link = try PortLink()
            var terminal = try PseudoTerminal()
            try link.point(at: terminal.slavePath)
            let config = try collector.enrollAgent(
                "serial\(index)", systems: [system], folder: folder,
                extra: Scenario.serial(port: link.path, baud: setting.baud, dataBits: setting.dataBits, parity: setting.parity))
            let agent = try ChildProcess("tamas-agent", ["smdr", "run", "--config", config.path], name: "agent \(setting)")
            agent.waitForLog("portOpened", timeout: 30)

            let first = Scenario.traffic(calls: 20, seed: UInt64(index + 1))
            try terminal.send(first.bytes)
            XCTAssertTrue(try eventually(timeout: 30, every: 0.5) { try self.counts(collector, system) == first.counts },
                          "\(setting): \((try? self.counts(collector, system)) ?? [:]) expected \(first.counts)\n\(agent.log.suffix(2000))")

            // Unplug: the link goes and the device hangs up; replug: a new device under the same link.
            link.remove()
            terminal.closeMaster()
            agent.waitForLog("portLost", timeout: 20)
            terminal = try PseudoTerminal()
            try link.point(at: terminal.slavePath)
            agent.waitForLog("portReopened", timeout: 30)

            let second = Scenario.traffic(calls: 20, seed: UInt64(index + 1), day: 3)
            try terminal.send(second.bytes)
            let expected = first.counts.merging(second.counts, uniquingKeysWith: +)
            XCTAssertTrue(try eventually(timeout: 30, every: 0.5) { try self.counts(collector, system) == expected },
                          "\(setting) after replug: \((try? self.counts(collector, system)) ?? [:]) expected \(expected)")
            let states = try collector.events().filter { $0["type"] as? String == "agent.status" && $0["systemKey"] as? String == system }
                .compactMap { $0["state"] as? String }
            for state in ["portOpened", "portLost", "portReopened"] {
                XCTAssertTrue(states.contains(state), "\(setting): \(state) reached the collector: \(states)")
            }
            agent.kill9()
        }
    }

    /// A day of generated traffic through the real agent and collector: the calls `tamasctl calls`
    /// shows are the generator's calls (ring groups one call each), then the agent is killed
    /// with SIGKILL and restarted while the test keeps printing the next day.
    func testADayOfTrafficMatchesTheGeneratorAndAKilledAgentMakesNoDoubles() throws {
        let folder = try temporaryFolder("smdr-day")
        let collector = try CollectorUnderTest(name: "smdr-day")
        let link = try PortLink()
        let terminal = try PseudoTerminal()
        try link.point(at: terminal.slavePath)
        let config = try collector.enrollAgent("day", systems: ["office1"], folder: folder, extra: Scenario.serial(port: link.path))
        var agent = try ChildProcess("tamas-agent", ["smdr", "run", "--config", config.path], name: "smdr agent")
        agent.waitForLog("portOpened", timeout: 30)

        let day = Scenario.traffic(calls: 200, seed: 2026)
        let writer = PacedWriter(terminal, lines: day.lines, pauseMicroseconds: 500)
        XCTAssertTrue(eventually(timeout: 60) { writer.isFinished })
        XCTAssertTrue(try eventually(timeout: 60, every: 0.5) { try endedCallCounts(collector.calls()) == day.counts },
                      "\((try? endedCallCounts(collector.calls())) ?? [:]) expected \(day.counts)\n\(agent.log.suffix(2000))")
        XCTAssertEqual(try collector.calls().count, day.calls.count, "ring groups are one call each, nothing left ringing")
        XCTAssertGreaterThan(day.counts["inbound/missed", default: 0], 0)

        let nextDay = Scenario.traffic(calls: 200, seed: 2027, day: 3)
        let nextWriter = PacedWriter(terminal, lines: nextDay.lines, pauseMicroseconds: 8_000)
        usleep(600_000)
        agent.kill9()
        usleep(700_000)
        agent = try ChildProcess("tamas-agent", ["smdr", "run", "--config", config.path], name: "smdr agent restarted")
        XCTAssertTrue(eventually(timeout: 60) { nextWriter.isFinished })
        XCTAssertNil(nextWriter.error)
        let total = day.calls.count + nextDay.calls.count
        // Lines the killed agent had read but not yet turned into events are lost with it, as on
        // a real serial port; what must never happen is a call reported twice.
        _ = try eventually(timeout: 60, every: 0.5) { try collector.calls().filter { $0["phase"] as? String == "ended" }.count >= total - 2 }
        let calls = try collector.calls()
        let ended = calls.filter { $0["phase"] as? String == "ended" }
        XCTAssertGreaterThanOrEqual(ended.count, total - 2, "at most the call or two in flight at the kill are lost")
        XCTAssertLessThanOrEqual(ended.count, total, "no doubles")
        let identities = ended.map { call in
            ["direction", "from", "to", "answeredBy", "endedAt"].map { "\(call[$0] ?? "-")" }.joined(separator: "|")
        }
        XCTAssertEqual(Set(identities).count, identities.count, "no call appears twice")
        let ringingOnly = calls.count - ended.count
        XCTAssertLessThanOrEqual(ringingOnly, 1, "at most the RC line of the call cut by the kill stays ringing")
    }

    /// The members of a ring group print their lines while it rings; the answering extension
    /// prints at hang-up. An agent killed in between must not lose the members' lines: after the
    /// restart the answer still lands on the same call, with every member that rang.
    func testARingGroupCutByAKilledAgentIsStillOneCallWithEveryMember() throws {
        let folder = try temporaryFolder("smdr-resume")
        let collector = try CollectorUnderTest(name: "smdr-resume")
        let link = try PortLink()
        let terminal = try PseudoTerminal()
        try link.point(at: terminal.slavePath)
        let config = try collector.enrollAgent("resume", systems: ["office1"], folder: folder, extra: """
            smdr:
              model: KX-TDA100
              dateFormat: dd/mm/yy
              timeZone: UTC
              groupWindowSeconds: 600
              connection: serial
              serial:
                port: \(link.path)

            """)
        var agent = try ChildProcess("tamas-agent", ["smdr", "run", "--config", config.path], name: "smdr agent")
        agent.waitForLog("portOpened", timeout: 30)
        try terminal.send(Array("""
            07/12/20 11:22    401 05 <I>234               00:00'00 EU00000.00            NA \r
            07/12/20 11:23    611 05 <I>234               00:00'00 EU00000.00               \r

            """.utf8))
        XCTAssertTrue(try eventually(timeout: 20) {
            try collector.agents().first { $0["name"] as? String == "resume" }?["lastInputAt"] != nil
        }, "the agent read the members' lines")
        usleep(500_000)
        agent.kill9()
        agent = try ChildProcess("tamas-agent", ["smdr", "run", "--config", config.path], name: "smdr agent restarted")
        XCTAssertTrue(try eventually(timeout: 30) { try statusStates(collector).contains("resumed") }, agent.log.suffix(2000).description)
        agent.waitForLog("portOpened", timeout: 30)
        try terminal.send(Array("07/12/20 11:23    401 05 <I>234               00:00'53 EU00000.00               \r\n".utf8))

        XCTAssertTrue(try eventually(timeout: 30) { try endedCallCounts(collector.calls()) == ["inbound/answered": 1] },
                      "\((try? collector.calls()) ?? [])\n\(agent.log.suffix(2000))")
        let calls = try collector.calls()
        XCTAssertEqual(calls.count, 1, "the answer joined the call the members started: \(calls)")
        XCTAssertEqual(calls.first?["answeredBy"] as? String, "401")
        XCTAssertEqual(Set(calls.first?["extensions"] as? [String] ?? []), ["401", "611"])
        agent.kill9()
    }

    private func counts(_ collector: CollectorUnderTest, _ system: String) throws -> [String: Int] {
        endedCallCounts(try collector.calls().filter { $0["systemKey"] as? String == system })
    }
}

/// `smdr parse` and `smdr bench` through the built binary.
final class SMDRAgentOfflineCommandTests: XCTestCase {
    /// The same samples and settings as the protocol's golden tests, through stdin of the real
    /// binary, give the protocol tests' golden output byte for byte.
    func testParseOfAFixtureEqualsTheProtocolGoldenFile() throws {
        for (sample, arguments) in [
            ("manual-excerpts", ["--system-key", "manual", "--time-zone", "UTC"]),
            ("headers__smdr_server", ["--system-key", "fake", "--time-zone", "UTC"]),
            ("kx-td816-regex__xrms", ["--system-key", "xrms", "--model", "KX-TD816", "--date-format", "mm/dd/yy", "--time-zone", "UTC"]),
            ("rs232-variants__lotus-project", ["--system-key", "alvand", "--time-zone", "Asia/Tehran",
                                               "--release-code", "9", "--country-code", "98", "--city-code", "21"]),
        ] {
            let output = try runTool("tamas-agent", ["smdr", "parse", "--now", "2027-01-15T08:00:00Z"] + arguments,
                                     input: Data(try sampleBytes(sample + ".txt")))
            let golden = try String(contentsOf: Fixtures.testFile("SMDRTests/Golden/\(sample).jsonl"), encoding: .utf8)
            XCTAssertEqual(output, golden, sample)
        }
    }

    func testBenchPrintsRatesAndTheFramingBaseline() throws {
        let output = try runTool("tamas-agent", ["smdr", "bench", "--lines", "2000", "--repeats", "1"])
        XCTAssertTrue(output.contains("parse + calls:") && output.contains("baseline (framing):") && output.contains("lines/s"), output)
    }

    /// As Tests/SMDRTests reads the samples: research notes removed, TEST-ONLY lines fed as lines.
    private func sampleBytes(_ file: String) throws -> [UInt8] {
        let text = LineFramer.decode([UInt8](try Fixtures.data("smdr/" + file)))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).compactMap { line -> String? in
            if line.hasPrefix("# TEST-ONLY: ") { return String(line.dropFirst("# TEST-ONLY: ".count)) }
            if line.hasPrefix("#") { return nil }
            return String(line)
        }
        return Array(lines.joined(separator: "\r\n").utf8) + [0x0D, 0x0A]
    }
}
