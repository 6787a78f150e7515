import Foundation
import Synchronization

/// PayamGostar's telephony REST v1 as FACTS.md §1 describes it: form-encoded sign-in at
/// /api/v1/auth (OAuth2 password grant), bearer tokens that expire (401 afterwards), call and
/// channel create/update, MergeCall, peers (GET 404 when unknown, POST creates). It records every request
/// and can misbehave: answer 500 at random, hang, refuse a given call, or change its password.
final class PayamGostarDouble: Sendable {
    struct State: Sendable {
        var userName = "admin"
        var password: String
        var tokenLifetimeSeconds = 3600
        var tokens: [String: Date] = [:]
        var issued = 0
        var nextCallId: Int64 = 1000
        var nextChannelId: Int64 = 5000
        /// SourceId → how many times CallCreate created it.
        var creates: [String: Int] = [:]
        /// CallId → SourceId.
        var sources: [Int64: String] = [:]
        /// CallChannelId → SourceId.
        var channelSources: [Int64: String] = [:]
        var peers: Set<String> = []
        var failureRate = 0.0
        var hangSeconds = 0.0
        /// Every successful answer waits this long (a slow CRM, to kill the collector mid-delivery).
        var answerDelaySeconds = 0.0
        var refusedSourceIds: Set<String> = []
        /// MergeCall requests: (SourceCallId, DestinationCallId).
        var merges: [(Int64, Int64)] = []
        /// Requests answered with success, in arrival order.
        var accepted: [ReceivedRequest] = []
        var all: [ReceivedRequest] = []
    }

    final class Core: Sendable {
        let state: Mutex<State>

        init(_ state: State) { self.state = Mutex(state) }
    }

    let core: Core
    let server: FakeCRMServer

    init(password: String) {
        let core = Core(State(password: password))
        self.core = core
        server = FakeCRMServer { request in Self.answer(request, core: core) }
    }

    var url: String { server.url }

    func update(_ change: (inout State) -> Void) { core.state.withLock { change(&$0) } }
    func read<T: Sendable>(_ look: (State) -> T) -> T { core.state.withLock { look($0) } }

    private static func answer(_ request: ReceivedRequest, core: Core) -> FakeAnswer {
        core.state.withLock { state in
            state.all.append(request)
            if state.hangSeconds > 0 { return FakeAnswer(status: 503, body: "{}", delaySeconds: state.hangSeconds) }
            if state.failureRate > 0, Double.random(in: 0..<1) < state.failureRate {
                return FakeAnswer(status: 500, body: "{\"Message\":\"An error has occurred.\"}")
            }
            var answer = route(request, state: &state)
            if (200..<300).contains(answer.status) { state.accepted.append(request) }
            answer.delaySeconds = state.answerDelaySeconds
            return answer
        }
    }

