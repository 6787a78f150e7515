import CRMDelivery
import CollectorCore
import Foundation
import Hummingbird
import TamasEvents

/// `/api/v1/crm`: CRM endpoints, their delivery health and their parked deliveries
/// (docs/crm.md). Secrets go in (add, new password) and never come out.
struct CRMRoutes: Sendable {
    let store: CRMStore

    init(collectorStore: CollectorStore, doorbell: Doorbell) throws {
        let box = try SecretBox(keyFile: SecretBox.keyFile(besideDatabase: collectorStore.database.path))
        store = CRMStore(database: collectorStore.database, box: box, doorbell: doorbell)
    }

    struct SecretChange: Decodable {
        var secret: String
    }

    func add(to api: RouterGroup<BasicRequestContext>) {
        api.get("crm") { _, _ in try json(try await store.list()) }
        api.post("crm") { request, context -> Response in
            let definition = try await request.decode(as: EndpointDefinition.self, context: context)
            return try await answer(status: .created) { try await store.add(definition) }
        }
        api.put("crm/:name/password") { request, context -> Response in
            let name = try context.parameters.require("name")
            let change = try await request.decode(as: SecretChange.self, context: context)
            return try await answer { try await store.setSecret(name: name, secret: change.secret); return try await store.view(named: name) }
        }
        api.post("crm/:name/pause") { _, context -> Response in
            let name = try context.parameters.require("name")
            return try await answer { try await store.setPaused(name: name, true); return try await store.view(named: name) }
        }
        api.post("crm/:name/resume") { _, context -> Response in
            let name = try context.parameters.require("name")
            return try await answer { try await store.setPaused(name: name, false); return try await store.view(named: name) }
        }
        api.post("crm/:name/replay") { request, context -> Response in
            let name = try context.parameters.require("name")
            guard let text = request.uri.queryParameters.get("since"), let since = Timestamp(iso8601: text) else {
                throw HTTPError(.badRequest, message: "give ?since= as an ISO 8601 time, e.g. 2026-11-26T08:00:00+03:30")
            }
            return try await answer { ["queued": try await store.replay(name: name, since: since)] }
        }
        api.get("crm/:name/parked") { _, context -> Response in
            let name = try context.parameters.require("name")
            return try await answer { try await store.parked(name: name) }
        }
        api.post("crm/:name/parked/:id/retry") { _, context -> Response in
            let name = try context.parameters.require("name")
            guard let id = context.parameters.get("id", as: Int64.self) else { throw HTTPError(.badRequest, message: "the id is a number") }
            return try await answer {
                guard try await store.retryParked(name: name, id: id) else {
                    throw HTTPError(.notFound, message: "endpoint '\(name)' has no parked delivery \(id)")
                }
                return ["requeued": id]
            }
        }
    }

    /// The store's refusals become 400/404/409 with its message.
    private func answer(status: HTTPResponse.Status = .ok, _ work: () async throws -> some Encodable) async throws -> Response {
        do {
            return try json(try await work(), status: status)
        } catch let failure as CRMStore.Failure {
            switch failure {
            case .nameTaken: throw HTTPError(.conflict, message: failure.description)
            case .notFound: throw HTTPError(.notFound, message: failure.description)
            }
        } catch let invalid as EndpointDefinition.Invalid {
            throw HTTPError(.badRequest, message: invalid.description)
        }
    }
}
