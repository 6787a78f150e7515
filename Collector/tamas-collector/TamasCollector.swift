import ArgumentParser
import CRMDelivery
import CollectorCore
import CollectorHTTP
import Foundation
import Logging
import NIOSSL
import TamasEvents
import TamasLink

@main
struct TamasCollector: AsyncParsableCommand {
    static let version = "0.1.0"
    static let configuration = CommandConfiguration(
        commandName: "tamas-collector",
        abstract: "Receives call events from Tamas agents over TLS, deduplicates and stores them, and serves them to CRMs and tamasctl.",
        version: version,
        subcommands: [Run.self],
        defaultSubcommand: Run.self)
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the collector (the default command).",
        discussion: """
            On first start it creates, in the data folder: collector.sqlite, a self-signed TLS identity under tls/ \
            (unless --tls-certificate is given) and admin.token (0600) for tamasctl.
            """)

    @Option(help: "Data folder (store, TLS identity, admin token).")
    var dataDir = "/var/lib/tamas"

    @Option(help: "Address agents connect to (TLS).")
    var listen = "0.0.0.0:\(LinkProtocol.defaultPort)"

    @Option(help: "Address of the HTTP admin API, /metrics and /healthz.")
    var http = "127.0.0.1:8080"

    @Option(help: "Address agents should use, printed by 'tamasctl agents add' (default: this host's name and the --listen port).")
    var publicAddress: String?

    @Option(help: "PEM certificate (chain) for the agent listener; default: a self-signed one made on first start.")
    var tlsCertificate: String?

    @Option(help: "PEM private key for --tls-certificate.")
    var tlsKey: String?

    @Option(help: "Require agents to present a client certificate issued by this CA (mutual TLS).")
    var clientCa: String?

    @Option(help: "Seconds between heartbeats on agent links (a link silent for three is closed).")
    var heartbeatSeconds = LinkProtocol.defaultHeartbeatSeconds

    @Option(help: "Seconds an agent connection may take from accept to a valid hello (TLS handshake included).")
    var helloTimeoutSeconds: Double = 10

    @Option(help: "How far outside a call (seconds) a recording on the same line may start or end and still be linked to it.")
    var recordingToleranceSeconds = 15

    @Option(help: "The collector's HTTP address as CRM users' browsers reach it (e.g. https://tamas.example.com), for the recording links in CRM deliveries; without it deliveries carry no links.")
    var publicUrl: String?

    @Option(help: "Seconds a recording link in a CRM delivery stays valid, counted from when the delivery is sent.")
    var recordingLinkSeconds = RecordingLinkMinter.defaultLifetimeSeconds

    @Option(help: "Days to keep stored events, calls, recordings and quarantined events after they arrived; 0 keeps them for ever.")
    var keepDays = 0

    @Option(help: "Days to keep extension.state events (phone states, the bulk on Asterisk systems); 0 keeps them as long as --keep-days.")
    var keepStateDays = RetentionPolicy.defaultStateDays

    @Option(help: "Days to keep what a CRM endpoint remembers of an ended call with nothing left to deliver (e.g. PayamGostar's call id), counted from when it was last written; 0 keeps it for ever.")
    var keepCrmCallStateDays = CRMCallStateRetention.defaultDays

    @Flag(help: "Also start a demo agent that feeds sample calls, so you can watch them arrive.")
    var demo = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "info"

    /// A listener may take port 0 (any free port), which the tests use.
    static func listenAddress(_ text: String) -> HostPort? { HostPort(text, ports: 0...65_535) }

    func validate() throws {
        guard Self.listenAddress(listen) != nil else { throw ValidationError("--listen must be host:port, not '\(listen)'") }
        guard Self.listenAddress(http) != nil else { throw ValidationError("--http must be host:port, not '\(http)'") }
        guard (tlsCertificate == nil) == (tlsKey == nil) else { throw ValidationError("--tls-certificate and --tls-key go together") }
        guard keepDays >= 0, keepStateDays >= 0, keepCrmCallStateDays >= 0 else {
            throw ValidationError("--keep-days, --keep-state-days and --keep-crm-call-state-days must be 0 or more")
        }
        guard RecordingLinkMinter.lifetimeRange.contains(recordingLinkSeconds) else {
            throw ValidationError("--recording-link-seconds must be between 60 and \(RecordingLinkMinter.lifetimeRange.upperBound)")
        }
    }

    func run() async throws {
        LineLogHandler.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .info)
        let logger = Logger(label: "tamas.collector")
        let home = try CollectorHome(folder: dataDir)
        let crmDoorbell = Doorbell()
        let store = try CollectorStore(path: home.databasePath, extensions: OutboxSchema.extensions,
                                       hooks: [OutboxHook(doorbell: crmDoorbell)],
                                       recordingToleranceSeconds: recordingToleranceSeconds)
        let (_, tokenCreated) = try await home.ensureAdminToken(store: store)
        if tokenCreated { logger.notice("admin token created", metadata: ["file": "\(home.adminTokenPath)"]) }

        let (certificate, key): (String, String)
        if let tlsCertificate, let tlsKey {
            (certificate, key) = (tlsCertificate, tlsKey)
        } else {
            let hostName = ProcessInfo.processInfo.hostName
            let identity = try home.ensureSelfSignedIdentity(hosts: ["localhost", "127.0.0.1", "::1", hostName])
            if identity.created { logger.notice("self-signed TLS identity created", metadata: ["certificate": "\(identity.certificate)"]) }
            (certificate, key) = (identity.certificate, identity.key)
        }
        let fingerprint = try LinkTLS.fingerprint(pem: String(contentsOfFile: certificate, encoding: .utf8))
        let tls = try LinkTLS.serverContext(certificateFile: certificate, privateKeyFile: key, clientCAFile: clientCa)

        let metrics = CollectorMetrics()
        let linkKeyFile = home.folder + "/links.key"
        // Made here, before the admin API reads the same file, so both sign with one key.
        let recordingLinks = try RecordingLinks(keyFile: linkKeyFile)
        let linkMinter: RecordingLinkMinter?
        do {
            linkMinter = try publicUrl.map { try RecordingLinkMinter(links: recordingLinks, publicBaseURL: $0, lifetimeSeconds: recordingLinkSeconds) }
        } catch let invalid as RecordingLinkMinter.Invalid {
            throw ValidationError("--public-url: \(invalid.description)")
        }
        let crmDelivery = try CRMDeliveryService(collectorStore: store, doorbell: crmDoorbell, registry: metrics.registry, logger: logger,
                                                 recordingLinks: linkMinter)
        let registry = AgentRegistry(metrics: metrics)
        guard let linkAddress = Self.listenAddress(listen), let httpAddress = Self.listenAddress(http) else {
            throw ValidationError("--listen and --http must be host:port")
        }
        let (listenHost, listenPort) = (linkAddress.host, linkAddress.port)
        let (httpHost, httpPort) = (httpAddress.host, httpAddress.port)
        var ingestOptions = IngestServer.Options()
        ingestOptions.host = listenHost
        ingestOptions.port = listenPort
        ingestOptions.heartbeatSeconds = heartbeatSeconds
        ingestOptions.helloTimeoutSeconds = helloTimeoutSeconds
        let ingest = IngestServer(store: store, registry: registry, metrics: metrics, tls: tls, options: ingestOptions,
                                  collectorVersion: TamasCollector.version, logger: logger)
        let advertised = publicAddress ?? "\(listenHost == "0.0.0.0" || listenHost == "::" ? ProcessInfo.processInfo.hostName : listenHost):\(listenPort)"
        var apiOptions = AdminAPI.Options(agentAddress: advertised, certificateFingerprint: fingerprint,
                                          linkKeyFile: linkKeyFile)
        apiOptions.host = httpHost
        apiOptions.port = httpPort
        let api = AdminAPI(store: store, registry: registry, metrics: metrics, options: apiOptions, logger: logger,
                           crmDoorbell: crmDoorbell)
        let crmCallStates = keepCrmCallStateDays > 0 ? [CRMCallStateRetention(collectorStore: store, days: keepCrmCallStateDays)] : []
        let retention = RetentionService(store: store, policy: RetentionPolicy(days: keepDays, stateDays: keepStateDays),
                                         extensions: crmCallStates, metrics: metrics, logger: logger)
        logger.info("collector starting", metadata: [
            "version": "\(TamasCollector.version)", "data": "\(dataDir)", "agents": "\(listen)", "http": "\(http)",
            "fingerprint": "\(fingerprint)", "mutualTLS": "\(clientCa != nil)",
        ])
        let (bound, boundSignal) = AsyncStream<Int>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await ingest.run { boundSignal.yield($0) } }
            group.addTask { try await api.run() }
            group.addTask { try await crmDelivery.run() }
            if retention.prunesAnything { group.addTask { await retention.run() } }
            if demo {
                var ports = bound.makeAsyncIterator()
                let agentPort = await ports.next() ?? listenPort
                group.addTask {
                    try await DemoFeed(home: home, store: store, agentPort: agentPort, fingerprint: fingerprint, logger: logger).run()
                }
            }
            group.addTask { await waitForTerminationSignal() }
            try await group.next()
            logger.notice("collector stopping")
            group.cancelAll()
        }
    }
}

/// Returns on SIGTERM or SIGINT so the collector closes its listeners and store cleanly.
func waitForTerminationSignal() async {
    let (stream, continuation) = AsyncStream<Void>.makeStream()
    let sources = [SIGTERM, SIGINT].map { number -> DispatchSourceSignal in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number)
        source.setEventHandler { continuation.yield() }
        source.resume()
        return source
    }
    var iterator = stream.makeAsyncIterator()
    _ = await iterator.next()
    sources.forEach { $0.cancel() }
}
