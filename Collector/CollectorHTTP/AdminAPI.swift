import CRMDelivery
import CollectorCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import TamasEvents
import TamasLink

/// The collector's HTTP side (docs/api.md): health and metrics without credentials, everything
/// under /api/v1 behind the admin bearer token that `tamasctl` reads from the data folder.
public struct AdminAPI: Sendable {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        /// Shown to `tamasctl agents add` so it can print a ready agent configuration.
        public var agentAddress: String
        public var certificateFingerprint: String?
        /// Key file for signed recording links (created 0600 on first start).
        public var linkKeyFile: String

        public init(agentAddress: String, certificateFingerprint: String?, linkKeyFile: String) {
            self.agentAddress = agentAddress
            self.certificateFingerprint = certificateFingerprint
            self.linkKeyFile = linkKeyFile
        }
    }

    let store: CollectorStore
    let registry: AgentRegistry
    let metrics: CollectorMetrics
    let options: Options
    let logger: Logger
    /// The delivery lanes' doorbell: a replay or retried parked delivery wakes them at once.
    let crmDoorbell: Doorbell

    public init(store: CollectorStore, registry: AgentRegistry, metrics: CollectorMetrics, options: Options, logger: Logger,
                crmDoorbell: Doorbell) {
        self.store = store
        self.registry = registry
        self.metrics = metrics
        self.options = options
        self.logger = logger
        self.crmDoorbell = crmDoorbell
    }

    public func run(onBound: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let app = Application(
            responder: try makeResponder(),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "tamas-collector"),
            onServerRunning: { channel in onBound(channel.localAddress?.port ?? 0) },
            logger: logger)
        // A stopping collector cancels this task. Cancelling the server outright cuts every
        // connection and Hummingbird logs each as an error, so a routine stop looked like a
        // failure; a graceful shutdown stops accepting and lets requests in flight finish,
        // and only one still running after `drainSeconds` (a long poll) is cut.
        let server = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let serving = Task { try await server.run() }
        try await withTaskCancellationHandler {
            try await serving.value
        } onCancel: {
            Task {
                await server.triggerGracefulShutdown()
                try? await Task.sleep(for: .seconds(Self.drainSeconds))
                serving.cancel()
            }
        }
    }

    static let drainSeconds = 2

    func makeResponder() throws -> RouterResponder<BasicRequestContext> {
        let handle = MethodNotAllowedMiddleware<BasicRequestContext>.RouterHandle()
        // HEAD as GET without the body: what uptime monitors send to /healthz.
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.add(middleware: MethodNotAllowedMiddleware(router: handle))
        router.get("healthz") { _, _ -> Response in
            let healthy = await store.isHealthy()
            return try json(["status": healthy ? "ok" : "database unavailable"], status: healthy ? .ok : .serviceUnavailable)
        }
        router.get("metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        let api = router.group("api/v1").add(middleware: AdminTokenMiddleware(store: store))
        api.get("agents") { _, _ in try json(try await agentViews()) }
        api.post("agents") { request, context -> Response in
            let body = try await request.decode(as: EnrollRequest.self, context: context)
            do {
                let enrollment = try await store.enroll(name: body.name, systemKeys: body.systemKeys)
                logger.notice("agent enrolled", metadata: ["agent": "\(body.name)", "systems": "\(body.systemKeys)"])
                return try json(EnrollResponse(
                    name: enrollment.agent.name, agentId: enrollment.agent.id, secret: enrollment.secret,
                    systemKeys: enrollment.agent.systemKeys, collectorAddress: options.agentAddress,
                    collectorFingerprint: options.certificateFingerprint), status: .created)
            } catch let error as CollectorStore.EnrollmentError {
                if case .nameTaken = error { throw HTTPError(.conflict, message: error.description) }
                throw HTTPError(.badRequest, message: error.description)
            }
        }
        api.delete("agents/:name") { _, context -> Response in
            let name = try context.parameters.require("name")
            guard try await store.revoke(name: name) else { throw HTTPError(.notFound, message: "no agent named '\(name)'") }
            await registry.connectedAgent(named: name)?.close()
            logger.notice("agent revoked", metadata: ["agent": "\(name)"])
            return try json(["revoked": name])
        }
        api.post("agents/:name/commands") { request, context -> Response in
            let name = try context.parameters.require("name")
            let body = try await request.decode(as: CommandRequest.self, context: context)
            guard let agent = await registry.connectedAgent(named: name) else {
                throw HTTPError(.conflict, message: "agent '\(name)' is not connected")
            }
            let command = Command(id: UUID().uuidString, name: body.name, arguments: body.arguments ?? [:])
            do {
                let timeout = Self.clampedSeconds(body.timeoutSeconds, default: 30, range: 1...300)
                return try json(try await registry.execute(command, on: agent, timeoutSeconds: timeout))
            } catch let error as AgentRegistry.CommandError {
                throw HTTPError(.gatewayTimeout, message: error.description)
            }
        }
        api.get("calls") { request, _ -> Response in
            let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 50, 1), 10_000)
            let system = request.uri.queryParameters.get("systemKey")
            return try json(try await store.calls(limit: limit, systemKey: system))
        }
        api.get("events") { request, _ -> Response in
            let after = request.uri.queryParameters.get("after", as: Int64.self) ?? 0
            let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 500, 1), 10_000)
            let wait = Self.clampedSeconds(request.uri.queryParameters.get("wait", as: Double.self), default: 0, range: 0...60)
            let deadline = ContinuousClock.now + .seconds(wait)
            var events = try await store.events(after: after, limit: limit)
            while events.isEmpty, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                events = try await store.events(after: after, limit: limit)
            }
            var body = ByteBuffer(string: "{\"last\":\(events.last?.id ?? after),\"events\":[")
            for (index, event) in events.enumerated() {
                if index > 0 { body.writeString(",") }
                body.writeBytes(event.body)
            }
            body.writeString("]}")
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
        RecordingRoutes(store: store, registry: registry, links: try RecordingLinks(keyFile: options.linkKeyFile))
            .add(admin: api, public: router)
        CallControlRoutes(store: store, registry: registry).add(to: router.group("api/v1"))
        TokenRoutes(store: store, logger: logger).add(to: api)
        try CRMRoutes(collectorStore: store, doorbell: crmDoorbell).add(to: api)
        api.get("status") { _, _ -> Response in
            let counts = try await store.counts()
            let connected = await registry.snapshot().count
            return try json(StatusResponse(events: counts.events, calls: counts.calls, quarantined: counts.quarantined,
                                           agentsConnected: connected))
        }
        let responder = router.buildResponder()
        handle.set(responder)
        return responder
    }

    /// A client's number of seconds made safe to sleep on: `Duration.seconds` traps on NaN and
    /// on values beyond its range, and `wait=nan` parses as a Double.
    static func clampedSeconds(_ requested: Double?, default fallback: Double, range: ClosedRange<Double>) -> Double {
        guard let requested, !requested.isNaN else { return fallback }
        return min(max(requested, range.lowerBound), range.upperBound)
    }

    func agentViews() async throws -> [AgentView] {
        let live = await registry.snapshot()
        return try await store.agents().map { agent in
            let connection = live[agent.id]
            let spool = connection?.spool
            let status: String
            if agent.revoked {
                status = "revoked"
            } else if connection == nil {
                status = "disconnected"
            } else if spool?.state == "full" {
                status = "spool full"
            } else if spool?.state == "nearlyFull" {
                status = "spool nearly full"
            } else {
                status = connection?.deviceState ?? "connected"
            }
            return AgentView(
                name: agent.name, agentId: agent.id, kind: agent.kind, version: agent.version, systemKeys: agent.systemKeys,
                connected: connection != nil, remoteAddress: connection?.remoteAddress,
                connectedSince: connection?.connectedSince.iso8601, lastEventAt: agent.lastEventAt?.iso8601,
                lastSeenAt: agent.lastSeenAt?.iso8601, eventsReceived: agent.eventsReceived,
                spoolBacklog: spool?.backlog, spoolCapacity: spool?.capacity, spoolState: spool?.state,
                deviceState: connection?.deviceState, lastInputAt: connection?.lastInputAt?.iso8601, status: status)
        }
    }
}

