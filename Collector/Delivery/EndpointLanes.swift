import Logging
import Prometheus

/// Keeps one endpoint's delivery lanes running as its configuration says, for as long as the
/// endpoint exists. Lanes split the outbox by row id modulo their count, so lanes of two counts
/// must never run at once (two of them could hold the same row): when `parallelCalls` is edited
/// every lane ends after the delivery it is making, and only then do the new lanes start.
struct EndpointLanes: Sendable {
    let endpointId: Int64
    let store: CRMStore
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    let worker: @Sendable (Lane) -> EndpointWorker

    func run() async {
        var started: (name: String, lanes: Int)?
        while !Task.isCancelled {
            let endpoint: EndpointConfiguration?
            do {
                endpoint = try await store.configuration(id: endpointId)
            } catch {
                logger.error("cannot read a CRM endpoint; trying again", metadata: ["endpointId": "\(endpointId)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            guard let endpoint else {
                if let started { await removed(started.name) }
                return
            }
            let lanes = endpoint.parallelCalls
            if let started, started.lanes != lanes {
                logger.notice("CRM endpoint now delivers \(lanes) calls at once", metadata: ["endpoint": "\(endpoint.name)"])
            }
            started = (endpoint.name, lanes)
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<lanes {
                    let worker = worker(Lane(index: index, count: lanes))
                    group.addTask { await worker.run() }
                }
            }
        }
    }

    /// Its figures leave /metrics with it, unless an endpoint of the same name was added since
    /// (the series are the name's, and would be the new endpoint's).
    private func removed(_ name: String) async {
        logger.notice("CRM endpoint removed; its delivery lanes stopped", metadata: ["endpoint": "\(name)"])
        guard (try? await store.endpointExists(named: name)) == false else { return }
        DeliveryMetrics(registry: registry, endpoint: name).unregister(from: registry)
    }
}
