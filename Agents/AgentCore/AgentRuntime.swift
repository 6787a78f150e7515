import Foundation
import Logging
import TamasEvents
import TamasLink

/// A device-specific producer of events: the only thing a new kind of agent has to write.
public protocol AgentSource: Sendable {
    /// The EVENTS.md `source` name, also the agent kind shown by `tamasctl agents`.
    var kind: String { get }
    /// Produces events until the input ends (returns) or the task is cancelled.
    func run(into sink: EventSink) async throws
    /// Commands this source executes (click-to-call, recording fetch, ...).
    var commandHandlers: [CommandHandler] { get }
}

extension AgentSource {
    public var commandHandlers: [CommandHandler] { [] }
}

/// Wires one source to the spool and the uplink and keeps them running.
public struct AgentRuntime: Sendable {
    public static let version = "0.1.0"

    public var config: AgentConfig
    public var logger: Logger
    public var uplinkOptions = Uplink.Options()

    public init(config: AgentConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// `exitWhenDrained`: once the source's input has ended and the collector has acknowledged
    /// every spooled event, return (batch imports, tests, the demo). Otherwise run until cancelled.
    public func run(source: some AgentSource, exitWhenDrained: Bool) async throws {
        let spool = try await Spool.open(config.spool)
        let status = DeviceStatus()
        let sink = EventSink(systemKey: config.system.key, source: source.kind, spool: spool, status: status, logger: logger)
        let identity = AgentIdentity(kind: source.kind, version: Self.version, systemKeys: [config.system.key])
        let uplink = try Uplink(collector: config.collector, identity: identity, spool: spool, status: status,
                                commands: [BuiltInCommands(spool: spool, status: status)] + source.commandHandlers,
                                options: uplinkOptions, logger: logger)
        let backlog = await spool.count
        logger.info("agent starting", metadata: [
            "kind": "\(source.kind)", "system": "\(config.system.key)", "spool": "\(config.spool.path)",
            "backlog": "\(backlog)", "collector": "\(config.collector.host):\(config.collector.port)",
        ])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await uplink.run() }
            group.addTask {
                try await source.run(into: sink)
                let remaining = await spool.count
                self.logger.info("input ended", metadata: ["backlog": "\(remaining)"])
                guard exitWhenDrained else {
                    try await Task.sleep(for: .seconds(Double(Int32.max)))
                    return
                }
                while await spool.count > 0 { try await Task.sleep(for: .milliseconds(50)) }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

/// Commands every agent answers: a liveness check and its own status.
struct BuiltInCommands: CommandHandler {
    let spool: Spool
    let status: DeviceStatus

    var commandNames: Set<String> { ["ping", "status"] }

    func handle(_ command: Command, replies: CommandReplies) async -> CommandResult {
        switch command.name {
        case "ping":
            return CommandResult(id: command.id, ok: true, output: "pong")
        default:
            let report = await spool.report()
            let device = await status.current
            return CommandResult(id: command.id, ok: true,
                                 output: "device=\(device.state) spool=\(report.backlog)/\(report.capacity) \(report.state)")
        }
    }
}
