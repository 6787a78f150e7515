import ArgumentParser
import Foundation

struct CRM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm",
        abstract: "CRM endpoints: add, edit and remove them, watch delivery (state, backlog, parked), fix credentials, pause, replay.",
        discussion: """
            Every call event of a system an endpoint serves is queued for it durably and delivered in order per call \
            (docs/crm.md). Passwords, tokens and secrets are read from standard input only, never from arguments, \
            and the collector never shows them again.
            """,
        subcommands: [List.self, Add.self, Edit.self, Remove.self, SetPassword.self, Pause.self, Resume.self, Replay.self, Parked.self,
                      RetryParked.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List endpoints: state (ok, retrying, auth failed, paused), backlog, parked, oldest undelivered, last success, last error.")
        @OptionGroup var connection: Connection
        @Flag(help: "Print JSON instead of a table.") var json = false

        func run() async throws {
            let data = try await connection.client().get("/api/v1/crm")
            if json { return print(String(decoding: data, as: UTF8.self)) }
            let endpoints = try JSONDecoder().decode([EndpointRow].self, from: data)
            printTable(
                header: ["NAME", "KIND", "URL", "SYSTEMS", "STATE", "BACKLOG", "PARKED", "OLDEST", "LAST SUCCESS", "LAST ERROR"],
                rows: endpoints.map { endpoint in
                    [endpoint.name, endpoint.kind, endpoint.url, endpoint.systemKeys.joined(separator: ","), endpoint.state,
                     String(endpoint.backlog), String(endpoint.parked), endpoint.oldestUndeliveredSeconds.map { "\($0)s" } ?? "-",
                     endpoint.lastSuccessAt ?? "-", endpoint.authFailure ?? endpoint.lastError ?? "-"]
                })
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a CRM endpoint; the password (PayamGostar), CTI token (Zammad) or signing secret (webhook) is read from standard input.",
            discussion: """
                Example: printf '%s' "$PG_PASSWORD" | tamasctl crm add pg-tehran --kind payamgostar --url https://crm.example.com \
                --user admin --password-stdin --system office1 --system office2
                Here --url is the CRM's address; the collector's admin API is given with --collector (or TAMAS_URL).
                """)
        @OptionGroup var connection: CRMAdminConnection
        @Argument(help: "A name for the endpoint, e.g. pg-tehran.") var name: String
        @Option(help: "payamgostar, webhook or zammad.") var kind: String
        @Option(help: "The CRM's base address, http:// or https://, with a path prefix if it has one.") var url: String
        @Option(help: "PayamGostar only: the user name to sign in with (default admin).") var user: String?
        @Flag(help: "Read the password / token / secret from standard input (required).") var passwordStdin = false
        @Option(name: .customLong("system"), help: "A system key this endpoint serves (repeat for several).") var systems: [String] = []
        @OptionGroup var options: EndpointOptionFlags

        func validate() throws {
            guard passwordStdin else { throw ValidationError("give --password-stdin and pipe the secret in (it never goes on the command line)") }
            guard !systems.isEmpty else { throw ValidationError("give at least one --system KEY") }
            guard ["payamgostar", "webhook", "zammad"].contains(kind) else { throw ValidationError("--kind is payamgostar, webhook or zammad") }
        }

        func run() async throws {
            let body = AddBody(name: name, kind: kind, url: url, user: user, secret: try readSecretFromStandardInput(),
                               systemKeys: systems, options: try options.body())
            let data = try await connection.client().send("POST", "/api/v1/crm", body: try JSONEncoder().encode(body))
            print(String(decoding: data, as: UTF8.self))
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change an endpoint's address, user, systems or options; what is not given stays as it is.",
            discussion: """
                The endpoint's next delivery uses the change, without a restart, and waiting deliveries become due at once. \
                --system (repeat) replaces the systems the endpoint serves, and drops what is queued for a system left out \
                (the answer's droppedQueued says how many); --zammad-user and --number-plan each replace that \
                whole option; --reset-option returns an option to its default. A new --url or --user forgets the CRM session \
                and clears "auth failed". The secret is changed with set-password, the name and kind not at all (remove and add).
                Example: tamasctl crm edit pg-tehran --url https://crm2.example.com --system office1 --system office3
                """)
        @OptionGroup var connection: CRMAdminConnection
        @Argument(help: "The endpoint.") var name: String
        @Option(help: "The CRM's new base address, http:// or https://, with a path prefix if it has one.") var url: String?
        @Option(help: "PayamGostar: the user name to sign in with (empty: admin).") var user: String?
        @Option(name: .customLong("system"), help: "A system key the endpoint serves from now on (repeat; replaces the list).")
        var systems: [String] = []
        @OptionGroup var options: EndpointOptionFlags
        @Option(name: .customLong("reset-option"), help: "Return an option to its default, by its JSON name, e.g. numberPlan (repeat).")
        var resetOptions: [String] = []

        func validate() throws {
            let given = try options.body()
            guard url != nil || user != nil || !systems.isEmpty || given != OptionsBody() || !resetOptions.isEmpty else {
                throw ValidationError("nothing to change: give --url, --user, --system, an option or --reset-option")
            }
        }

        func run() async throws {
            let given = try options.body()
            let body = EditBody(url: url, user: user, systemKeys: systems.isEmpty ? nil : systems,
                                options: given == OptionsBody() && resetOptions.isEmpty ? nil : OptionsChange(values: given, reset: resetOptions))
            let data = try await connection.client().send("PATCH", "/api/v1/crm/\(pathSegment(name))", body: try JSONEncoder().encode(body))
            print(String(decoding: data, as: UTF8.self))
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an endpoint; refused while deliveries are queued or parked for it, unless --force drops them.",
            discussion: """
                Its delivery stops at once (a request already on the wire is the last). The answer says how many queued and \
                parked deliveries were dropped with it. To stop delivering without losing anything, pause it instead.
                """)
        @OptionGroup var connection: Connection
        @Argument(help: "The endpoint.") var name: String
        @Flag(help: "Remove it even with deliveries queued or parked; they are dropped.") var force = false

        func run() async throws {
            let path = "/api/v1/crm/\(pathSegment(name))" + (force ? "?force=true" : "")
            print(String(decoding: try await connection.client().send("DELETE", path, body: nil), as: UTF8.self))
        }
    }

    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Replace an endpoint's password / token / secret (read from standard input); waiting deliveries then go out by themselves.")
        @OptionGroup var connection: Connection
        @Argument(help: "The endpoint.") var name: String
        @Flag(help: "Read the new secret from standard input (required).") var passwordStdin = false

        func validate() throws {
            guard passwordStdin else { throw ValidationError("give --password-stdin and pipe the secret in") }
        }

        func run() async throws {
            let body = try JSONEncoder().encode(["secret": try readSecretFromStandardInput()])
            let data = try await connection.client().send("PUT", "/api/v1/crm/\(pathSegment(name))/password", body: body)
            print(String(decoding: data, as: UTF8.self))
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop delivering to an endpoint; events keep queueing for it.")
        @OptionGroup var connection: Connection
        @Argument(help: "The endpoint.") var name: String

        func run() async throws {
            print(String(decoding: try await connection.client().send("POST", "/api/v1/crm/\(pathSegment(name))/pause", body: nil), as: UTF8.self))
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deliver to a paused endpoint again, backlog first.")
        @OptionGroup var connection: Connection
        @Argument(help: "The endpoint.") var name: String

        func run() async throws {
            print(String(decoding: try await connection.client().send("POST", "/api/v1/crm/\(pathSegment(name))/resume", body: nil), as: UTF8.self))
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue every stored event since a time again for an endpoint.",
            discussion: """
                PayamGostar and Zammad remember per call what the CRM already has and send only what is missing; \
                a webhook receives every event again (same Idempotency-Key).
                """)
        @OptionGroup var connection: Connection
        @Argument(help: "The endpoint.") var name: String
        @Option(help: "ISO 8601 time, e.g. 2026-11-26T08:00:00+03:30.") var since: String

        func run() async throws {
            let query = since.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? since
            let data = try await connection.client().send("POST", "/api/v1/crm/\(pathSegment(name))/replay?since=\(query)", body: nil)
            print(String(decoding: data, as: UTF8.self))
        }
    }

    struct Parked: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the deliveries an endpoint refused, with the CRM's answer.")
        @OptionGroup var connection: Connection
        @Argument(help: "The endpoint.") var name: String
        @Flag(help: "Print JSON instead of a table.") var json = false

        func run() async throws {
            let data = try await connection.client().get("/api/v1/crm/\(pathSegment(name))/parked")
            if json { return print(String(decoding: data, as: UTF8.self)) }
            let rows = try JSONDecoder().decode([ParkedRow].self, from: data)
            printTable(header: ["ID", "SYSTEM", "CALL", "EVENT", "TYPE", "STATUS", "PARKED AT", "REASON", "ANSWER"],
                       rows: rows.map { [String($0.id), $0.systemKey, $0.callId ?? "-", $0.eventId, $0.eventType, String($0.status),
                                         $0.parkedAt, $0.reason, $0.excerpt.replacingOccurrences(of: "\n", with: " ")] })
        }
    }

    struct RetryParked: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retry-parked", abstract: "Put a parked delivery back in the queue (after fixing what the CRM refused).")
        @OptionGroup var connection: Connection
        @Argument(help: "The endpoint.") var name: String
        @Argument(help: "The parked delivery's ID (from 'tamasctl crm parked').") var id: Int64

        func run() async throws {
            let data = try await connection.client().send("POST", "/api/v1/crm/\(pathSegment(name))/parked/\(id)/retry", body: nil)
            print(String(decoding: data, as: UTF8.self))
        }
    }
}

