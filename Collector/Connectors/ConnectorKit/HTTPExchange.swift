import Foundation

public enum HTTPMethod: String, Codable, Hashable, Sendable {
    case get = "GET", post = "POST", put = "PUT", delete = "DELETE"
}

public struct HTTPHeader: Codable, Hashable, Sendable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// One request a connector wants sent. The HTTP client resolves `path` against the endpoint's
/// base URL (keeping any path prefix the base URL has) and sends exactly these headers and bytes.
public struct HTTPRequestPlan: Hashable, Sendable, CustomStringConvertible {
    public var method: HTTPMethod
    /// Relative to the endpoint base URL, starting with `/`; may contain a secret (Zammad's token).
    public var path: String
    public var headers: [HTTPHeader]
    public var body: Data
    public var timeoutSeconds: Int
    /// What may be logged instead of `path`.
    public var pathForLogs: String
    /// A password form or other body that must never be logged.
    public var bodyIsSecret: Bool

    public init(method: HTTPMethod, path: String, headers: [HTTPHeader], body: Data = Data(), timeoutSeconds: Int,
                pathForLogs: String? = nil, bodyIsSecret: Bool = false) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.timeoutSeconds = timeoutSeconds
        self.pathForLogs = pathForLogs ?? path
        self.bodyIsSecret = bodyIsSecret
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    static let secretHeaders: Set<String> = ["authorization", "proxy-authorization", "cookie"]

    /// Safe for logs: no bearer token, no password body, no token in the path.
    public var description: String {
        let shownHeaders = headers.map { header in
            Self.secretHeaders.contains(header.name.lowercased()) ? "\(header.name): <redacted>" : "\(header.name): \(header.value)"
        }
        let shownBody = bodyIsSecret ? "<\(body.count) bytes redacted>" : BodyExcerpt.make(body)
        return "\(method.rawValue) \(pathForLogs) [\(shownHeaders.joined(separator: "; "))] \(shownBody)"
    }
}

public struct HTTPResponse: Hashable, Sendable {
    public var status: Int
    public var headers: [HTTPHeader]
    public var body: Data

    public init(status: Int, headers: [HTTPHeader] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// What came back for a sent plan: a response, or no response at all.
public enum HTTPOutcome: Hashable, Sendable {
    case response(HTTPResponse)
    /// The request timed out after it may have reached the server.
    case timedOut
    /// Connection refused, DNS, TLS, reset. The reason must not contain secrets (the client
    /// should describe the failure by `pathForLogs`, never by `path`).
    case transportFailed(reason: String)
}
