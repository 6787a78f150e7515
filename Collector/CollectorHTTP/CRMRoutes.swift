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
            let body = try await request.body.collect(upTo: context.maxUploadSize)
            return try await answer(status: .created) { try await store.add(try EndpointRequest.decode(EndpointDefinition.self, from: body)) }
        }
        api.patch("crm/:name") { request, context -> Response in
            let name = try context.parameters.require("name")
            let body = try await request.body.collect(upTo: context.maxUploadSize)
            return try await answer {
                let edit = try EndpointRequest.decode(EndpointEdit.self, from: body)
                let view = try await store.edit(name: name, edit)
                context.logger.notice("CRM endpoint edited", metadata: [
                    "endpoint": "\(name)", "fields": "\(edit.changedFields.joined(separator: ","))",
                    "droppedQueued": "\(view.droppedQueued ?? 0)",
                ])
                return view
            }
        }
        api.delete("crm/:name") { request, context -> Response in
            let name = try context.parameters.require("name")
            let force: Bool
            switch request.uri.queryParameters.get("force") {
            case nil, "false": force = false
            case "true": force = true
            default: throw HTTPError(.badRequest, message: "force: give ?force=true to drop the deliveries still queued or parked")
            }
            return try await answer {
                let removal = try await store.remove(name: name, force: force)
                context.logger.notice("CRM endpoint removed", metadata: [
                    "endpoint": "\(name)", "droppedQueued": "\(removal.droppedQueued)", "droppedParked": "\(removal.droppedParked)",
                ])
                return removal
            }
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

    /// The store's refusals become 400/404/409 with its message; a body's refusals name their field.
    private func answer(status: HTTPResponse.Status = .ok, _ work: () async throws -> some Encodable) async throws -> Response {
        do {
            return try json(try await work(), status: status)
        } catch let failure as CRMStore.Failure {
            switch failure {
            case .nameTaken: throw HTTPError(.conflict, message: failure.description)
            case .notFound: throw HTTPError(.notFound, message: failure.description)
            case .undelivered, .systemNotServed: throw HTTPError(.conflict, message: failure.description)
            }
        } catch let invalid as EndpointDefinition.Invalid {
            throw HTTPError(.badRequest, message: invalid.description)
        }
    }
}
