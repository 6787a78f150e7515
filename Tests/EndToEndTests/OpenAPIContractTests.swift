import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import XCTest

/// docs/openapi.yaml is checked against a real collector: the document must be valid OpenAPI,
/// and schemathesis (deploy/install-deps.sh --test installs it) sends generated requests to
/// every route and fails on an undocumented status code, a response body that does not match
/// its schema, a wrong Content-Type or header, a 5xx, or a route that ignores its token.
///
/// The collector has two real agents: a Telsa agent serving `office1` (it announces a
/// recording and streams its bytes, and answers call control with "not supported") and a
/// jsonl agent replaying docs/events.md's examples on `docs-examples`, so lists are not empty.
final class OpenAPIContractTests: XCTestCase {
    static let document = Fixtures.repositoryRoot.appendingPathComponent("docs/openapi.yaml")

    /// What every run checks. Not used: `negative_data_rejection` (the collector clamps
    /// out-of-range query numbers and reads unknown ones as the default, as documented, rather
    /// than refusing them) and `positive_data_acceptance` (a schema-valid body is still refused
    /// for a name already taken or a system nobody serves).
    static let checks = [
        "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance",
        "response_headers_conformance", "missing_required_header", "ignored_auth", "unsupported_method",
    ].joined(separator: ",")

    var folder: URL!
    var collector: CollectorUnderTest!
    var agents: [ChildProcess] = []
    var adminToken = ""