struct AdminTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let store: CollectorStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
              await store.isAdminToken(String(header.dropFirst("Bearer ".count))) else {
            throw HTTPError(.unauthorized, message: "admin token missing or wrong (tamasctl reads it from the collector's data folder)")
        }
        return try await next(request, context)
    }
}

struct TokenRoutes: Sendable {
    let store: CollectorStore
    let logger: Logger

    struct NewToken: Codable {
        var name: String
        /// Absent: every system.
        var systemKeys: [String]?
        /// Absent: `CallControlAction.newTokenDefault`.
        var actions: [String]?
    }

    func add(to api: RouterGroup<BasicRequestContext>) {
        api.get("tokens") { _, _ -> Response in try json(try await store.apiTokenNames()) }
        api.post("tokens") { request, context -> Response in
            let body = try await request.decode(as: NewToken.self, context: context)
            var actions = CallControlAction.newTokenDefault
            if let names = body.actions {
                actions = try names.map { name in
                    guard let action = CallControlAction(rawValue: name) else {
                        let allowed = CallControlAction.allCases.map(\.rawValue).joined(separator: ", ")
                        throw HTTPError(.badRequest, message: "actions: '\(name)' is not one of \(allowed)")
                    }
                    return action
                }
            }
            do {
                let token = try await store.addAPIToken(name: body.name, systemKeys: body.systemKeys, actions: actions)
                logger.notice("API token created", metadata: [
                    "name": "\(body.name)", "systems": "\(body.systemKeys?.joined(separator: ",") ?? "all")",
                    "actions": "\(actions.map(\.rawValue).joined(separator: ","))",
                ])
                return try json(["name": body.name, "token": token], status: .created)
            } catch let error as CollectorStore.APITokenError {
                throw HTTPError(error.isNameTaken ? .conflict : .badRequest, message: error.description)
            }
        }
        api.get("tokens/:name") { _, context -> Response in
            let name = try context.parameters.require("name")
            guard let token = try await store.apiToken(named: name) else { throw HTTPError(.notFound, message: "no token named '\(name)'") }
            return try json(token)
        }
        api.delete("tokens/:name") { _, context -> Response in
            let name = try context.parameters.require("name")
            guard try await store.revokeAPIToken(name: name) else { throw HTTPError(.notFound, message: "no token named '\(name)'") }
            logger.notice("API token revoked", metadata: ["name": "\(name)"])
            return try json(["revoked": name])
        }
    }
}

func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return Response(status: status, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(data: try encoder.encode(value))))
}

public struct EnrollRequest: Codable, Sendable {
    public var name: String
    public var systemKeys: [String]
}

public struct EnrollResponse: Codable, Sendable {
    public var name: String
    public var agentId: String
    public var secret: String
    public var systemKeys: [String]
    public var collectorAddress: String
    public var collectorFingerprint: String?
}

public struct CommandRequest: Codable, Sendable {
    public var name: String
    public var arguments: [String: String]?
    public var timeoutSeconds: Double?
}

public struct StatusResponse: Codable, Sendable {
    public var events: Int
    public var calls: Int
    public var quarantined: Int
    public var agentsConnected: Int
}

public struct AgentView: Codable, Sendable {
    public var name: String
    public var agentId: String
    public var kind: String?
    public var version: String?
    public var systemKeys: [String]
    public var connected: Bool
    public var remoteAddress: String?
    public var connectedSince: String?
    public var lastEventAt: String?
    public var lastSeenAt: String?
    public var eventsReceived: Int
    public var spoolBacklog: Int?
    public var spoolCapacity: Int?
    public var spoolState: String?
    public var deviceState: String?
    public var lastInputAt: String?
    public var status: String
}
