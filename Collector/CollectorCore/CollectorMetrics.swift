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
        eventsReceived = registry.makeCounter(descriptor: Self.tamas(
            "events_received", unit: "total", help: "Events received from agents, duplicates included."))
        eventsStored = registry.makeCounter(descriptor: Self.tamas(
            "events_stored", unit: "total", help: "Distinct events committed to the store."))
        eventsDeduplicated = registry.makeCounter(descriptor: Self.tamas(
            "events_deduplicated", unit: "total", help: "Events already stored (resends, a second agent on the same system)."))
        eventsQuarantined = registry.makeCounter(descriptor: Self.tamas(
            "events_quarantined", unit: "total",
            help: "Events refused (invalid, or for a system key the agent is not enrolled for) and kept aside."))
        eventsPruned = registry.makeCounter(descriptor: Self.tamas(
            "events_pruned", unit: "total", help: "Stored events removed by the retention settings (--keep-days, --keep-state-days)."))
        connectionsRefused = registry.makeCounter(descriptor: Self.tamas(
            "agent_connections_refused", unit: "total", help: "Agent connections closed for bad credentials, bad frames or timeouts."))
        agentsConnected = registry.makeGauge(descriptor: Self.tamas("agents_connected", unit: "", help: "Agents connected now."))
    }

    /// Rows of another module's table removed by retention (`RetentionExtension`).
    func rowsPruned(table: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.tamas("store_rows_pruned", unit: "total",
                                   help: "Rows of the CRM's tables removed by retention (crm_call_state: --keep-crm-call-state-days)."),
            labels: [("table", table)])
    }

    func spoolBacklog(agent: String) -> Gauge {
        registry.makeGauge(
            descriptor: Self.tamas("agent_spool_backlog", unit: "", help: "Unacknowledged events in the agent's spool, as last reported."),
            labels: [("agent", agent)])
    }

    /// A timestamp rather than an age, as Prometheus prefers: alert on
    /// `time() - tamas_agent_last_input_timestamp_seconds > 900` for a link that is up but silent.
    func lastInput(agent: String) -> Gauge {
        registry.makeGauge(
            descriptor: Self.tamas("agent_last_input_timestamp", unit: "seconds",
                                   help: "When the agent last read anything from its device (Unix time), as last reported."),
            labels: [("agent", agent)])
    }

    /// `tamas_<name>_<unit>`; an empty unit adds nothing, so the names are those the docs list.
    private static func tamas(_ name: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "tamas", metricName: name, unitName: unit, helpText: help)
    }

    public func text() -> String {
        registry.emitToString()
    }
}
