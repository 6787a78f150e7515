import Foundation
import Logging
import NIOCore
import TamasEvents
import TamasLink

/// The agents connected right now: what `tamasctl agents` shows beside the stored records, and
/// the route for commands (click-to-call, spy, recording fetch) to the agent serving a system.
public actor AgentRegistry {
    public struct Live: Sendable {
        public var agentId: String
        public var name: String
        public var remoteAddress: String
        public var connectedSince: Timestamp
        public var spool: SpoolReport?
        public var deviceState: String?
        public var lastInputAt: Timestamp?
        public var systemKeys: [String]
        public var kind: String
        /// What the agent said it executes; nil for an agent older than that announcement.
        public var commands: Set<String>?
        let connection: UUID
        let send: @Sendable (LinkMessage) async throws -> Void
        public let close: @Sendable () -> Void
    }

    public enum CommandError: Error, CustomStringConvertible {
        case noAgentRuns(command: String, system: String, connected: [String])
        case timedOut(String, seconds: Double)
        case disconnected(String)

        public var description: String {
            switch self {
            case .noAgentRuns(let command, let system, let connected):
                "no connected agent of system '\(system)' runs '\(command)'"
                    + (connected.isEmpty ? "" : " (connected: \(connected.joined(separator: ", ")))")
            case .timedOut(let name, let seconds): "agent '\(name)' did not answer within \(seconds) s"
            case .disconnected(let name): "agent '\(name)' disconnected before answering"
            }
        }
    }

    private var live: [String: Live] = [:]
    private var downloads: [String: AsyncThrowingStream<ByteBuffer, Error>.Continuation] = [:]
    private var pending: [String: (agentId: String, continuation: CheckedContinuation<CommandResult, Error>)] = [:]
    private let metrics: CollectorMetrics

    public init(metrics: CollectorMetrics) {
        self.metrics = metrics
    }

    /// A second connection with the same credentials replaces the first (the newer one is the
    /// agent that restarted; the older one is a half-dead socket).
    func register(_ entry: Live) -> Live? {
        let replaced = live[entry.agentId]
        live[entry.agentId] = entry
        replaced?.close()
        metrics.agentsConnected.set(Int64(live.count))
        return replaced
    }

    func unregister(agentId: String, connection: UUID) {
        guard live[agentId]?.connection == connection else { return }
        live[agentId] = nil
        metrics.agentsConnected.set(Int64(live.count))
        for (id, waiting) in pending where waiting.agentId == agentId {
            pending[id] = nil
            waiting.continuation.resume(throwing: CommandError.disconnected(agentId))
        }
    }

    func heartbeat(agentId: String, name: String, _ heartbeat: Heartbeat) {
        guard var entry = live[agentId] else { return }
        if let spool = heartbeat.spool {
            entry.spool = spool
            metrics.spoolBacklog(agent: name).set(Int64(spool.backlog))
        }
        if let state = heartbeat.deviceState { entry.deviceState = state }
        if let input = heartbeat.lastInputAt {
            entry.lastInputAt = input
            metrics.lastInput(agent: name).set(Double(input.epochMillis) / 1000)
        }
        live[agentId] = entry
    }

    public func snapshot() -> [String: Live] { live }

    /// The agent of `systemKey` to run `command`: one that announced it, else one too old to
    /// announce anything (it answers for itself), the longest connected first. A system often
    /// has several agents (the PBX's and a Telsa recorder's), and only some of them can, say,
    /// place a call.
    public func agent(toRun command: String, forSystem systemKey: String) throws(CommandError) -> Live {
        let serving = live.values.filter { $0.systemKeys.contains(systemKey) }.sorted { $0.connectedSince < $1.connectedSince }
        if let announced = serving.first(where: { $0.commands?.contains(command) == true }) { return announced }
        if let unannounced = serving.first(where: { $0.commands == nil }) { return unannounced }
        throw .noAgentRuns(command: command, system: systemKey, connected: serving.map { "\($0.name) (\($0.kind))" })
    }

    public func connectedAgent(id: String) -> Live? {
        live[id]
    }

    public func connectedAgent(named name: String) -> Live? {
        live.values.first { $0.name == name }
    }

    /// Sends a command and waits for the agent's result.
    public func execute(_ command: Command, on agent: Live, timeoutSeconds: Double) async throws -> CommandResult {
        try await withCheckedThrowingContinuation { continuation in
            pending[command.id] = (agent.agentId, continuation)
            Task {
                do {
                    try await agent.send(.command(command))
                } catch {
                    self.fail(command.id, CommandError.disconnected(agent.name))
                }
            }
            Task {
                try? await Task.sleep(for: .seconds(timeoutSeconds))
                self.fail(command.id, CommandError.timedOut(agent.name, seconds: timeoutSeconds))
            }
        }
    }

    func complete(_ result: CommandResult) {
        if let download = downloads.removeValue(forKey: result.id) {
            if result.ok {
                download.finish()
            } else {
                download.finish(throwing: DownloadError.agentFailed(result.error ?? "unknown error"))
            }
        }
        pending.removeValue(forKey: result.id)?.continuation.resume(returning: result)
    }

    /// Bytes an agent streams in answer to a command (a recording), in order. The stream ends
    /// with the agent's last chunk or its result, and fails if the agent reports an error.
    public func download(_ command: Command, on agent: Live, timeoutSeconds: Double) -> AsyncThrowingStream<ByteBuffer, Error> {
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, Error>.makeStream()
        downloads[command.id] = continuation
        continuation.onTermination = { _ in Task { await self.dropDownload(command.id) } }
        Task {
            do {
                _ = try await execute(command, on: agent, timeoutSeconds: timeoutSeconds)
            } catch {
                self.downloads.removeValue(forKey: command.id)?.finish(throwing: error)
            }
        }
        return stream
    }

    func deliver(_ chunk: DataChunk) -> Bool {
        guard let download = downloads[chunk.commandId] else { return false }
        if chunk.bytes.readableBytes > 0 { download.yield(chunk.bytes) }
        if chunk.isLast {
            downloads[chunk.commandId] = nil
            download.finish()
        }
        return true
    }

    private func dropDownload(_ commandId: String) {
        downloads[commandId] = nil
    }

    public enum DownloadError: Error, CustomStringConvertible {
        case agentFailed(String)

        public var description: String {
            switch self {
            case .agentFailed(let reason): "the agent could not send it: \(reason)"
            }
        }
    }

    private func fail(_ commandId: String, _ error: CommandError) {
        pending.removeValue(forKey: commandId)?.continuation.resume(throwing: error)
    }
}
