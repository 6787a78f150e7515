import Prometheus

/// Per-endpoint delivery figures in the collector's Prometheus registry.
struct DeliveryMetrics: Sendable {
    let delivered: Counter
    let retried: Counter
    let parked: Counter
    let authFailures: Counter
    let backlog: Gauge
    let parkedNow: Gauge

    init(registry: PrometheusCollectorRegistry, endpoint: String) {
        let attempts = MetricNameDescriptor(namespace: "tamas", subsystem: "crm", metricName: "deliveries", unitName: "total",
                                            helpText: "Delivery attempts to a CRM endpoint by how they ended.")
        func attemptsEnding(_ result: String) -> Counter {
            registry.makeCounter(descriptor: attempts, labels: [("endpoint", endpoint), ("result", result)])
        }
        delivered = attemptsEnding("done")
        retried = attemptsEnding("retried")
        parked = attemptsEnding("parked")
        authFailures = attemptsEnding("auth_failed")
        backlog = registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "tamas", subsystem: "crm", metricName: "backlog", unitName: "events",
                                             helpText: "Events waiting to be delivered to a CRM endpoint."),
            labels: [("endpoint", endpoint)])
        parkedNow = registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "tamas", subsystem: "crm", metricName: "parked", unitName: "deliveries",
                                             helpText: "Deliveries a CRM endpoint refused, kept for an operator."),
            labels: [("endpoint", endpoint)])
    }

    /// Takes the endpoint's series out of /metrics.
    func unregister(from registry: PrometheusCollectorRegistry) {
        for counter in [delivered, retried, parked, authFailures] { registry.unregisterCounter(counter) }
        for gauge in [backlog, parkedNow] { registry.unregisterGauge(gauge) }
    }

    func count(_ verdict: DeliveryVerdict) {
        switch verdict {
        case .done: delivered.increment()
        case .retry: retried.increment()
        case .rejected: parked.increment()
        case .authFailed: authFailures.increment()
        }
    }
}
