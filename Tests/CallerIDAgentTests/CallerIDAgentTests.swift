import CallerIDProtocol
import Foundation
import TamasEvents
import TestSupport
import XCTest

/// `tamas-agent cid` on a pseudo-terminal playing the caller-ID box, with a real collector.
final class CallerIDAgentTests: XCTestCase {
    /// The generator's timeline runs this many times faster on the pty, so a test takes seconds
    /// instead of minutes; the agent's ring timeout is scaled with it, with a second to spare.
    static let speedUp = 8
    static let generatorRingTimeout = 24
    static let agentRingTimeout = 2

    /// Two lines whose records interleave: answered, missed and outgoing calls, each landing in
    /// the collector as the call the generator meant.
    func testTwoInterleavedLinesLandAsTheRightCalls() throws {
        let traffic = try shortestTraffic()
        let box = try segalBox("cid-e2e", agent: "segal", ringTimeoutSeconds: Self.agentRingTimeout)
        let (collector, terminal, config) = (box.collector, box.terminal, box.config)
        let agent = try ChildProcess("tamas-agent", ["cid", "run", "--config", config.path], name: "cid agent")
        agent.waitForLog("portOpened", timeout: 30)

        let start = Date()
        for chunk in traffic.chunks {
            let due = start.addingTimeInterval(Double(chunk.offsetMillis) / 1000 / Double(Self.speedUp))
            let wait = due.timeIntervalSinceNow
            if wait > 0 { usleep(useconds_t(wait * 1_000_000)) }
            try terminal.send(chunk.bytes)
        }
        let expected = traffic.expectedCalls.reduce(into: [String: Int]()) { counts, call in
            let key = switch call.kind {
            case .inboundAnswered: "inbound/answered"
            case .inboundMissed: "inbound/missed"
            case .outbound: "outbound/answered"
            }
            counts[key, default: 0] += 1
        }
        func landed() throws -> [String: Int] {
            try collector.calls().filter { $0["phase"] as? String == "ended" }.reduce(into: [:]) { counts, call in
                counts["\(call["direction"] as? String ?? "?")/\(call["disposition"] as? String ?? "?")", default: 0] += 1
            }
        }
        XCTAssertTrue(try eventually(timeout: 30, every: 0.5) { try landed() == expected },
                      "\((try? landed()) ?? [:]) expected \(expected)\n\(agent.log.suffix(2000))")
        let calls = try collector.calls()
        XCTAssertEqual(calls.count, traffic.expectedCalls.count)
        for call in traffic.expectedCalls {
            let number = "+98" + call.numberRaw.dropFirst()
            let matching = calls.filter { ($0["from"] as? String == number) || ($0["to"] as? String == number) }
            XCTAssertEqual(matching.count, 1, "\(call) appears once: \(matching)")
            if call.kind == .inboundAnswered {
                XCTAssertEqual(matching.first?["durationSec"] as? Int, call.durationSec, "the box's T field gives the talk time")
            }
        }
    }

    /// Calls in progress when the agent is killed stay one call each after the restart. Line 1
    /// was talking, and its hang-up comes after the restart; line 2 was ringing, and the restart
    /// takes longer than the ring timeout, so it ends as missed as soon as the agent is back.
    func testCallsInProgressWhenTheAgentIsKilledStayOneCallEachAfterTheRestart() throws {
        let ringTimeout = 8
        let box = try segalBox("cid-resume", agent: "resume", ringTimeoutSeconds: ringTimeout)
        let (collector, terminal, config) = (box.collector, box.terminal, box.config)
        var agent = try ChildProcess("tamas-agent", ["cid", "run", "--config", config.path], name: "cid agent")
        agent.waitForLog("portOpened", timeout: 30)
        try terminal.send(Array("L1C09191714505@L1R01@L1HF@L2C09121234567@".utf8))
        let line2RangAt = Date()
        XCTAssertTrue(try eventually(timeout: 20) {
            let events = try collector.events()
            return events.contains { $0["type"] as? String == "call.answered" && $0["line"] as? String == "1" }
                && events.contains { $0["type"] as? String == "call.ringing" && $0["line"] as? String == "2" }
        }, "the agent read both calls before the kill\n\(agent.log.suffix(2000))")
        agent.kill9()
        let pastRingTimeout = Double(ringTimeout + 1) - Date().timeIntervalSince(line2RangAt)
        if pastRingTimeout > 0 { usleep(useconds_t(pastRingTimeout * 1_000_000)) }

        agent = try ChildProcess("tamas-agent", ["cid", "run", "--config", config.path], name: "cid agent restarted")
        func resumed() throws -> [String: Any]? {
            try collector.events().first { $0["type"] as? String == "agent.status" && $0["state"] as? String == "resumed" }
        }
        XCTAssertTrue(try eventually(timeout: 30) { try resumed() != nil }, agent.log.suffix(2000).description)
        XCTAssertEqual(try resumed()?["detail"] as? String, "read again 4 records of calls still open before the restart",
                       "both calls were still open when the agent was killed")
        agent.waitForLog("portOpened", timeout: 30)
        try terminal.send(Array("L1HND: T0100@".utf8))

        func ended() throws -> [String: Int] {
            try collector.calls().filter { $0["phase"] as? String == "ended" }.reduce(into: [:]) { counts, call in
                counts["\(call["direction"] as? String ?? "?")/\(call["disposition"] as? String ?? "?")", default: 0] += 1
            }
        }
        let expected = ["inbound/answered": 1, "inbound/missed": 1]
        XCTAssertTrue(try eventually(timeout: 30) { try ended() == expected },
                      "\((try? collector.calls()) ?? [])\n\(agent.log.suffix(2000))")
        let calls = try collector.calls()
        XCTAssertEqual(calls.count, 2, "no call was split by the restart: \(calls)")
        let answered = calls.first { $0["from"] as? String == "+989191714505" }
        XCTAssertEqual(answered?["disposition"] as? String, "answered")
        XCTAssertEqual(answered?["durationSec"] as? Int, 60, "the box's T field after the restart gives the talk time")
        let missed = calls.first { $0["from"] as? String == "+989121234567" }
        XCTAssertEqual(missed?["disposition"] as? String, "missed")
        agent.kill9()
    }

