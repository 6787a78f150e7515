import Prometheus

/// What `GET /metrics` exposes (Prometheus text format).
public final class CollectorMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let eventsReceived: Counter
    let eventsStored: Counter
    let eventsDeduplicated: Counter
    let eventsQuarantined: Counter
    let connectionsRefused: Counter
    let eventsPruned: Counter
    let agentsConnected: Gauge

    public init() {
        eventsReceived = registry.makeCounter(name: "tamas_events_received_total", help: "Events received from agents, duplicates included.")
        eventsStored = registry.makeCounter(name: "tamas_events_stored_total", help: "Distinct events committed to the store.")
        eventsDeduplicated = registry.makeCounter(name: "tamas_events_deduplicated_total", help: "Events already stored (resends, a second agent on the same system).")
        eventsQuarantined = registry.makeCounter(name: "tamas_events_quarantined_total", help: "Events refused (invalid, or for a system key the agent is not enrolled for) and kept aside.")
        eventsPruned = registry.makeCounter(name: "tamas_events_pruned_total", help: "Stored events removed by the retention settings (--keep-days, --keep-state-days).")
        connectionsRefused = registry.makeCounter(name: "tamas_agent_connections_refused_total", help: "Agent connections closed for bad credentials, bad frames or timeouts.")
        agentsConnected = registry.makeGauge(name: "tamas_agents_connected", help: "Agents connected now.")
    }

    /// Rows of another module's table removed by retention (`RetentionExtension`).
    func rowsPruned(table: String) -> Counter {
        registry.makeCounter(name: "tamas_store_rows_pruned_total", labels: [("table", table)],
                             help: "Rows of the CRM's tables removed by retention (crm_call_state: --keep-crm-call-state-days).")
    }

    func spoolBacklog(agent: String) -> Gauge {
        registry.makeGauge(name: "tamas_agent_spool_backlog", labels: [("agent", agent)], help: "Unacknowledged events in the agent's spool, as last reported.")
    }

    /// A timestamp rather than an age, as Prometheus prefers: alert on
    /// `time() - tamas_agent_last_input_timestamp_seconds > 900` for a link that is up but silent.
    func lastInput(agent: String) -> Gauge {
        registry.makeGauge(name: "tamas_agent_last_input_timestamp_seconds", labels: [("agent", agent)],
                           help: "When the agent last read anything from its device (Unix time), as last reported.")
    }

    public func text() -> String {
        registry.emitToString()
    }
}
