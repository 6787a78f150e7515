import AsyncHTTPClient
import Foundation
import Logging
import Prometheus

/// Delivers one lane of an endpoint's outbox, one delivery at a time, for as long as the
/// collector runs and the endpoint exists with this number of lanes. Each endpoint has its own
/// workers (`parallelCalls` of them), so a dead or slow CRM delays only its own deliveries, and a
/// CRM that answers slowly still gets several calls at once.
struct EndpointWorker: Sendable {
    let endpointId: Int64
    let lane: Lane
    let store: CRMStore
    let client: HTTPClient
    let doorbell: Doorbell
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    let recordingLinks: RecordingLinkMinter?
    /// The longest an idle worker sleeps without a ring: a change written to the database by
    /// another process (sqlite3 by hand) rings nothing, and lane 0 refreshes the backlog gauges.
    let pollInterval: Duration
    static let defaultPollInterval: Duration = .seconds(1)
    static let gaugeMillis: Int64 = 1000

    private enum Health: Equatable {
        case fine, failing, authFailed
    }

    func run() async {
        var health = Health.fine
        var failures = 0
        var metrics: DeliveryMetrics?
        var gaugesUpdatedAt: Int64 = 0
        var configured: (edits: UInt64, endpoint: EndpointConfiguration)?
        while !Task.isCancelled {
            do {
                // Taken before anything is read: whatever rings from here on ends the idle wait below.
                let ticket = doorbell.ticket(for: endpointId)
                let endpoint: EndpointConfiguration
                if let configured, configured.edits == ticket.edits {
                    endpoint = configured.endpoint
                } else {
                    // Gone, or split into another number of lanes: `EndpointLanes` takes it from here.
                    guard let current = try await store.configuration(id: endpointId), current.parallelCalls == lane.count else { return }
                    endpoint = current
                    configured = (ticket.edits, current)
                }
                let figures = metrics ?? DeliveryMetrics(registry: registry, endpoint: endpoint.name)
                metrics = figures
                // Counting the backlog reads every waiting row: once a second, by one lane, is enough for a gauge.
                if lane.index == 0, Clock.nowMillis() - gaugesUpdatedAt >= Self.gaugeMillis {
                    try await updateGauges(figures)
                    gaugesUpdatedAt = Clock.nowMillis()
                }
                if endpoint.paused || endpoint.authFailure != nil {
                    if endpoint.authFailure == nil, health == .authFailed { health = .fine }
                    await idle(after: ticket, dueAtMillis: nil)
                    continue
                }
                if health == .authFailed {
                    logger.notice("CRM endpoint credentials replaced; delivering the backlog", metadata: ["endpoint": "\(endpoint.name)"])
                    health = .fine
                }
                guard let delivery = try await store.nextDelivery(endpointId: endpointId, now: Clock.nowMillis(), lane: lane) else {
                    if lane.index == 0 {
                        try await updateGauges(figures)
                        gaugesUpdatedAt = Clock.nowMillis()
                    }
                    await idle(after: ticket, dueAtMillis: try await store.nextDueAt(endpointId: endpointId, lane: lane))
                    continue
                }
                // An edit that committed while the row was read may have dropped it with its
                // system: the next turn reads the endpoint and its queue again.
                if doorbell.ticket(for: endpointId).edits != ticket.edits { continue }
                let verdict = try await attempt(delivery, to: endpoint, readAt: ticket)
                figures.count(verdict)
                switch verdict {
                case .done:
                    if health == .failing {
                        logger.notice("CRM endpoint reachable again", metadata: ["endpoint": "\(endpoint.name)"])
                    }
                    health = .fine
                    failures = 0
                case .retry(let reason, let after):
                    failures += 1
                    if health != .failing {
                        logger.warning("CRM endpoint failing; deliveries wait and are retried",
                                       metadata: ["endpoint": "\(endpoint.name)", "reason": "\(reason)"])
                    }
                    health = .failing
                    let backoff = Backoff(maxSeconds: endpoint.options.effectiveMaxBackoffSeconds)
                    let delay = backoff.delayMillis(failures: failures, retryAfterSeconds: after, random: Double.random(in: 0...1))
                    // New events do not cut the wait short, an edit does: resuming the endpoint or
                    // giving it a new secret makes its backlog due now, and the admin expects it to go.
                    await doorbell.waitForEdit(after: ticket, atMost: .milliseconds(delay))
                case .authFailed(let reason):
                    logger.error("CRM endpoint AUTH FAILED: deliveries wait until 'tamasctl crm set-password \(endpoint.name)'",
                                 metadata: ["endpoint": "\(endpoint.name)", "reason": "\(reason)"])
                    health = .authFailed
                case .rejected(let status, let reason, let excerpt):
                    logger.warning("CRM refused a delivery; parked it (see 'tamasctl crm parked \(endpoint.name)')", metadata: [
                        "endpoint": "\(endpoint.name)", "event": "\(delivery.job.event.eventId)", "status": "\(status)",
                        "reason": "\(reason)", "answer": "\(excerpt)",
                    ])
                }
            } catch is CancellationError {
                return
            } catch is EndpointRemoved {
                return
            } catch is DeliveryDropped {
                // Its system was taken away mid-delivery; the next turn takes the next row.
                continue
            } catch {
                logger.error("CRM delivery worker error; trying again", metadata: ["endpointId": "\(endpointId)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// `ticket`: the endpoint's doorbell as it was when `endpoint` was known to be current.
    private func attempt(_ delivery: ClaimedDelivery, to endpoint: EndpointConfiguration, readAt ticket: Doorbell.Ticket) async throws
        -> DeliveryVerdict {
        let transport = HTTPTransport(client: client, baseURL: endpoint.baseURL, logger: logger)
        let store = self.store
        let job = recordingLinks?.addingLinks(to: delivery.job, now: Date()) ?? delivery.job
        let (verdict, checkpoint) = try await endpoint.driver().deliver(job, over: transport) { checkpoint in
            try await store.saveCheckpoint(checkpoint, endpointId: endpoint.id, delivery: delivery)
        }
        var retryAt = Clock.nowMillis()
        if case .retry(_, let after) = verdict {
            let backoff = Backoff(maxSeconds: endpoint.options.effectiveMaxBackoffSeconds)
            retryAt += backoff.delayMillis(failures: delivery.attempts + 1, retryAfterSeconds: after, random: Double.random(in: 0...1))
        }
        if try await store.settle(delivery, endpoint: endpoint, verdict: verdict, checkpoint: checkpoint, retryAt: retryAt) {
            doorbell.ring(endpointId: endpoint.id)
        }
        // An edit that committed while this attempt was on its way (a new address, a resume, a new
        // secret) made the backlog due now; the retry time just stored must not put this one off.
        if case .retry = verdict, doorbell.ticket(for: endpoint.id).edits != ticket.edits {
            try await store.makeDueNow(deliveryId: delivery.id)
        }
        return verdict
    }

    private func updateGauges(_ metrics: DeliveryMetrics) async throws {
        let (pending, parked) = try await store.backlog(endpointId: endpointId)
        metrics.backlog.set(Int64(pending))
        metrics.parkedNow.set(Int64(parked))
    }

    /// Sleeps until the endpoint's doorbell rings after `ticket`, `dueAtMillis` (the next
    /// delivery's due time) passes, the poll interval ends, or the task is cancelled.
    private func idle(after ticket: Doorbell.Ticket, dueAtMillis: Int64?) async {
        var timeout = pollInterval
        if let dueAtMillis {
            timeout = min(timeout, .milliseconds(max(0, dueAtMillis - Clock.nowMillis())))
        }
        await doorbell.wait(after: ticket, atMost: timeout)
    }
}