    /// A modem gets `AT+VCID=1` when the port opens, again after an `OK` it did not ask for
    /// (the modem reset), and again when the port comes back after an unplug.
    func testModemInitStringIsSentAtOpenAfterAResetAndAfterAReplug() throws {
        let folder = try temporaryFolder("cid-modem")
        let collector = try CollectorUnderTest(name: "cid-modem")
        let link = try PortLink()
        var terminal = try PseudoTerminal()
        try link.point(at: terminal.slavePath)
        let config = try collector.enrollAgent("modem", systems: ["office2"], folder: folder, extra: """
            cid:
              protocol: modem
              serial:
                port: \(link.path)
                baud: 9600

            """)
        let agent = try ChildProcess("tamas-agent", ["cid", "run", "--config", config.path], name: "cid agent")
        let initString = Array("AT+VCID=1\r".utf8)
        XCTAssertEqual(terminal.receive(count: initString.count, timeout: .seconds(30)), initString, agent.log)
        try terminal.send(Array("AT+VCID=1\r\r\nOK\r\n".utf8))
        usleep(300_000)
        try terminal.send(Array("\r\nOK\r\n".utf8))
        XCTAssertEqual(terminal.receive(count: initString.count), initString, "re-sent after the unsolicited OK")
        try terminal.send(Array("OK\r\n\r\nRING\r\n\r\nDATE = 1126\r\nTIME = 1405\r\nNMBR = 09121234567\r\n\r\nRING\r\n".utf8))
        XCTAssertTrue(try eventually(timeout: 30) {
            try collector.events().contains { $0["type"] as? String == "call.ringing" && $0["from"] as? String == "+989121234567" }
        }, "caller ID is on after the re-init\n\(agent.log.suffix(3000))")

        link.remove()
        terminal.closeMaster()
        agent.waitForLog("portLost", timeout: 20)
        terminal = try PseudoTerminal()
        try link.point(at: terminal.slavePath)
        XCTAssertEqual(terminal.receive(count: initString.count, timeout: .seconds(30)), initString, "re-sent after the replug")

        XCTAssertTrue(try eventually(timeout: 30) {
            let states = try collector.events().filter { $0["type"] as? String == "agent.status" }.compactMap { $0["state"] as? String }
            return states.contains("modemReinit") && states.contains("portReopened")
        }, "\(agent.log.suffix(3000))")
    }

