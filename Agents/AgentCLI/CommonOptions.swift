import AgentCore
import ArgumentParser
import Foundation
import Logging
import TamasEvents
import TamasLink

/// Options and helpers every `tamas-agent <source>` command shares, so each source's commands
/// read and print the same way.
public struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The agent's YAML configuration file (see deploy/agent.example.yaml).")
    public var config: String

    public init() {}

    public func load() throws -> AgentConfig {
        do {
            return try AgentConfig.load(path: config)
        } catch let error as ConfigError {
            throw ValidationError(error.description)
        }
    }
}

/// The numbering settings of EVENTS.md for the offline commands (`parse`, `replay`).
public struct NumberPlanOptions: ParsableArguments {
    @Option(help: "The telephone system's key put on every event.") public var systemKey = "pbx"
    @Option(help: "Digit(s) dialed to seize an outside line, stripped from outgoing numbers.") public var releaseCode = ""
    @Option(help: "Country code without + or 00.") public var countryCode = "98"
    @Option(help: "City code without the national prefix (e.g. 21 for Tehran).") public var cityCode = ""

    public init() {}

    public var numberPlan: NumberPlan {
        NumberPlan(releaseCode: releaseCode, countryCode: countryCode, cityCode: cityCode)
    }

    public func validate() throws {
        guard SystemKey.isValid(systemKey) else { throw ValidationError("--system-key: \(SystemKey.rule)") }
        for (name, value) in [("--release-code", releaseCode), ("--country-code", countryCode), ("--city-code", cityCode)]
        where !value.allSatisfy({ $0.isASCII && $0.isNumber }) {
            throw ValidationError("\(name) must be digits only, not '\(value)'")
        }
    }
}

public func bootstrapLogging(level: String) -> Logger.Level {
    let resolved = Logger.Level(rawValue: level) ?? .info
    LineLogHandler.bootstrap(level: resolved)
    return resolved
}

public func makeLogger(_ config: AgentConfig, label: String) -> Logger {
    _ = bootstrapLogging(level: config.logLevel)
    return Logger(label: label)
}

/// Prints events as JSON lines (EVENTS.md), the output of every offline command.
public struct EventPrinter: Sendable {
    private let json = EventJSON()

    public init() {}

    public func print(_ events: [CallEvent]) throws {
        guard !events.isEmpty else { return }
        var data = Data()
        for event in events {
            data.append(try json.encode(event))
            data.append(0x0A)
        }
        FileHandle.standardOutput.write(data)
    }
}

/// Feeds standard input through a source's state machine and prints what comes out: the body of
/// `smdr parse`, `cid parse` and similar commands. Times are the moment each chunk arrived.
public func runOffline(_ machine: inout some SourceStateMachine, input: String = "-") async throws {
    let reader = try ByteInput(path: input)
    let printer = EventPrinter()
    while let chunk = try await reader.next() {
        try printer.print(machine.receive(chunk, now: .now()))
    }
    try printer.print(machine.finish(now: .now()))
}

extension Timestamp {
    public static func now() -> Timestamp { HostClock.now() }
}
