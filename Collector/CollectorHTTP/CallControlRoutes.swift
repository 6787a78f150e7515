import CollectorCore
import Foundation
import Hummingbird
import TamasLink

/// Click-to-call and supervision for CRMs and scripts: each request is routed over the command
/// channel to the agent serving the telephone system, and the answer is the agent's outcome
/// (the Asterisk agent reports the OriginateResponse: success, busy, no answer, failure).
///
/// These routes take the admin token or an API token (`tamasctl tokens add`), which is what a
/// CRM is given: it can start calls and supervision, and nothing else.
struct CallControlRoutes: Sendable {
    let store: CollectorStore
    let registry: AgentRegistry

    /// Who is calling, from the bearer token; never taken from the request body.
    enum Caller {
        case admin
        case token(APIToken)

        var name: String {
            switch self {
            case .admin: "admin"
            case .token(let token): "token:\(token.name)"
            }
        }

        /// The admin token may do everything; an API token what it was given.
        func permit(_ action: CallControlAction, systemKey: String) throws {
            guard case .token(let token) = self, let refusal = token.refusal(action, systemKey: systemKey) else { return }
            throw HTTPError(.forbidden, message: refusal)
        }
    }

    func caller(_ request: Request) async throws -> Caller {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw HTTPError(.unauthorized, message: "an API token or the admin token is required")
        }
        let token = String(header.dropFirst("Bearer ".count))
        if let apiToken = await store.apiToken(token) { return .token(apiToken) }
        if await store.isAdminToken(token) { return .admin }
        throw HTTPError(.unauthorized, message: "this token is not valid (revoked?)")
    }

    struct OriginateRequest: Decodable {
        var systemKey: String
        var `extension`: String
        var number: String
        var timeoutSeconds: Double?
        /// Absent: as the agent's `originateAutoAnswer` says.
        var autoAnswer: Bool?
    }

    struct SupervisionRequest: Decodable {
        var systemKey: String
        var supervisor: String
        var target: String
        var requestedBy: String?
        var timeoutSeconds: Double?
    }

    struct Outcome: Encodable {
        var ok: Bool
        var outcome: String?
        var error: String?
        var agent: String
    }

    func add(to api: RouterGroup<BasicRequestContext>) {
        api.post("originate") { request, context -> Response in
            let who = try await caller(request)
            let body = try await request.decode(as: OriginateRequest.self, context: context)
            try who.permit(.originate, systemKey: body.systemKey)
            var arguments = ["from": body.extension, "to": body.number]
            arguments["autoAnswer"] = body.autoAnswer.map { $0 ? "true" : "false" }
            return try await run(system: body.systemKey, name: "originate", arguments: arguments, timeout: body.timeoutSeconds)
        }
        for mode in [CallControlAction.spy, .whisper, .barge] {
            api.post(RouterPath(mode.rawValue)) { request, context -> Response in
                let who = try await caller(request)
                let body = try await request.decode(as: SupervisionRequest.self, context: context)
                try who.permit(mode, systemKey: body.systemKey)
                var arguments = ["supervisor": body.supervisor, "target": body.target,
                                 "mode": mode == .spy ? "listen" : mode.rawValue]
                arguments["requestedBy"] = body.requestedBy.map { "\($0) via \(who.name)" } ?? who.name
                return try await run(system: body.systemKey, name: "spy", arguments: arguments, timeout: body.timeoutSeconds)
            }
        }
    }

    private func run(system: String, name: String, arguments: [String: String], timeout: Double?) async throws -> Response {
        let agent: AgentRegistry.Live
        do {
            agent = try await registry.agent(toRun: name, forSystem: system)
        } catch {
            throw HTTPError(.conflict, message: error.description)
        }
        let command = Command(id: UUID().uuidString, name: name, arguments: arguments)
        do {
            let result = try await registry.execute(command, on: agent, timeoutSeconds: min(max(timeout ?? 60, 1), 300))
            return try json(Outcome(ok: result.ok, outcome: result.output, error: result.error, agent: agent.name),
                            status: result.ok ? .ok : .unprocessableContent)
        } catch let error as AgentRegistry.CommandError {
            throw HTTPError(.gatewayTimeout, message: error.description)
        }
    }
}
