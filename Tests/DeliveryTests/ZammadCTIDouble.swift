import Foundation
import Synchronization

/// Zammad's generic CTI push API as its docs and `zammad_cti_payloads.json` show it:
/// `POST /api/v1/cti/{token}`, form fields `event` (newCall/answer/hangup), `from`, `to`,
/// `direction` (in/out), `callId`, `user[]`, `answeringNumber`, `cause`. A wrong token is 401;
/// an `answer` or `hangup` for a callId with no `newCall` is refused, as Zammad cannot log it.
final class ZammadCTIDouble: Sendable {
    struct State: Sendable {
        var token: String
        var started: Set<String> = []
        /// Accepted CTI requests in arrival order, each as its form fields in wire order.
        var accepted: [[(String, String)]] = []
        var refused: [String] = []
    }

    final class Core: Sendable {
        let state: Mutex<State>

        init(_ state: State) { self.state = Mutex(state) }
    }

    let core: Core
    let server: FakeCRMServer

    init(token: String) {
        let core = Core(State(token: token))
        self.core = core
        server = FakeCRMServer { request in Self.answer(request, core: core) }
    }

    func read<T: Sendable>(_ look: (State) -> T) -> T { core.state.withLock { look($0) } }

    var url: String { server.url }

    private static func answer(_ request: ReceivedRequest, core: Core) -> FakeAnswer {
        core.state.withLock { state in
            guard request.method == "POST", request.path == "/api/v1/cti/\(state.token)" else {
                state.refused.append("\(request.method) \(request.path)")
                return FakeAnswer(status: 401, body: "{\"error\":\"Not authorized\"}")
            }
            guard request.header("Content-Type")?.hasPrefix("application/x-www-form-urlencoded") == true else {
                state.refused.append("content type \(request.header("Content-Type") ?? "none")")
                return FakeAnswer(status: 422, body: "{\"error\":\"unsupported content type\"}")
            }
            let fields = form(request.body)
            let value = { (name: String) in fields.first { $0.0 == name }?.1 }
            guard let event = value("event"), let callId = value("callId"), ["in", "out"].contains(value("direction") ?? ""),
                  value("from") != nil, value("to") != nil else {
                state.refused.append("incomplete \(fields)")
                return FakeAnswer(status: 422, body: "{\"error\":\"event, from, to, direction and callId are required\"}")
            }
            switch event {
            case "newCall":
                state.started.insert(callId)
            case "answer", "hangup":
                guard state.started.contains(callId) else {
                    state.refused.append("\(event) without newCall for \(callId)")
                    return FakeAnswer(status: 422, body: "{\"error\":\"no call log entry for \(callId)\"}")
                }
                if event == "hangup", value("cause") == nil {
                    state.refused.append("hangup without cause")
                    return FakeAnswer(status: 422, body: "{\"error\":\"cause is required\"}")
                }
            default:
                state.refused.append("unknown event \(event)")
                return FakeAnswer(status: 422, body: "{\"error\":\"unknown event\"}")
            }
            state.accepted.append(fields)
            return FakeAnswer(status: 200, body: "{}")
        }
    }

    static func form(_ body: Data) -> [(String, String)] {
        String(decoding: body, as: UTF8.self).split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
    }

    /// The accepted requests of one call as `name=value` lines joined by `&`, in arrival order.
    func summary(callId: String) -> [String] {
        read { state in
            state.accepted.filter { fields in fields.contains { $0 == ("callId", callId) } }
                .map { fields in fields.map { "\($0.0)=\($0.1)" }.joined(separator: "&") }
        }
    }
}