    override func setUpWithError() throws {
        folder = try temporaryFolder("openapi")
        collector = try CollectorUnderTest(name: "openapi")
        adminToken = try String(contentsOf: collector.dataDir.appendingPathComponent("admin.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    override func tearDownWithError() throws {
        agents.forEach { $0.kill9() }
        collector = nil
        try? FileManager.default.removeItem(at: folder)
    }

    func testTheDocumentIsValidOpenAPI() throws {
        let result = try python(["-m", "openapi_spec_validator", Self.document.path])
        XCTAssertEqual(result.status, 0, result.output + result.error)
    }

    func testTheCollectorAnswersAsDocumented() async throws {
        let recordingRef = try startAgents()
        // schemathesis puts a path value from its config into the URL as given, so it is encoded here.
        let refSegment = Self.pathSegment(recordingRef)
        // Every action, so the call-control routes are exercised past the token's scope check.
        let apiToken = try collector.tamasctl(["tokens", "add", "crm-contract", "--allow", "originate", "--allow", "spy",
                                               "--allow", "whisper", "--allow", "barge"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let signedLink = try await signedLinkQuery(ref: recordingRef)
        let started = Date()

        // Every operation but revokeAgent, with the admin token. The two recording routes get a
        // recording that exists (a random ref is only ever 404, a random signature only 403),
        // so the generated Range headers reach the agent's bytes; the events long poll gets
        // wait=0, because each generated wait would hold a request for up to 60 s.
        // The CRM routes that add, edit and remove endpoints run too: their endpoints point at
        // generated or example addresses, but serve generated system keys or the examples'
        // `branch2` and `branch3`, never this test's two, so they have nothing to deliver and no
        // request leaves the machine (checked below).
        let config = """
            [[operations]]
            include-operation-id = "listEvents"
            parameters = { "query.wait" = 0 }

            [[operations]]
            include-operation-id = "fetchRecording"
            parameters = { "path.ref" = "\(refSegment)" }

            [[operations]]
            include-operation-id = "playSignedRecording"
            parameters = { "path.ref" = "\(refSegment)", "query.expires" = \(signedLink.expires), "query.signature" = "\(signedLink.signature)" }

            """
        try assertSchemathesisPasses(token: adminToken, config: config, selection: ["--exclude-operation-id", "revokeAgent"])

        // The call-control routes once more with a CRM's API token, the other kind of token they take.
        try assertSchemathesisPasses(token: apiToken, selection: ["--include-tag", "call control"])

        // Last and alone: it revokes the documented example agent, office-pc, and names it learns
        // from other answers, so run with the others it would cut off the agent they need.
        try assertSchemathesisPasses(token: adminToken, selection: ["--include-operation-id", "revokeAgent"])

        XCTAssertTrue(collector.process?.isRunning == true, "the collector died:\n\(collector.log.suffix(4000))")
        let (_, _, crmList) = try await request("GET", "/api/v1/crm")
        for endpoint in try XCTUnwrap(try JSONSerialization.jsonObject(with: crmList) as? [[String: Any]]) {
            XCTAssertEqual(endpoint["backlog"] as? Int, 0, "a generated CRM endpoint got deliveries: \(endpoint)")
            XCTAssertNil(endpoint["lastSuccessAt"] ?? endpoint["lastErrorAt"], "a generated CRM endpoint was contacted: \(endpoint)")
        }
        print("schemathesis runs took \(Int(Date().timeIntervalSince(started))) s")
    }

    /// The harness itself: a document that disagrees with the server by one field fails the run,
    /// so a passing run means the checks were made.
    func testABrokenDocumentFails() throws {
        var text = try String(contentsOf: Self.document, encoding: .utf8)
        let statusField = "        agentsConnected: {type: integer, minimum: 0}\n"
        XCTAssertTrue(text.contains(statusField), "the Status schema changed; update this test")
        text = text.replacingOccurrences(of: statusField, with: "        agentsConnected: {type: string}\n")
        let broken = folder.appendingPathComponent("broken-openapi.yaml")
        try text.write(to: broken, atomically: true, encoding: .utf8)

        let result = try schemathesis(document: broken, token: adminToken, selection: ["--include-operation-id", "status"])
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("Response violates schema"), result.output.suffix(3000).description)
    }

    // MARK: Server bugs found while writing the contract

    func testOddNumbersFromClientsNeitherCrashNorHang() async throws {
        _ = try startAgents()
        let (events, _, _) = try await request("GET", "/api/v1/events?after=999999&wait=nan")
        XCTAssertEqual(events, 200, "wait=nan used to trap in Duration.seconds and kill the collector")
        for timeout in ["0", "-5", "1e300"] {
            let (status, _, body) = try await request("POST", "/api/v1/agents/office-pc/commands",
                                                      body: "{\"name\": \"ping\", \"timeoutSeconds\": \(timeout)}")
            XCTAssertEqual(status, 200, "timeoutSeconds \(timeout): \(String(decoding: body, as: UTF8.self))")
        }
        let (health, _, _) = try await request("GET", "/healthz")
        XCTAssertEqual(health, 200)
    }

    /// Hummingbird answered a method a path does not take with 404, as if the resource were
    /// missing, and a taken name was a 400 for agents and tokens but a 409 for CRM endpoints.
    func testAWrongMethodIs405NamingTheRightOnesAndATakenNameIsAConflict() async throws {
        let (put, putHeaders, putBody) = try await request("PUT", "/api/v1/agents", body: "{}")
        XCTAssertEqual(put, 405)
        XCTAssertEqual(putHeaders["allow"], "GET, HEAD, POST")
        XCTAssertEqual(try Self.errorMessage(putBody), "PUT is not served at /api/v1/agents; it takes GET, HEAD, POST")
        let (patch, patchHeaders, _) = try await request("PATCH", "/api/v1/tokens/nobody")
        XCTAssertEqual(patch, 405)
        XCTAssertEqual(patchHeaders["allow"], "GET, HEAD, DELETE")
        let (post, postHeaders, _) = try await request("POST", "/healthz")
        XCTAssertEqual(post, 405, "routes outside /api/v1 too")
        XCTAssertEqual(postHeaders["allow"], "GET, HEAD")
        let (head, _, headBody) = try await request("HEAD", "/healthz")
        XCTAssertEqual(head, 200, "HEAD is GET without the body, for uptime monitors")
        XCTAssertTrue(headBody.isEmpty)

        let (missing, _, _) = try await request("GET", "/api/v1/no-such-thing")
        XCTAssertEqual(missing, 404, "a path nothing serves stays 404")
        let (unknownAgent, _, _) = try await request("DELETE", "/api/v1/agents/nobody")
        XCTAssertEqual(unknownAgent, 404, "a route's own 404 is untouched")

        var unauthenticated = URLRequest(url: try XCTUnwrap(URL(string: collector.url + "/api/v1/agents")))
        unauthenticated.httpMethod = "POST"
        unauthenticated.setValue("application/json", forHTTPHeaderField: "Content-Type")
        unauthenticated.httpBody = Data(#"{"name": "sneaky", "systemKeys": ["office1"]}"#.utf8)
        let (_, refused) = try await URLSession.shared.data(for: unauthenticated)
        XCTAssertEqual((refused as? HTTPURLResponse)?.statusCode, 401, "the token check still runs for a routed method")

        let enroll = #"{"name": "twice", "systemKeys": ["office1"]}"#
        let (first, _, _) = try await request("POST", "/api/v1/agents", body: enroll)
        XCTAssertEqual(first, 201)
        let (again, _, againBody) = try await request("POST", "/api/v1/agents", body: enroll)
        XCTAssertEqual(again, 409)
        XCTAssertEqual(try Self.errorMessage(againBody), "an agent named 'twice' already exists")
        let (badName, _, _) = try await request("POST", "/api/v1/agents", body: #"{"name": "bad name", "systemKeys": ["office1"]}"#)
        XCTAssertEqual(badName, 400)

        let token = #"{"name": "crm-twice"}"#
        let (firstToken, _, _) = try await request("POST", "/api/v1/tokens", body: token)
        XCTAssertEqual(firstToken, 201)
        let (tokenAgain, _, tokenAgainBody) = try await request("POST", "/api/v1/tokens", body: token)
        XCTAssertEqual(tokenAgain, 409)
        XCTAssertEqual(try Self.errorMessage(tokenAgainBody), "a token named 'crm-twice' already exists")
    }

    func testRangesOutsideTheFileOrInAnotherUnit() async throws {
        let path = "/api/v1/recordings/\(Self.pathSegment(try startAgents()))"
        let (status, headers, body) = try await request("GET", path, range: "bytes=99999999-")
        XCTAssertEqual(status, 416)
        XCTAssertEqual(headers["content-range"], "bytes */\(Self.recordingSize)")
        XCTAssertNil(headers["content-type"], "an empty 416 used to carry the recording's audio/wav")
        XCTAssertTrue(body.isEmpty)

        let (foreign, _, whole) = try await request("GET", path, range: "items=0-5")
        XCTAssertEqual(foreign, 200, "a unit other than bytes is ignored (RFC 9110), it used to answer 416")
        XCTAssertEqual(whole.count, Self.recordingSize)
    }

    // MARK: Helpers

    static let recordingSize = 40_000 + trailer.count

    /// The end of a recording as Telsa writes it: call facts after the audio.
    static let trailer = Data("""
        2025/12/09 11:34:30|Info|FileName:e9c9be2f-5932-4226-8ac7-5c5ab5de09e9|ServerName:TELSAPC|Card:0x40000047a69dc00|Channel:1
        2025/12/09 11:34:30|Number|Number:09123456789
        2025/12/09 11:34:30|CallWindow|Status:Start|Call_Type:Voice_Call|Color:Gray
        11
        Telsa64

        """.utf8)

    /// Starts both agents and returns the ref of the recording the Telsa agent announced.
    func startAgents() throws -> String {
        let telsaRoot = folder.appendingPathComponent("telsa")
        let recording = telsaRoot.appendingPathComponent("Archive/Line1/call.wav")
        try FileManager.default.createDirectory(at: recording.deletingLastPathComponent(), withIntermediateDirectories: true)
        var audio = Data("RIFF".utf8)
        audio.append(contentsOf: (4..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 31) | 0x80 })
        try (audio + Self.trailer).write(to: recording)
        // Modified a minute after the trailer's start (11:34:30 in Tehran), as a real recording would be.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_765_267_530)], ofItemAtPath: recording.path)
        let telsaConfig = try collector.enrollAgent("office-pc", systems: ["office1"], folder: folder, extra: """
            telsa:
              mode: full
              root: \(telsaRoot.path)
              watch: polling
              pollIntervalSeconds: 0.5

            """)
        agents.append(try ChildProcess("tamas-agent", ["telsa", "run", "--config", telsaConfig.path], name: "telsa agent"))

        let feed = folder.appendingPathComponent("events.jsonl")
        let examples = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("docs/events.md"), encoding: .utf8)
            .split(separator: "\n").filter { $0.hasPrefix("{\"type\"") }.joined(separator: "\n") + "\n"
        try examples.write(to: feed, atomically: true, encoding: .utf8)
        let feedConfig = try collector.enrollAgent("docs-feed", systems: ["docs-examples"], folder: folder,
                                                   extra: "jsonl:\n  input: \(feed.path)\n  follow: true\n")
        agents.append(try ChildProcess("tamas-agent", ["jsonl", "--config", feedConfig.path], name: "jsonl agent"))

        var ref: String?
        XCTAssertTrue(try eventually(timeout: 30) {
            let events = try collector.events()
            ref = events.first { $0["type"] as? String == "recording.available" }?["ref"] as? String
            let fed = events.contains { $0["systemKey"] as? String == "docs-examples" && $0["type"] as? String == "call.ended" }
            return try ref != nil && fed && collector.agents().allSatisfy { $0["connected"] as? Bool == true }
        }, agents.map(\.log).joined(separator: "\n"))
        return try XCTUnwrap(ref)
    }

    func signedLinkQuery(ref: String) async throws -> (expires: Int, signature: String) {
        let (status, _, body) = try await request("POST", "/api/v1/recordings/\(Self.pathSegment(ref))/link?validSeconds=3600")
        XCTAssertEqual(status, 200)
        let path = try XCTUnwrap((try JSONSerialization.jsonObject(with: body) as? [String: String])?["path"])
        let query = Dictionary(uniqueKeysWithValues: (URLComponents(string: path)?.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        return (try XCTUnwrap(query["expires"].flatMap(Int.init)), try XCTUnwrap(query["signature"]))
    }

    func assertSchemathesisPasses(token: String, config: String = "", selection: [String],
                                  file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try schemathesis(document: Self.document, token: token, config: config, selection: selection)
        XCTAssertEqual(result.status, 0, "schemathesis \(selection.joined(separator: " ")):\n\(result.output)\(result.error)",
                       file: file, line: line)
    }

    /// One schemathesis run, bounded for two shared cores: a fixed seed so a failure reproduces,
    /// at most 20 generated cases per operation and phase, and no stateful phase (its chains
    /// would revoke the agents and tokens the other operations use).
    func schemathesis(document: URL, token: String, config: String = "", selection: [String]) throws -> ToolResult {
        let configFile = folder.appendingPathComponent("schemathesis-\(UUID().uuidString.prefix(8)).toml")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        return try python(["-m", "schemathesis.cli", "--config-file", configFile.path, "run", document.path,
                           "--url", collector.url, "--header", "Authorization: Bearer \(token)",
                           "--checks", Self.checks, "--phases", "examples,coverage,fuzzing",
                           "--max-examples", "20", "--seed", "20261127", "--workers", "2",
                           "--request-timeout", "20", "--generation-database", "none", "--no-color"] + selection,
                          timeout: 240)
    }

    /// python3 from PATH, run in the test's folder so schemathesis's caches land there.
    func python(_ arguments: [String], timeout: Double = 60) throws -> ToolResult {
        let probe = try runToolAllowingFailure("/usr/bin/env", ["python3", "-c", "import schemathesis, openapi_spec_validator"])
        guard probe.status == 0 else {
            XCTFail("schemathesis or openapi-spec-validator is missing; run deploy/install-deps.sh --test\n\(probe.error)")
            return probe
        }
        return try runToolAllowingFailure("/usr/bin/env", ["-C", folder.path, "python3"] + arguments, timeout: timeout)
    }

    func request(_ method: String, _ path: String, body: String? = nil, range: String? = nil) async throws -> (Int, [String: String], Data) {
        var request = URLRequest(url: try XCTUnwrap(URL(string: collector.url + path)))
        request.httpMethod = method
        request.setValue("Bearer \(adminToken)", forHTTPHeaderField: "Authorization")
        if let range { request.setValue(range, forHTTPHeaderField: "Range") }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body.utf8)
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try XCTUnwrap(response as? HTTPURLResponse)
        let headers = Dictionary(uniqueKeysWithValues: http.allHeaderFields.compactMap { key, value in
            (key as? String).map { ($0.lowercased(), "\(value)") }
        })
        return (http.statusCode, headers, data)
    }

    /// The message of docs/api.md's error body, `{"error": {"message": "..."}}`.
    static func errorMessage(_ body: Data) throws -> String? {
        let object = try JSONSerialization.jsonObject(with: body) as? [String: Any]
        return (object?["error"] as? [String: Any])?["message"] as? String
    }

    /// A ref as one path segment: its slashes percent-encoded (docs/api.md).
    static func pathSegment(_ ref: String) -> String {
        ref.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?&="))) ?? ref
    }
}
