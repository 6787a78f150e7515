import AsyncHTTPClient
import ConnectorKit
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Sends a connector's plans to one endpoint with AsyncHTTPClient: the path is appended to the
/// base URL (keeping its prefix), redirects are not followed (the connector decides about 3xx),
/// the plan's timeout bounds the whole exchange, and failures become `HTTPOutcome`s. Only
/// `plan.description` is logged: never the path, headers or a secret body.
struct HTTPTransport: RequestSending {
    let client: HTTPClient
    let baseURL: String
    let logger: Logger
    /// Bodies longer than this are cut: the connectors read small JSON answers and keep 300-character excerpts.
    static let bodyLimit = 1 << 20

    func send(_ plan: HTTPRequestPlan) async -> HTTPOutcome {
        var request = HTTPClientRequest(url: baseURL + plan.path)
        request.method = NIOHTTP1.HTTPMethod(rawValue: plan.method.rawValue)
        for header in plan.headers { request.headers.add(name: header.name, value: header.value) }
        if !plan.body.isEmpty { request.body = .bytes(ByteBuffer(bytes: plan.body)) }
        logger.debug("CRM request", metadata: ["request": "\(plan.description)"])
        do {
            let response = try await client.execute(request, timeout: .seconds(Int64(plan.timeoutSeconds)))
            var body = Data()
            for try await chunk in response.body where body.count < Self.bodyLimit {
                body.append(contentsOf: chunk.readableBytesView.prefix(Self.bodyLimit - body.count))
            }
            let headers = response.headers.map { ConnectorKit.HTTPHeader($0.name, $0.value) }
            return .response(HTTPResponse(status: Int(response.status.code), headers: headers, body: body))
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .writeTimeout].contains(error) {
            return .timedOut
        } catch {
            return .transportFailed(reason: "\(plan.method.rawValue) \(plan.pathForLogs): \(Self.describe(error))")
        }
    }

    /// AsyncHTTPClient and NIO errors name addresses and causes, never request paths or headers.
    static func describe(_ error: any Error) -> String {
        String(describing: error).prefix(200).description
    }

    static func makeClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
