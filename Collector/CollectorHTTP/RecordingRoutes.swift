import CollectorCore
import Foundation
import Hummingbird
import NIOCore
import TamasLink

/// Recordings are never copied to the collector in advance: a request makes the agent that
/// announced the recording stream it up the link (`fetch-recording`), and the bytes go straight
/// to the HTTP client, with range requests so a browser can play and seek.
struct RecordingRoutes: Sendable {
    let store: CollectorStore
    let registry: AgentRegistry
    let links: RecordingLinks

    func add(admin api: RouterGroup<BasicRequestContext>, public router: Router<BasicRequestContext>) {
        api.get("recordings") { request, _ -> Response in
            let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 100, 1), 10_000)
            let unmatched = request.uri.queryParameters.get("unmatched") == "true"
            return try json(try await store.recordings(limit: limit, unmatchedOnly: unmatched))
        }
        api.get("recordings/:ref") { request, context -> Response in
            try await serve(ref: try Self.ref(context), range: request.headers[.range])
        }
        api.post("recordings/:ref/link") { request, context -> Response in
            let ref = try Self.ref(context)
            let seconds = min(max(request.uri.queryParameters.get("validSeconds", as: Int.self) ?? 86_400, 60), 30 * 86_400)
            let link = links.path(ref: ref, validFor: seconds, now: Date())
            return try json(["path": link])
        }
        router.get("recordings/:ref") { request, context -> Response in
            let ref = try Self.ref(context)
            guard let expires = request.uri.queryParameters.get("expires", as: Int.self),
                  let signature = request.uri.queryParameters.get("signature"),
                  links.verify(ref: ref, expires: expires, signature: signature, now: Date()) else {
                throw HTTPError(.forbidden, message: "this recording link is invalid or has expired")
            }
            return try await serve(ref: ref, range: request.headers[.range])
        }
    }

    /// Refs name files in folders (`size-mtime/Archive/3/x.wav`), so clients send them with
    /// their slashes percent-encoded as one path segment.
    static func ref(_ context: BasicRequestContext) throws -> String {
        let raw = try context.parameters.require("ref")
        return raw.removingPercentEncoding ?? raw
    }

    struct FileFacts: Decodable {
        var size: Int
        var contentType: String?
        var fileName: String?
    }

    func serve(ref: String, range: String?) async throws -> Response {
        guard let source = try await store.recordingSource(ref: ref) else {
            throw HTTPError(.notFound, message: "no recording with this ref was announced")
        }
        guard let agent = await registry.connectedAgent(id: source.agentId) else {
            throw HTTPError(.serviceUnavailable, message: "the agent that holds this recording is not connected")
        }
        let stat = try await ask(agent, ref: ref, offset: 0, length: 0)
        guard stat.ok, let facts = stat.output.flatMap({ try? JSONDecoder().decode(FileFacts.self, from: Data($0.utf8)) }) else {
            throw HTTPError(.notFound, message: stat.error ?? "the agent could not describe this recording")
        }
        var headers: HTTPFields = [.contentType: facts.contentType ?? "application/octet-stream", .acceptRanges: "bytes"]
        if let fileName = facts.fileName { headers[.contentDisposition] = "inline; filename=\"\(fileName.filter { $0 != "\"" })\"" }
        let window: ByteRange
        let status: HTTPResponse.Status
        // RFC 9110 §14.2: a Range in a unit other than bytes must be ignored, not refused.
        if let range, range.hasPrefix("bytes=") {
            guard let parsed = ByteRange(header: range, size: facts.size) else {
                // No body, so no Content-Type: the file's type would describe bytes that are not sent.
                return Response(status: .rangeNotSatisfiable, headers: [.contentRange: "bytes */\(facts.size)", .acceptRanges: "bytes"])
            }
            window = parsed
            status = .partialContent
            headers[.contentRange] = "bytes \(window.offset)-\(window.offset + window.length - 1)/\(facts.size)"
        } else {
            window = ByteRange(offset: 0, length: facts.size)
            status = .ok
        }
        guard window.length > 0 else { return Response(status: status, headers: headers, body: .init()) }
        let command = Command(id: UUID().uuidString, name: "fetch-recording",
                              arguments: ["ref": ref, "offset": String(window.offset), "length": String(window.length)])
        let chunks = await registry.download(command, on: agent, timeoutSeconds: 600)
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: window.length) { writer in
            for try await chunk in chunks { try await writer.write(chunk) }
            try await writer.finish(nil)
        })
    }

    private func ask(_ agent: AgentRegistry.Live, ref: String, offset: Int, length: Int) async throws -> CommandResult {
        let command = Command(id: UUID().uuidString, name: "fetch-recording",
                              arguments: ["ref": ref, "offset": String(offset), "length": String(length)])
        do {
            return try await registry.execute(command, on: agent, timeoutSeconds: 30)
        } catch let error as AgentRegistry.CommandError {
            throw HTTPError(.gatewayTimeout, message: error.description)
        }
    }
}

/// An RFC 9110 single byte range, resolved against the file size.
struct ByteRange: Equatable {
    var offset: Int
    var length: Int

    init(offset: Int, length: Int) {
        self.offset = offset
        self.length = length
    }

    init?(header: String, size: Int) {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst("bytes=".count).split(separator: "-", omittingEmptySubsequences: false)
        guard spec.count == 2 else { return nil }
        let first = spec[0].trimmingCharacters(in: .whitespaces), last = spec[1].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            guard let suffix = Int(last), suffix > 0, size > 0 else { return nil }
            self.init(offset: max(0, size - suffix), length: min(suffix, size))
            return
        }
        guard let start = Int(first), start >= 0, start < size else { return nil }
        let end = last.isEmpty ? size - 1 : min(Int(last) ?? -1, size - 1)
        guard end >= start else { return nil }
        self.init(offset: start, length: end - start + 1)
    }
}
