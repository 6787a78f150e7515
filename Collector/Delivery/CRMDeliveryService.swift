import AsyncHTTPClient
import CollectorCore
import Foundation
import GRDB
import Logging
import Prometheus

/// Starts the delivery lanes of every CRM endpoint in the store (also of endpoints added while it
/// runs; an endpoint's `EndpointLanes` follow its edits and removal) and stops them when its task
/// is cancelled.
public struct CRMDeliveryService: Sendable {
    let store: CRMStore
    let doorbell: Doorbell
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    /// nil: the collector has no public address, so deliveries carry recording refs but no links.
    let recordingLinks: RecordingLinkMinter?
    /// The longest an idle worker sleeps when nothing rings its endpoint's doorbell.
    var idlePollInterval = EndpointWorker.defaultPollInterval

    /// Creates `crm.key` beside the database on first use, before the admin API can need it.
    public init(collectorStore: CollectorStore, doorbell: Doorbell, registry: PrometheusCollectorRegistry, logger: Logger,
                recordingLinks: RecordingLinkMinter? = nil) throws {
        let box = try SecretBox(keyFile: SecretBox.keyFile(besideDatabase: collectorStore.database.path))
        store = CRMStore(database: collectorStore.database, box: box, doorbell: doorbell)
        self.doorbell = doorbell
        self.registry = registry
        self.logger = logger
        self.recordingLinks = recordingLinks
    }

    public func run() async throws {
        if recordingLinks == nil {
            // A loopback or internal address would reach the CRM user's browser as a dead link.
            logger.notice("CRM deliveries carry no recording links: start the collector with --public-url to add them")
        }
        // Added before any worker reads its endpoint, so no edit can fall between the read and the observing.
        let edits = EndpointEditObserver(doorbell: doorbell)
        try await store.database.writeWithoutTransaction { $0.add(transactionObserver: edits, extent: .observerLifetime) }
        // The writer holds the observer weakly: it observes for as long as this runs.
        defer { withExtendedLifetime(edits) {} }
        let client = HTTPTransport.makeClient()
        await withTaskGroup(of: Void.self) { group in
            var running: Set<Int64> = []
            while !Task.isCancelled {
                do {
                    for id in try await store.endpointIds() where !running.contains(id) {
                        running.insert(id)
                        let lanes = EndpointLanes(endpointId: id, store: store, registry: registry, logger: logger) { [self] lane in
                            EndpointWorker(endpointId: id, lane: lane, store: store, client: client, doorbell: doorbell, registry: registry,
                                           logger: logger, recordingLinks: recordingLinks, pollInterval: idlePollInterval)
                        }
                        group.addTask { await lanes.run() }
                    }
                } catch {
                    logger.error("cannot read the CRM endpoints", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(1))
            }
            group.cancelAll()
        }
        try await client.shutdown()
    }
}
