import Foundation
import TamasEvents
import TamasLink

/// The parts of an agent's configuration file that every agent kind shares; each source reads
/// its own section (`jsonl:`, `smdr:`, `cid:`, `ami:`, `telsa:`) from `document`.
public struct AgentConfig: Sendable {
    public struct Collector: Sendable {
        public var host: String
        public var port: Int
        public var agentId: String
        public var secret: String
        public var trust: LinkTLS.ServerTrust
        public var clientCertificateFile: String?
        public var clientKeyFile: String?

        public init(host: String, port: Int, agentId: String, secret: String, trust: LinkTLS.ServerTrust,
                    clientCertificateFile: String? = nil, clientKeyFile: String? = nil) {
            self.host = host
            self.port = port
            self.agentId = agentId
            self.secret = secret
            self.trust = trust
            self.clientCertificateFile = clientCertificateFile
            self.clientKeyFile = clientKeyFile
        }
    }

    public struct System: Sendable {
        public var key: String
        public var numberPlan: NumberPlan
    }

    public var file: String
    public var collector: Collector
    public var spool: SpoolSettings
    public var system: System
    public var logLevel: String
    public var document: ConfigSection

    public static func load(path: String) throws -> AgentConfig {
        let document = try ConfigSection.load(path: path)
        return try AgentConfig(document: document)
    }

    public init(document: ConfigSection) throws {
        self.document = document
        self.file = document.file
        try document.rejectUnknownKeys(["collector", "spool", "system", "log", "jsonl", "smdr", "cid", "ami", "telsa"])
        collector = try Self.readCollector(document.section("collector"))
        spool = try Self.readSpool(document.section("spool"))
        system = try Self.readSystem(document.section("system"))
        let log = try document.section("log")
        try log.rejectUnknownKeys(["level"])
        logLevel = try log.string("level", oneOf: ["trace", "debug", "info", "notice", "warning", "error"], default: "info")
    }

    static func readCollector(_ section: ConfigSection) throws -> Collector {
        try section.rejectUnknownKeys(["address", "agentId", "secret", "secretFile", "fingerprint", "caFile",
                                       "clientCertificate", "clientKey"])
        let address = try section.string("address")
        guard let hostPort = HostPort(address, defaultPort: LinkProtocol.defaultPort) else {
            throw section.error("address", "must be host or host:port, not '\(address)'")
        }
        let agentId = try section.string("agentId")
        let secret: String
        if let inline = try section.optionalString("secret") {
            if Secrets.isExposed(path: section.file) {
                throw section.error("secret", "this file holds a secret but others can read it: chmod 600 \(section.file)")
            }
            secret = inline
        } else if let secretFile = try section.optionalString("secretFile") {
            guard let text = try? String(contentsOfFile: secretFile, encoding: .utf8) else {
                throw section.error("secretFile", "cannot read \(secretFile)")
            }
            if Secrets.isExposed(path: secretFile) {
                throw section.error("secretFile", "\(secretFile) can be read by others: chmod 600 it")
            }
            secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            throw section.error("secret", "is required (or secretFile)")
        }
        let trust: LinkTLS.ServerTrust
        switch (try section.optionalString("fingerprint"), try section.optionalString("caFile")) {
        case (let pin?, nil):
            guard LinkTLS.normalizeFingerprint(pin).count == 64 else {
                throw section.error("fingerprint", "must be the collector certificate's SHA-256 (64 hex digits)")
            }
            trust = .pinned(fingerprint: pin)
        case (nil, let file?): trust = .certificateAuthority(file: file)
        case (nil, nil): trust = .system
        case (_?, _?): throw section.error("caFile", "give either fingerprint or caFile, not both")
        }
        let certificate = try section.optionalString("clientCertificate")
        let key = try section.optionalString("clientKey")
        if (certificate == nil) != (key == nil) {
            throw section.error(certificate == nil ? "clientCertificate" : "clientKey", "clientCertificate and clientKey go together")
        }
        return Collector(host: hostPort.host, port: hostPort.port, agentId: agentId, secret: secret, trust: trust,
                         clientCertificateFile: certificate, clientKeyFile: key)
    }

    static func readSpool(_ section: ConfigSection) throws -> SpoolSettings {
        try section.rejectUnknownKeys(["path", "capacity"])
        return SpoolSettings(
            path: try section.string("path", default: "/var/lib/tamas-agent/spool.sqlite"),
            capacity: try section.int("capacity", default: SpoolSettings.defaultCapacity, range: 100...100_000_000))
    }

    static func readSystem(_ section: ConfigSection) throws -> System {
        try section.rejectUnknownKeys(["key", "releaseCode", "countryCode", "cityCode", "nationalPrefix",
                                       "internationalPrefix", "maxExtensionLength"])
        let key = try section.string("key")
        guard SystemKey.isValid(key) else { throw section.error("key", SystemKey.rule) }
        let defaults = NumberPlan()
        func digits(_ name: String, _ fallback: String) throws -> String {
            let value = try section.string(name, default: fallback)
            if let problem = NumberPlan.codeProblem(value) { throw section.error(name, problem) }
            return value
        }
        let plan = NumberPlan(
            releaseCode: try digits("releaseCode", defaults.releaseCode), countryCode: try digits("countryCode", defaults.countryCode),
            cityCode: try digits("cityCode", defaults.cityCode), nationalPrefix: try digits("nationalPrefix", defaults.nationalPrefix),
            internationalPrefix: try digits("internationalPrefix", defaults.internationalPrefix),
            maxExtensionLength: try section.int("maxExtensionLength", default: defaults.maxExtensionLength,
                                                range: NumberPlan.maxExtensionLengths))
        return System(key: key, numberPlan: plan)
    }
}
