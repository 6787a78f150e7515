import AgentCore
import Foundation
import TamasLink
import XCTest

final class AgentConfigTests: XCTestCase {
    let valid = """
        collector:
          address: collector.example.com:7443
          agentId: ag_123
          secret: abc
          fingerprint: \(String(repeating: "ab", count: 32))
        spool:
          path: /tmp/spool.sqlite
          capacity: 5000
        system:
          key: office1
          releaseCode: "9"
          cityCode: "21"
        jsonl:
          input: "-"
        """

    func parse(_ text: String) throws -> AgentConfig {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(UUID()).yaml").path
        try Secrets.writePrivateFile(text, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try AgentConfig.load(path: path)
    }

    func error(_ text: String) -> ConfigError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error as? ConfigError
        }
    }

    func testAValidFileReadsEverySection() throws {
        let config = try parse(valid)
        XCTAssertEqual(config.collector.host, "collector.example.com")
        XCTAssertEqual(config.collector.port, 7443)
        XCTAssertEqual(config.collector.trust, .pinned(fingerprint: String(repeating: "ab", count: 32)))
        XCTAssertEqual(config.spool.capacity, 5000)
        XCTAssertEqual(config.system.numberPlan.releaseCode, "9")
        XCTAssertEqual(config.system.numberPlan.countryCode, "98", "default country code")
    }

    func testErrorsNameTheKeyAndTheLine() throws {
        let typo = try XCTUnwrap(error(valid.replacingOccurrences(of: "  capacity: 5000", with: "  capacty: 5000")))
        XCTAssertEqual(typo.key, "spool.capacty")
        XCTAssertEqual(typo.line, 8)
        XCTAssertTrue(typo.description.contains("did you mean 'capacity'"), typo.description)

        let range = try XCTUnwrap(error(valid.replacingOccurrences(of: "capacity: 5000", with: "capacity: 5")))
        XCTAssertEqual(range.key, "spool.capacity")
        XCTAssertEqual(range.line, 8)

        let missing = try XCTUnwrap(error(valid.replacingOccurrences(of: "  agentId: ag_123\n", with: "")))
        XCTAssertEqual(missing.key, "collector.agentId")
        XCTAssertTrue(missing.description.contains("is required"))

        let badKey = try XCTUnwrap(error(valid.replacingOccurrences(of: "key: office1", with: "key: office 1")))
        XCTAssertEqual(badKey.key, "system.key")
        XCTAssertEqual(badKey.line, 10)

        let digits = try XCTUnwrap(error(valid.replacingOccurrences(of: "releaseCode: \"9\"", with: "releaseCode: nine")))
        XCTAssertEqual(digits.key, "system.releaseCode")

        let address = try XCTUnwrap(error(valid.replacingOccurrences(of: "collector.example.com:7443", with: "host:99999")))
        XCTAssertEqual(address.key, "collector.address")
        XCTAssertEqual(address.line, 2)

        let yaml = try XCTUnwrap(error("collector:\n  address: [unclosed\n"))
        XCTAssertTrue(yaml.description.contains("not valid YAML"), yaml.description)
        XCTAssertNotNil(yaml.line)
    }

    func testASecretInAFileOthersCanReadIsRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(UUID()).yaml").path
        try valid.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try AgentConfig.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains("chmod 600"), "\(error)")
            XCTAssertFalse("\(error)".contains("abc"), "the secret itself is never shown")
        }
    }

    func testAddressForms() {
        XCTAssertEqual(HostPort("host", defaultPort: 7443), HostPort("host:7443"))
        XCTAssertEqual(HostPort("host", defaultPort: 7443)?.port, 7443)
        XCTAssertEqual(HostPort("10.0.0.5:9000", defaultPort: 7443)?.host, "10.0.0.5")
        XCTAssertEqual(HostPort("[::1]:9000", defaultPort: 7443)?.host, "::1")
        XCTAssertEqual(HostPort("[fe80::1]", defaultPort: 7443)?.port, 7443)
        XCTAssertNil(HostPort("a:b:c", defaultPort: 7443))
        XCTAssertNil(HostPort("::1:9000", defaultPort: 7443), "IPv6 without brackets is ambiguous")
        XCTAssertNil(HostPort(":80", defaultPort: 7443))
        XCTAssertNil(HostPort("[]:80"), "an empty host in brackets")
        XCTAssertNil(HostPort("[::1]x80"))
        XCTAssertNil(HostPort("host"), "no port and no default")
        XCTAssertNil(HostPort("host:0"), "port 0 only where the caller accepts it")
        XCTAssertEqual(HostPort("127.0.0.1:0", ports: 0...65_535)?.port, 0)
        XCTAssertNil(HostPort("host:65536"))
        XCTAssertNil(HostPort("host:http"))
    }

    func testBackoffGrowsWithJitterAndIsCapped() {
        var backoff = Backoff(base: 1, cap: 60)
        let ceilings = (0..<12).map { _ in backoff.next(unit: 0.999) }
        XCTAssertEqual(ceilings.prefix(4).map { Int($0.rounded()) }, [1, 2, 4, 8])
        XCTAssertTrue(ceilings.allSatisfy { $0 <= 60 })
        XCTAssertEqual(ceilings.last ?? 0, 60, accuracy: 0.1)
        backoff.reset()
        XCTAssertEqual(backoff.next(unit: 0), 0.5, "never zero: a tight reconnect loop is impossible")
    }
}