/// The secret as piped in, without the newline `echo` or a here-string adds.
func readSecretFromStandardInput() throws -> String {
    var text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
    guard !text.isEmpty else { throw ValidationError("nothing on standard input: pipe the password / token / secret in") }
    return text
}

func pathSegment(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? text
}

enum AdminToken {
    static func read(dataDir: String, tokenFile: String?) throws -> String {
        if let token = ProcessInfo.processInfo.environment["TAMAS_ADMIN_TOKEN"], !token.isEmpty { return token }
        let path = tokenFile ?? dataDir + "/admin.token"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read the admin token at \(path): run as a user who can read it, or pass --data-dir / --token-file")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// How `crm add` and `crm edit` reach the collector: their --url is the CRM's address.
struct CRMAdminConnection: ParsableArguments {
    @Option(help: "The collector's admin API.")
    var collector = ProcessInfo.processInfo.environment["TAMAS_URL"] ?? "http://127.0.0.1:8080"
    @Option(help: "The collector's data folder; the admin token is read from its admin.token.")
    var dataDir = ProcessInfo.processInfo.environment["TAMAS_DATA_DIR"] ?? "/var/lib/tamas"
    @Option(help: "A file holding the admin token (instead of <data-dir>/admin.token).")
    var tokenFile: String?

    func client() throws -> AdminClient {
        AdminClient(baseURL: collector, token: try AdminToken.read(dataDir: dataDir, tokenFile: tokenFile))
    }
}

/// The endpoint options of `crm add` and `crm edit` (docs/crm.md); those not given are not sent.
struct EndpointOptionFlags: ParsableArguments {
    @Option(help: "PayamGostar/Zammad number format: national, e164 or e164Digits.") var numberFormat: String?
    @Option(name: .customLong("number-plan"), help: """
        PayamGostar/Zammad: the system's number plan as KEY=VALUE (repeat), keys as in the agent's system section: \
        countryCode, nationalPrefix, internationalPrefix, maxExtensionLength, cityCode, releaseCode; keys left out take the defaults.
        """)
    var numberPlan: [String] = []
    @Flag(inversion: .prefixedNo, help: "PayamGostar: create extensions and trunks seen in calls as peers.") var registerPeers: Bool?
    @Option(name: .customLong("zammad-user"), help: "Zammad: EXTENSION=User Name for user[] (repeat).") var zammadUsers: [String] = []
    @Flag(inversion: .prefixedNo, help: "Zammad: also send internal calls.") var includeInternalCalls: Bool?
    @Option(help: "Webhook: path appended to --url (default /).") var path: String?
    @Option(help: "Seconds each request may take (default 15).") var timeout: Int?
    @Option(help: "Longest wait in seconds between attempts while the CRM fails (default 60).") var maxBackoff: Int?
    @Option(help: "Calls delivered at once, 1 to 16; each call's events stay in order (default: 4 for webhook, 1 otherwise).")
    var parallelCalls: Int?

    func validate() throws {
        if let numberFormat, !["national", "e164", "e164Digits"].contains(numberFormat) {
            throw ValidationError("--number-format is national, e164 or e164Digits")
        }
        if let bad = zammadUsers.first(where: { !$0.contains("=") }) { throw ValidationError("--zammad-user '\(bad)' is not EXTENSION=Name") }
        _ = try NumberPlanBody(numberPlan)
    }

    func body() throws -> OptionsBody {
        var userNames: [String: String] = [:]
        for pair in zammadUsers {
            let parts = pair.split(separator: "=", maxSplits: 1)
            userNames[String(parts.first ?? "")] = parts.count > 1 ? String(parts[1]) : ""
        }
        return OptionsBody(numberFormat: numberFormat, numberPlan: numberPlan.isEmpty ? nil : try NumberPlanBody(numberPlan),
                           registerPeers: registerPeers, userNames: userNames.isEmpty ? nil : userNames,
                           includeInternalCalls: includeInternalCalls, path: path, timeoutSeconds: timeout, maxBackoffSeconds: maxBackoff,
                           parallelCalls: parallelCalls)
    }
}

/// `--number-plan KEY=VALUE`s as the collector reads a number plan; it checks the values.
struct NumberPlanBody: Encodable, Equatable {
    var releaseCode: String?
    var countryCode: String?
    var cityCode: String?
    var nationalPrefix: String?
    var internationalPrefix: String?
    var maxExtensionLength: Int?

    init(_ pairs: [String]) throws {
        for pair in pairs {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--number-plan '\(pair)' is not KEY=VALUE") }
            let value = parts[1]
            switch parts[0] {
            case "releaseCode": releaseCode = value
            case "countryCode": countryCode = value
            case "cityCode": cityCode = value
            case "nationalPrefix": nationalPrefix = value
            case "internationalPrefix": internationalPrefix = value
            case "maxExtensionLength":
                guard let length = Int(value) else { throw ValidationError("--number-plan maxExtensionLength is a number, not '\(value)'") }
                maxExtensionLength = length
            default:
                throw ValidationError("--number-plan key '\(parts[0])' is none of countryCode, nationalPrefix, internationalPrefix, "
                                      + "maxExtensionLength, cityCode, releaseCode")
            }
        }
    }
}

struct OptionsBody: Encodable, Equatable {
    var numberFormat: String?
    var numberPlan: NumberPlanBody?
    var registerPeers: Bool?
    var userNames: [String: String]?
    var includeInternalCalls: Bool?
    var path: String?
    var timeoutSeconds: Int?
    var maxBackoffSeconds: Int?
    var parallelCalls: Int?
}

struct AddBody: Encodable {
    var name: String
    var kind: String
    var url: String
    var user: String?
    var secret: String
    var systemKeys: [String]
    var options: OptionsBody
}

/// An edit's options: those given, and `null` for each one returned to its default.
struct OptionsChange: Encodable {
    var values: OptionsBody
    var reset: [String]

    func encode(to encoder: any Encoder) throws {
        try values.encode(to: encoder)
        var container = encoder.container(keyedBy: OptionName.self)
        for name in reset { try container.encodeNil(forKey: OptionName(stringValue: name)) }
    }

    struct OptionName: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

struct EditBody: Encodable {
    var url: String?
    var user: String?
    var systemKeys: [String]?
    var options: OptionsChange?
}

struct EndpointRow: Decodable {
    var name: String
    var kind: String
    var url: String
    var systemKeys: [String]
    var state: String
    var backlog: Int
    var parked: Int
    var oldestUndeliveredSeconds: Int?
    var lastSuccessAt: String?
    var lastError: String?
    var authFailure: String?
}

struct ParkedRow: Decodable {
    var id: Int64
    var systemKey: String
    var callId: String?
    var eventId: String
    var eventType: String
    var status: Int
    var reason: String
    var excerpt: String
    var parkedAt: String
}