    private static func route(_ request: ReceivedRequest, state: inout State) -> FakeAnswer {
        let path = request.path.split(separator: "?").first.map(String.init) ?? request.path
        if request.method == "POST", path == "/api/v1/auth" { return signIn(request, state: &state) }
        guard let authorization = request.header("Authorization"), authorization.hasPrefix("Bearer "),
              let expiry = state.tokens[String(authorization.dropFirst(7))], expiry > Date() else {
            return FakeAnswer(status: 401, body: "{\"Message\":\"Authorization has been denied for this request.\"}")
        }
        guard request.header("Content-Type")?.hasPrefix("application/json") == true || request.method == "GET" else {
            return FakeAnswer(status: 415, body: "{}")
        }
        let body = request.json
        switch (request.method, path) {
        case ("POST", "/api/v1/telephony/call"):
            guard let source = body["SourceId"] as? String, body["TsKey"] is String, body["CallTypeIndex"] is Int,
                  body["InitChannelPeerName"] is String else { return FakeAnswer(status: 400, body: "{\"Message\":\"The request is invalid.\"}") }
            if state.refusedSourceIds.contains(source) {
                return FakeAnswer(status: 400, body: "{\"Message\":\"TsKey is not a registered telephone system\"}")
            }
            state.creates[source, default: 0] += 1
            state.nextCallId += 1
            state.nextChannelId += 1
            state.sources[state.nextCallId] = source
            state.channelSources[state.nextChannelId] = source
            return FakeAnswer(status: 200, body: "{\"CallId\":\(state.nextCallId),\"InitChannelId\":\(state.nextChannelId),\"IdentityId\":null,\"IdentityNickName\":null}")
        case ("PUT", "/api/v1/telephony/call"):
            guard let callId = (body["CallId"] as? NSNumber)?.int64Value, state.sources[callId] != nil else {
                return FakeAnswer(status: 400, body: "{\"Message\":\"call not found\"}")
            }
            return FakeAnswer(status: 200, body: "{\"IdentityId\":null,\"IdentityNickName\":null}")
        case ("PUT", "/api/v1/telephony/call/merge"):
            // CallMergeModel (FACTS §1.4): two of PayamGostar's own call ids on one telephone system.
            guard body["TsKey"] is String, let source = (body["SourceCallId"] as? NSNumber)?.int64Value,
                  let destination = (body["DestinationCallId"] as? NSNumber)?.int64Value,
                  state.sources[source] != nil, state.sources[destination] != nil, source != destination else {
                return FakeAnswer(status: 400, body: "{\"Message\":\"calls to merge not found\"}")
            }
            state.merges.append((source, destination))
            return FakeAnswer(status: 200, body: "")
        case ("POST", "/api/v1/telephony/channel"):
            guard let callId = (body["CallId"] as? NSNumber)?.int64Value, let source = state.sources[callId] else {
                return FakeAnswer(status: 400, body: "{\"Message\":\"call not found\"}")
            }
            state.nextChannelId += 1
            state.channelSources[state.nextChannelId] = source
            return FakeAnswer(status: 200, body: "{\"CallChannelId\":\(state.nextChannelId)}")
        case ("PUT", "/api/v1/telephony/channel"):
            guard let channel = (body["CallChannelId"] as? NSNumber)?.int64Value, state.channelSources[channel] != nil else {
                return FakeAnswer(status: 400, body: "{\"Message\":\"channel not found\"}")
            }
            return FakeAnswer(status: 200, body: "")
        default:
            let parts = path.split(separator: "/").map(String.init)
            if parts.count == 6, parts[0...2] == ["api", "v1", "telephony"], parts[4] == "peer", request.method == "GET" {
                let key = parts[3] + "/" + parts[5]
                return state.peers.contains(key) ? FakeAnswer(status: 200, body: "{\"Name\":\"\(parts[5])\"}") : FakeAnswer(status: 404, body: "")
            }
            if parts.count == 5, parts[0...2] == ["api", "v1", "telephony"], parts[4] == "peer", request.method == "POST",
               let name = body["Name"] as? String {
                state.peers.insert(parts[3] + "/" + name)
                return FakeAnswer(status: 200, body: "{\"Name\":\"\(name)\"}")
            }
            return FakeAnswer(status: 404, body: "{\"Message\":\"No HTTP resource was found\"}")
        }
    }