    func testTestCommandShowsEachRecordAndFailsOnAMissingPort() throws {
        let folder = try temporaryFolder("cid-test-command")
        let link = try PortLink()
        let terminal = try PseudoTerminal()
        try link.point(at: terminal.slavePath)
        let config = try standaloneConfig(in: folder, port: link.path)
        let session = try ChildProcess("tamas-agent", ["cid", "test", "--config", config.path, "--seconds", "4"], name: "cid test")
        XCTAssertTrue(eventually(timeout: 20, every: 0.05) { session.output.contains("[portOpened]") }, session.log)
        try terminal.send(Array("L1C09191714505@\r\nL1R01@L1HND:09122259679 T0105@L1XYZ@".utf8))
        XCTAssertTrue(session.waitForExit(timeout: 20))
        XCTAssertEqual(session.exitCode, 0, session.log)
        for expected in ["L1C09191714505\n    -> caller ID on line 1: 09191714505", "-> ring on line 1 (ring 1)",
                         "-> hang-up on line 1, number 09122259679, duration T0105 = 65 s",
                         "L1XYZ\n    -> unparsed: Segal code 'X'"] {
            XCTAssertTrue(session.output.contains(expected), "\(expected) in:\n\(session.output)")
        }

        let missing = try standaloneConfig(in: folder, port: folder.appendingPathComponent("no-such-box").path)
        let failed = try runToolAllowingFailure("tamas-agent", ["cid", "test", "--config", missing.path, "--seconds", "20"], timeout: 40)
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertTrue(failed.error.contains("portUnavailable") && failed.error.contains("no-such-box"), failed.error)
    }

    /// A config for `cid test`, which never talks to the collector.
    private func standaloneConfig(in folder: URL, port: String) throws -> URL {
        let secret = folder.appendingPathComponent("collector.secret")
        _ = FileManager.default.createFile(atPath: secret.path, contents: Data("unused".utf8), attributes: [.posixPermissions: 0o600])
        let url = folder.appendingPathComponent("cid-\(UUID().uuidString.prefix(6)).yaml")
        let text = """
            collector:
              address: 127.0.0.1:1
              agentId: test
              secretFile: \(secret.path)
            system:
              key: office1
            cid:
              protocol: segal
              serial:
                port: \(port)

            """
        try text.write(to: url, atomically: false, encoding: .utf8)
        return url
    }

    func testParseThroughTheBinary() throws {
        let text = String(decoding: try Fixtures.data("callerid/segal_ojsegal_serial_sample.txt"), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("# ") }.joined(separator: "\n")
        let output = try runTool("tamas-agent", ["cid", "parse", "--protocol", "segal", "--system-key", "office1", "--city-code", "21"],
                                 input: Data(text.utf8))
        let events = output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertFalse(events.isEmpty, output)
        XCTAssertFalse(events.contains { $0["type"] as? String == "line.unparsed" }, output)
        let ended = events.filter { $0["type"] as? String == "call.ended" }
        XCTAssertEqual(ended.compactMap { $0["direction"] as? String }, ["inbound", "outbound", "outbound", "outbound"])
        XCTAssertEqual(ended.compactMap { $0["durationSec"] as? Int }, [177, 65, 21, 274])
        XCTAssertEqual(ended.first?["from"] as? String, "+989191714505")
        XCTAssertTrue(events.allSatisfy { $0["systemKey"] as? String == "office1" })

        let refused = try runToolAllowingFailure("tamas-agent", ["cid", "parse", "--protocol", "hid"], input: Data())
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.error.contains("--protocol"), refused.error)
    }

    /// A collector and a Segal box, played by `terminal`, that an agent enrolled for office1
    /// (`config`) reads through a stable port path; the box keeps that path while it lives.
    private struct SegalBox {
        let collector: CollectorUnderTest
        let link: PortLink
        let terminal: PseudoTerminal
        let config: URL
    }

    private func segalBox(_ name: String, agent: String, ringTimeoutSeconds: Int) throws -> SegalBox {
        let folder = try temporaryFolder(name)
        let collector = try CollectorUnderTest(name: name)
        let link = try PortLink()
        let terminal = try PseudoTerminal()
        try link.point(at: terminal.slavePath)
        let config = try collector.enrollAgent(agent, systems: ["office1"], folder: folder, extra: """
            cid:
              protocol: segal
              ringTimeoutSeconds: \(ringTimeoutSeconds)
              serial:
                port: \(link.path)

            """)
        return SegalBox(collector: collector, link: link, terminal: terminal, config: config)
    }

    /// The generator's traffic for two lines and six calls with every kind of call on both
    /// lines' records interleaved, choosing among a few seeds the one that plays fastest.
    private func shortestTraffic() throws -> CallerIDTrafficGenerator.Traffic {
        var best: CallerIDTrafficGenerator.Traffic?
        for seed in UInt64(1)...60 {
            let traffic = CallerIDTrafficGenerator(seed: seed, lines: 2, calls: 6, ringTimeoutSeconds: Self.generatorRingTimeout).generate()
            let kinds = Set(traffic.expectedCalls.map(\.kind))
            let lines = Set(traffic.expectedCalls.map(\.line))
            guard kinds.count == 3, lines.count == 2 else { continue }
            if traffic.quietAfterMillis < best?.quietAfterMillis ?? Int.max { best = traffic }
        }
        return try XCTUnwrap(best)
    }
}
