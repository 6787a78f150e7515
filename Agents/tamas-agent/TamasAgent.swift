import AMIAgent
import AgentCore
import ArgumentParser
import CallerIDAgent
import JSONLAgent
import SMDRAgent
import TelsaAgent

@main
struct TamasAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tamas-agent",
        abstract: "Reads calls from one telephone device and streams them to a Tamas collector.",
        discussion: """
            One agent process runs per device, next to it. Events are committed to a local spool \
            first and survive crashes, power loss and long WAN outages. See docs/operations.md.
            """,
        version: AgentRuntime.version,
        subcommands: [JSONLCommand.self, AMICommand.self, SMDRCommand.self, CallerIDCommand.self, TelsaCommand.self])
}