    private static func signIn(_ request: ReceivedRequest, state: inout State) -> FakeAnswer {
        guard request.header("Content-Type")?.hasPrefix("application/x-www-form-urlencoded") == true else {
            return FakeAnswer(status: 400, body: "{\"error\":\"unsupported_grant_type\"}")
        }
        var form: [String: String] = [:]
        for pair in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            form[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        guard form["grant_type"] == "password", form["username"] == state.userName, form["password"] == state.password else {
            return FakeAnswer(status: 400, body: "{\"error\":\"invalid_grant\",\"error_description\":\"Username or password is not valid.\"}")
        }
        state.issued += 1
        let token = "token-\(state.issued)-\(UUID().uuidString.prefix(8))"
        state.tokens[token] = Date().addingTimeInterval(Double(state.tokenLifetimeSeconds))
        return FakeAnswer(status: 200, body: "{\"access_token\":\"\(token)\",\"token_type\":\"bearer\",\"expires_in\":\(state.tokenLifetimeSeconds)}")
    }

    /// Accepted telephony requests (not sign-ins) as `METHOD path key=value…` lines, for exact comparisons.
    func acceptedSummary(source: String? = nil, collapsingRepeatedUpdates: Bool = false) -> [String] {
        read { state in
            let requests = state.accepted.enumerated().filter { index, request in
                guard collapsingRepeatedUpdates, request.method == "PUT", index > 0 else { return true }
                let previous = state.accepted[..<index].last { Self.source(of: $0.json, state: state) == Self.source(of: request.json, state: state) }
                return previous?.body != request.body || previous?.path != request.path
            }.map(\.element)
            return requests.compactMap { request -> String? in
                let body = request.json
                let path = request.path
                if path == "/api/v1/auth" { return source == nil ? "POST /api/v1/auth" : nil }
                if let source, Self.source(of: body, state: state) != source { return nil }
                let keys = ["SourceId", "CallTypeIndex", "InitChannelPeerName", "InitChannelPeerTypeIndex", "ChannelPeerName",
                            "ChannelSourceId", "ChannelStatusIndex", "ChannelResponseIndex", "IsLive", "PhoneNumber", "Name"]
                let fields = keys.compactMap { key in body[key].map { "\(key)=\(key == "IsLive" ? String(($0 as? Bool) ?? false) : "\($0)")" } }
                return ([request.method, path] + fields).joined(separator: " ")
            }
        }
    }

    /// Calls PayamGostar created more than once.
    var doubled: [String: Int] { read { $0.creates.filter { $0.value > 1 } } }

    /// What a complete delivery of `Calls.inboundAnswered` / `Calls.missed` looks like (docs/crm.md).
    static func expected(_ callId: String, answered: Bool) -> [String] {
        let phone = answered ? "09121234567" : "09351112233"
        let head = [
            "POST /api/v1/telephony/call SourceId=\(callId) CallTypeIndex=1 InitChannelPeerName=1 InitChannelPeerTypeIndex=2 IsLive=true PhoneNumber=\(phone)",
            "POST /api/v1/telephony/channel ChannelPeerName=201 ChannelSourceId=\(callId)/ext/201 ChannelStatusIndex=2 IsLive=true",
        ]
        if answered {
            return head + [
                "PUT /api/v1/telephony/channel ChannelStatusIndex=3 ChannelResponseIndex=2 IsLive=true",
                "PUT /api/v1/telephony/channel ChannelStatusIndex=3 ChannelResponseIndex=2 IsLive=true",
                "PUT /api/v1/telephony/channel ChannelStatusIndex=4 ChannelResponseIndex=2 IsLive=false",
                "PUT /api/v1/telephony/channel ChannelStatusIndex=4 ChannelResponseIndex=2 IsLive=false",
                "PUT /api/v1/telephony/call CallTypeIndex=2 IsLive=false PhoneNumber=\(phone)",
            ]
        }
        return head + [
            "PUT /api/v1/telephony/channel ChannelStatusIndex=4 ChannelResponseIndex=1 IsLive=false",
            "PUT /api/v1/telephony/channel ChannelStatusIndex=4 ChannelResponseIndex=1 IsLive=false",
            "PUT /api/v1/telephony/call CallTypeIndex=1 IsLive=false PhoneNumber=\(phone)",
        ]
    }

    /// Calls whose requests differ from a complete, in-order delivery made once.
    /// `repeatedUpdates`: a PUT the CRM applied just before the collector was killed, before it
    /// could record that, is sent again: the same values, so PayamGostar's state is unchanged.
    func wrongCalls(_ callIds: [String], allowingRepeatedUpdates repeatedUpdates: Bool = false) -> [String: [String]] {
        var wrong: [String: [String]] = [:]
        for (index, id) in callIds.enumerated() {
            let got = acceptedSummary(source: id, collapsingRepeatedUpdates: repeatedUpdates)
            if got != Self.expected(id, answered: index % 2 == 0) { wrong[id] = got }
        }
        return wrong
    }

    static func source(of body: [String: Any], state: State) -> String? {
        if let source = body["SourceId"] as? String { return source }
        if let callId = (body["CallId"] as? NSNumber)?.int64Value { return state.sources[callId] }
        if let channel = (body["CallChannelId"] as? NSNumber)?.int64Value { return state.channelSources[channel] }
        return nil
    }
}
