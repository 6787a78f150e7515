import Foundation
import XCTest

/// A real `tamas-collector` on loopback with its own data folder, and the `tamasctl` calls the
/// tests make against it. Ports are fixed at creation so agents reconnect after a restart.
public final class CollectorUnderTest {
    public let dataDir: URL
    public let agentPort: Int
    public let httpPort: Int
    public let extraArguments: [String]
    public private(set) var process: ChildProcess?

    public init(name: String, extraArguments: [String] = []) throws {
        dataDir = try temporaryFolder(name)
        agentPort = freeLoopbackPort()
        httpPort = freeLoopbackPort()
        self.extraArguments = extraArguments
        try start()
    }

    public var url: String { "http://127.0.0.1:\(httpPort)" }

    public func start(file: StaticString = #filePath, line: UInt = #line) throws {
        let collector = try ChildProcess("tamas-collector", [
            "run", "--data-dir", dataDir.path, "--listen", "127.0.0.1:\(agentPort)", "--http", "127.0.0.1:\(httpPort)",
            "--heartbeat-seconds", "2", "--hello-timeout-seconds", "2",
        ] + extraArguments, name: "collector")
        process = collector
        collector.waitForLog("Server started", timeout: 30, file: file, line: line)
        collector.waitForLog("agent listener up", timeout: 30, file: file, line: line)
    }

    public func kill9() { process?.kill9() }

    public func restart(file: StaticString = #filePath, line: UInt = #line) throws {
        process?.kill9()
        try start(file: file, line: line)
    }

    public var log: String { process?.log ?? "" }

    @discardableResult
    public func tamasctl(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try runTool("tamasctl", arguments + ["--data-dir", dataDir.path, "--url", url], file: file, line: line)
    }

    /// Enrolls an agent with `tamasctl agents add --config-out` and returns its config file,
    /// with the spool in `folder` and `extra` YAML appended (the source's section).
    public func enrollAgent(_ name: String, systems: [String], folder: URL, extra: String = "", spoolCapacity: Int? = nil) throws -> URL {
        let config = folder.appendingPathComponent("\(name).yaml")
        try tamasctl(["agents", "add", name, "--config-out", config.path] + systems.flatMap { ["--system", $0] })
        var text = try String(contentsOf: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "/var/lib/tamas-agent/spool-\(name).sqlite", with: folder.appendingPathComponent("\(name)-spool.sqlite").path)
        if let spoolCapacity { text = text.replacingOccurrences(of: "spool:\n", with: "spool:\n  capacity: \(spoolCapacity)\n") }
        text += extra
        try text.write(to: config, atomically: false, encoding: .utf8)
        return config
    }

    public func calls(limit: Int = 100_000) throws -> [[String: Any]] {
        let text = try tamasctl(["calls", "--json", "--limit", String(limit)])
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
    }

    public func events() throws -> [[String: Any]] {
        try tamasctl(["events"]).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    public func agents() throws -> [[String: Any]] {
        let text = try tamasctl(["agents", "--json"])
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
    }

    /// `GET /metrics`, one entry per series: the series as printed (name and labels, e.g.
    /// `tamas_agent_spool_backlog{agent="a"}`) and its value.
    public func metrics(file: StaticString = #filePath, line: UInt = #line) throws -> [String: Double] {
        let text = try runTool("/usr/bin/curl", ["--silent", "--show-error", "--fail", url + "/metrics"], file: file, line: line)
        var series: [String: Double] = [:]
        for sample in text.split(separator: "\n") where !sample.hasPrefix("#") {
            guard let space = sample.lastIndex(of: " "), let value = Double(sample[sample.index(after: space)...]) else { continue }
            series[String(sample[..<space])] = value
        }
        return series
    }

    public func status() throws -> [String: Any] {
        let text = try tamasctl(["status"])
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    deinit {
        process?.kill9()
        try? FileManager.default.removeItem(at: dataDir)
    }
}
