import Foundation
import SMDRProtocol
import TamasEvents
import TestSupport
import XCTest

enum Scenario {
    static let utc = TimeZone(identifier: "UTC") ?? .gmt

    /// Generated NS500 traffic in Pattern A, dd/mm/yy, printed on a UTC clock from `day`.
    static func traffic(calls: Int, seed: UInt64, day: Int = 2) -> SMDRTraffic {
        let start = Timestamp(year: 2026, month: 11, day: day, hour: 8, minute: 0, second: 0, timeZone: utc)
            ?? Timestamp(epochMillis: 1_793_000_000_000)
        return SMDRTrafficGenerator(model: .kxNS500, seed: seed, start: start, callCount: calls).generate()
    }

    static func smdrSection(connection: String) -> String {
        """
        smdr:
          model: KX-NS500
          dateFormat: dd/mm/yy
          timeZone: UTC
          groupWindowSeconds: 3
        \(connection)
        """
    }

    static func tcp(port: Int, password: String, idleTimeoutSeconds: Int = 0) -> String {
        smdrSection(connection: """
              connection: tcp
              tcp:
                host: 127.0.0.1
                port: \(port)
                password: \(password)
                idleTimeoutSeconds: \(idleTimeoutSeconds)

            """)
    }

    static func serial(port: String, baud: Int = 9600, dataBits: Int = 8, parity: String = "none") -> String {
        smdrSection(connection: """
              connection: serial
              serial:
                port: \(port)
                baud: \(baud)
                dataBits: \(dataBits)
                parity: \(parity)

            """)
    }

    /// A config for the offline `smdr test` runs: the collector section must parse but is never used.
    static func standaloneConfig(in folder: URL, section: String) throws -> URL {
        let url = folder.appendingPathComponent("standalone-\(UUID().uuidString.prefix(6)).yaml")
        let secret = folder.appendingPathComponent("collector.secret")
        _ = FileManager.default.createFile(atPath: secret.path, contents: Data("not-used".utf8), attributes: [.posixPermissions: 0o600])
        let text = """
            collector:
              address: 127.0.0.1:1
              agentId: test
              secretFile: \(secret.path)
            system:
              key: office1
            spool:
              path: \(folder.appendingPathComponent("unused.sqlite").path)

            """ + section
        _ = FileManager.default.createFile(atPath: url.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        return url
    }
}

/// Calls per `direction/disposition`, the generator's `counts` format; only ended calls count.
func endedCallCounts(_ calls: [[String: Any]]) -> [String: Int] {
    calls.filter { $0["phase"] as? String == "ended" }.reduce(into: [:]) { counts, call in
        counts["\(call["direction"] as? String ?? "?")/\(call["disposition"] as? String ?? "?")", default: 0] += 1
    }
}

func statusStates(_ collector: CollectorUnderTest) throws -> [String] {
    try collector.events().filter { $0["type"] as? String == "agent.status" }.compactMap { $0["state"] as? String }
}

/// Writes bytes to a pty master from its own thread, a line at a time with a pause, like a PBX
/// printing while the test does other things.
final class PacedWriter: @unchecked Sendable {
    private let terminal: PseudoTerminal
    private let lines: [String]
    private let pause: useconds_t
    private let done = NSLock()
    private var finished = false
    private var failure: String?

    init(_ terminal: PseudoTerminal, lines: [String], pauseMicroseconds: useconds_t) {
        self.terminal = terminal
        self.lines = lines
        pause = pauseMicroseconds
        Thread { [self] in write() }.start()
    }

    var isFinished: Bool { done.withLock { finished } }
    var error: String? { done.withLock { failure } }

    private func write() {
        for line in lines {
            do {
                try terminal.send(Array((line + "\r\n").utf8))
            } catch {
                done.withLock { failure = "\(error)" }
                break
            }
            usleep(pause)
        }
        done.withLock { finished = true }
    }
}
