import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// The admin API as `tamasctl` uses it; errors carry the collector's own message.
struct AdminClient {
    let baseURL: String
    let token: String

    func get(_ path: String) async throws -> Data {
        try await send("GET", path, body: nil)
    }

    func send(_ method: String, _ path: String, body: Data?) async throws -> Data {
        let (status, data) = try await exchange(method, path, body: body)
        guard (200..<300).contains(status) else { throw Self.failure(status, data) }
        return data
    }

    /// The status and body as they came, for routes whose refusals carry an answer of their own.
    func exchange(_ method: String, _ path: String, body: Data?) async throws -> (status: UInt, data: Data) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .init(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(90))
        } catch {
            throw AdminError(message: "cannot reach the collector at \(baseURL): \(error)")
        }
        let bytes = try await response.body.collect(upTo: 256 << 20)
        return (response.status.code, Data(bytes.readableBytesView))
    }

    static func failure(_ status: UInt, _ data: Data) -> AdminError {
        let detail = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])
            .flatMap { ($0["error"] as? [String: Any])?["message"] as? String } ?? String(decoding: data, as: UTF8.self)
        return AdminError(message: "collector answered \(status): \(detail)")
    }
}

struct AdminError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
