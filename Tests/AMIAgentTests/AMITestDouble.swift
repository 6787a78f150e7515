import AMIProtocol
import Foundation
import NIOCore
import NIOPosix
import TamasEvents
import TestSupport

/// An Asterisk Manager Interface on 127.0.0.1 for tests, speaking the wire protocol of
/// FACTS.md section 1 byte for byte: banner, plain and MD5 login (and the refusal after a
/// one-second pause, then a close), Ping, EventList answers, Command in the old `Follows`
/// form or the 14+ `Output:` form, async Originate with its outcome event, and events sent
/// in small fragments and in bursts. Each dialect answers as that version's manager.c does;
/// the call events themselves are the test's script, written in that version's shapes.
final class AMITestDouble: @unchecked Sendable {
    enum Dialect: CaseIterable {
        /// Banner `1.0`. `Response: Pong`; lists without `EventList:` headers (Status ends in a
        /// bare `StatusComplete`, SIPpeers in `PeerlistComplete` + `ListItems`); async Originate
        /// ends in `OriginateSuccess`/`OriginateFailure`; no CoreShowChannels, no FullyBooted.
        case asterisk14
        /// Banner `1.1`. 1.6's manager changes: Ping `Success` + `Ping: Pong`, `EventList:
        /// start`/`Complete`, CoreShowChannels, OriginateResponse. Command still `Follows`.
        case asterisk18
        /// Banner `1.3`, `Response: Follows ... --END COMMAND--`.
        case asterisk11
        /// Banner `5.0.5` (Asterisk 16), `Output:` lines, ExtensionStateList, PJSIPShowEndpoints,
        /// FullyBooted pushed at login.
        case asterisk16

        var banner: String { "Asterisk Call Manager/\(amiVersion)\r\n" }

        /// `AMI_VERSION` of the release (FACTS.md section 1; 1.4 hard-codes `1.0`).
        var amiVersion: String {
            switch self {
            case .asterisk14: "1.0"
            case .asterisk18: "1.1"
            case .asterisk11: "1.3"
            case .asterisk16: "5.0.5"
            }
        }

        /// What `core show version` prints, a release FACTS.md names.
        var versionLine: String {
            switch self {
            case .asterisk14: "Asterisk 1.4.44 built by root @ pbx on a i686 running Linux on 2012-04-20 10:05:11 UTC"
            case .asterisk18: "Asterisk 1.8.32.3 built by root @ pbx on a x86_64 running Linux on 2015-04-09 12:01:44 UTC"
            case .asterisk11: "Asterisk 11.25.3 built by root @ pbx on a x86_64 running Linux on 2017-09-20 14:12:03 UTC"
            case .asterisk16: "Asterisk 16.30.1 built by root @ pbx on a x86_64 running Linux"
            }
        }

        /// Command answers with `Response: Follows` up to 13; 14 moved to `Output:` lines.
        var commandFollows: Bool { self != .asterisk16 }

        /// Lists (CoreShowChannels, SIPpeers, ...) carry `EventList: start`/`Complete` from 1.6 on.
        var listsHaveEventList: Bool { self != .asterisk14 }

        /// The actions this version's manager registers (FACTS.md section 3, "Since tags"), with
        /// their synopsis and write classes (docs/asterisk.md, "manager.conf user"; listed in
        /// manager.c's class order). Others get `Invalid/unknown command`, so an agent asking a
        /// list too new for the version fails the test.
        func registration(_ action: String) -> (name: String, synopsis: String, classes: [String])? {
            registrations.first { $0.name.lowercased() == action.lowercased() }
        }

        var registrations: [(name: String, synopsis: String, classes: [String])] {
            if self == .asterisk14 {
                return [
                    ("Ping", "Keepalive command", []), ("ListCommands", "List available manager commands", []),
                    ("Logoff", "Logoff Manager", []), ("Status", "Lists channel status", ["call"]),
                    ("Command", "Execute Asterisk CLI Command", ["command"]), ("Originate", "Originate Call", ["call"]),
                    ("SIPpeers", "List SIP peers (text format)", ["system"]),
                ]
            }
            var actions: [(name: String, synopsis: String, classes: [String])] = [
                ("Ping", "Keepalive command.", []), ("ListCommands", "List available manager commands.", []),
                ("Logoff", "Logoff Manager.", []), ("Login", "Login Manager.", []), ("Challenge", "Generate Challenge for MD5 Auth.", []),
                ("Status", "List channel status.", ["system", "call", "reporting"]),
                ("Command", "Execute Asterisk CLI Command.", ["command"]), ("Originate", "Originate a call.", ["originate"]),
                ("CoreShowChannels", "List currently active channels.", ["system", "reporting"]),
                ("SIPpeers", "List SIP peers (text format).", ["system", "reporting"]),
            ]
            if self == .asterisk16 {
                actions += [("ExtensionStateList", "List the current known extension states.", ["call", "reporting"]),
                            ("PJSIPShowEndpoints", "Lists PJSIP endpoints.", ["system"])]
            }
            return actions
        }

        /// 1.4 wants every class of the action; from 1.6 one is enough (manager.c process_message).
        func allows(_ classes: [String], writeClasses: Set<String>?) -> Bool {
            guard let writeClasses else { return true }
            if self == .asterisk14 { return classes.allSatisfy(writeClasses.contains) }
            return classes.isEmpty || classes.contains(where: writeClasses.contains)
        }

        /// process_message's answer to an action no module registered.
        func unknownAction(_ name: String) -> String {
            self == .asterisk14 ? "Invalid/unknown command" : "Invalid/unknown command: \(name). Use Action: ListCommands to show available commands."
        }
    }

    struct Action: Sendable {
        var name: String
        var headers: [(String, String)]
        var connection: Int

        subscript(_ key: String) -> String? { headers.first { $0.0.lowercased() == key.lowercased() }?.1 }
    }

    let dialect: Dialect
    let username: String
    let secret: String
    let challenge = "145769581"
    /// Messages (wire text, each ending in a blank line) sent once the first resync has been answered.
    var script: [String] = []
    /// The AMI user's `write =` classes in manager.conf; nil is `write = all`. An action none of
    /// whose classes is granted (1.4: not all of them) gets `Response: Error / Message: Permission denied`.
    var writeClasses: Set<String>?
    /// Actions whose module is not loaded (`SIPpeers` on 21 and later, where chan_sip is gone):
    /// unknown to this server, so they get `Invalid/unknown command` and are not in ListCommands.
    var unloadedActions: Set<String> = []
    /// False for a port where something else listens and never greets.
    var sendsBanner = true
    /// OriginateResponse `Reason` per rung channel (`SIP/202`); 4 (answered) when not listed.
    var originateReasons: [String: Int] = [:]
    var commandOutput: [String: [String]]

    private let lock = NSLock()
    private var actionLog: [Action] = []
    private var connections: [Int: Channel] = [:]
    private var connectionCounter = 0
    private var scriptSent = false
    private var server: Channel?
    private(set) var port = 0

    init(dialect: Dialect, username: String = "tamas", secret: String = "s3cret-ami") {
        self.dialect = dialect
        self.username = username
        self.secret = secret
        commandOutput = [
            "core show channels": ["Channel              Location             State   Application(Data)", "0 active channels", "0 active calls", "2 calls processed"],
            "core show version": [dialect.versionLine],
        ]
    }

    var actions: [Action] { lock.withLock { actionLog } }
    var connectionCount: Int { lock.withLock { connectionCounter } }

    /// Serves on NIO's event loops only, so a test may block its own thread while the double answers.
    func start() throws {
        let server = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Connection(double: self))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        self.server = server
        port = server.localAddress?.port ?? 0
    }

    func stop() {
        try? server?.close().wait()
        dropConnections()
    }

    /// Closes every client socket, as an Asterisk restart or a network cut would.
    func dropConnections() {
        for channel in lock.withLock({ Array(connections.values) }) { channel.close(promise: nil) }
    }

    private final class Connection: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let double: AMITestDouble
        var number = 0
        var pending = ""
        var loggedIn = false
        var resyncOutstanding = 0

        init(double: AMITestDouble) {
            self.double = double
        }

        func channelActive(context: ChannelHandlerContext) {
            number = double.register(context.channel)
            if double.sendsBanner { send(double.dialect.banner, on: context.channel) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            double.unregister(number)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            pending += String(buffer: unwrapInboundIn(data))
            while let end = pending.range(of: "\r\n\r\n") {
                let action = AMITestDouble.parse(String(pending[..<end.lowerBound]), connection: number)
                pending = String(pending[end.upperBound...])
                double.record(action)
                let reply = double.answer(action, loggedIn: &loggedIn, resyncOutstanding: &resyncOutstanding)
                if reply.pauseFirst {
                    let channel = context.channel
                    context.eventLoop.scheduleTask(in: .seconds(1)) {
                        channel.writeAndFlush(ByteBuffer(string: reply.chunks.joined())).whenComplete { _ in channel.close(promise: nil) }
                    }
                    return
                }
                for chunk in reply.chunks { send(chunk, on: context.channel) }
                if let later = reply.later {
                    let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
                    let channel = context.channel
                    context.eventLoop.scheduleTask(in: .milliseconds(300)) { handler.value.send(later, on: channel) }
                }
                if loggedIn, resyncOutstanding == 0, double.takeScript() {
                    sendScript(double.scriptWrites(), on: context.channel)
                }
            }
        }

        /// Asterisk writes whole messages: an answer due while the script is being sent waits for it.
        private var scriptInFlight = false
        private var held: [String] = []

        private func send(_ text: String, on channel: Channel) {
            if scriptInFlight {
                held.append(text)
            } else {
                channel.writeAndFlush(ByteBuffer(string: text), promise: nil)
            }
        }

        /// Each group is written fragment by fragment, the next group a few milliseconds later.
        private func sendScript(_ groups: [[ByteBuffer]], on channel: Channel) {
            guard let first = groups.first else {
                scriptInFlight = false
                for text in held { channel.writeAndFlush(ByteBuffer(string: text), promise: nil) }
                held = []
                return
            }
            scriptInFlight = true
            for buffer in first { channel.writeAndFlush(buffer, promise: nil) }
            let handler = NIOLoopBound(self, eventLoop: channel.eventLoop)
            let rest = Array(groups.dropFirst())
            channel.eventLoop.scheduleTask(in: .milliseconds(2)) { handler.value.sendScript(rest, on: channel) }
        }
    }

    fileprivate func register(_ channel: Channel) -> Int {
        lock.withLock {
            connectionCounter += 1
            connections[connectionCounter] = channel
            return connectionCounter
        }
    }

    fileprivate func unregister(_ number: Int) {
        _ = lock.withLock { connections.removeValue(forKey: number) }
    }

    fileprivate func record(_ action: Action) {
        lock.withLock { actionLog.append(action) }
    }

    fileprivate func takeScript() -> Bool {
        lock.withLock {
            defer { scriptSent = true }
            return !scriptSent
        }
    }

    static func parse(_ text: String, connection: Int) -> Action {
        var headers: [(String, String)] = []
        for line in text.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let name = headers.first { $0.0.lowercased() == "action" }?.1 ?? ""
        return Action(name: name, headers: headers, connection: connection)
    }

    struct Reply {
        var chunks: [String] = []
        var close = false
        var pauseFirst = false
        /// Sent a moment later (OriginateResponse after the phone "answered").
        var later: String?
    }

    fileprivate func answer(_ action: Action, loggedIn: inout Bool, resyncOutstanding: inout Int) -> Reply {
        let id = action["ActionID"].map { "ActionID: \($0)\r\n" } ?? ""
        func message(_ lines: String) -> Reply { Reply(chunks: [lines + "\r\n"]) }
        switch action.name.lowercased() {
        case "challenge":
            return message("Response: Success\r\n\(id)Challenge: \(challenge)\r\n")
        case "login":
            let accepted: Bool
            if action["AuthType"]?.lowercased() == "md5" {
                accepted = action["Username"] == username && action["Key"] == AMIActions.md5Key(challenge: challenge, secret: secret)
            } else {
                accepted = action["Username"] == username && action["Secret"] == secret
            }
            guard accepted else {
                // manager.c sleeps a second before answering a failed login, then hangs up.
                return Reply(chunks: ["Response: Error\r\n\(id)Message: Authentication failed\r\n\r\n"], close: true, pauseFirst: true)
            }
            loggedIn = true
            var reply = message("Response: Success\r\n\(id)Message: Authentication accepted\r\n")
            if dialect == .asterisk16 { reply.chunks.append("Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n") }
            resyncOutstanding = 1
            return reply
        default:
            break
        }
        guard loggedIn else { return message("Response: Error\r\n\(id)Message: \(dialect == .asterisk14 ? "Authentication Required" : "Permission denied")\r\n") }
        let name = action.name.lowercased()
        if name == "coreshowchannels" || name == "status" { resyncOutstanding = max(0, resyncOutstanding - 1) }
        guard let registration = dialect.registration(action.name), !unloadedActions.contains(registration.name) else {
            return message("Response: Error\r\n\(id)Message: \(dialect.unknownAction(action.name))\r\n")
        }
        guard dialect.allows(registration.classes, writeClasses: writeClasses) else {
            return message("Response: Error\r\n\(id)Message: Permission denied\r\n")
        }
        switch name {
        case "ping":
            if dialect == .asterisk14 { return message("Response: Pong\r\n\(id)") }
            return message("Response: Success\r\n\(id)Ping: Pong\r\nTimestamp: \(Int(Date().timeIntervalSince1970)).000000\r\n")
        case "coreshowchannels", "status", "extensionstatelist", "sippeers", "pjsipshowendpoints":
            return eventList(action, id: id)
        case "listcommands":
            let permitted = dialect.registrations.filter { !unloadedActions.contains($0.name) && dialect.allows($0.classes, writeClasses: writeClasses) }
            let lines = permitted.map { "\($0.name): \($0.synopsis) (Priv: \($0.classes.isEmpty ? "<none>" : ($0.classes + ["all"]).joined(separator: ",")))\r\n" }
            return message("Response: Success\r\n\(id)" + lines.joined())
        case "command":
            let command = action["Command"] ?? ""
            let lines = commandOutput[command] ?? ["No such command '\(command)' (type 'core show help \(command)' for other possible commands)"]
            if dialect.commandFollows {
                return message("Response: Follows\r\nPrivilege: Command\r\n\(id)" + lines.map { $0 + "\n" }.joined() + "--END COMMAND--\r\n")
            }
            return message("Response: Success\r\n\(id)Message: Command output follows\r\n" + lines.map { "Output: \($0)\r\n" }.joined())
        case "originate":
            let channel = action["Channel"] ?? ""
            let reason = originateReasons[channel] ?? 4
            let target = action["Application"].map { "Application: \($0)\r\nData: \(action["Data"] ?? "")\r\n" }
                ?? "Context: \(action["Context"] ?? "")\r\nExten: \(action["Exten"] ?? "")\r\n"
            var reply = message("Response: Success\r\n\(id)Message: Originate successfully queued\r\n")
            if dialect == .asterisk14 {
                // 1.4's fast_originate: the outcome is the event's name, Channel is the dialed TECH/data.
                reply.later = "Event: \(reason == 4 ? "OriginateSuccess" : "OriginateFailure")\r\nPrivilege: call,all\r\n\(id)"
                    + "Channel: \(channel)\r\n\(target)Reason: \(reason)\r\nUniqueid: \(reason == 4 ? "1764150000.66" : "<null>")\r\n"
                    + "CallerID: <unknown>\r\nCallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\n\r\n"
                return reply
            }
            reply.later = "Event: OriginateResponse\r\nPrivilege: call,all\r\n\(id)Response: \(reason == 4 ? "Success" : "Failure")\r\n"
                + "Channel: \(channel)-00000042\r\n\(target)Reason: \(reason)\r\nUniqueid: 1764150000.66\r\n"
                + "CallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\n\r\n"
            return reply
        default:
            return message("Response: Error\r\n\(id)Message: \(dialect.unknownAction(action.name))\r\n")
        }
    }

    /// The acknowledgement, the entries, then the `...Complete` event. From 1.6 the two ends
    /// carry `EventList: start`/`Complete`; 1.4 sends bare ones (its manager.c and chan_sip).
    private func eventList(_ action: Action, id: String) -> Reply {
        var entries: [String] = []
        switch action.name {
        case "SIPpeers":
            entries = ["201", "202", "voipgrid-siproute-docker"].map {
                "Event: PeerEntry\r\n\(id)Channeltype: SIP\r\nObjectName: \($0)\r\nChanObjectType: peer\r\nIPaddress: 10.0.0.9\r\nIPport: 5060\r\nDynamic: yes\r\nStatus: OK (5 ms)\r\n\r\n"
            }
        case "PJSIPShowEndpoints":
            entries = ["301", "302"].map {
                "Event: EndpointList\r\n\(id)ObjectType: endpoint\r\nObjectName: \($0)\r\nTransport: transport-udp\r\nAors: \($0)\r\nDeviceState: Not in use\r\nActiveChannels: \r\n\r\n"
            }
        default:
            break
        }
        let complete = action.name == "SIPpeers" ? "PeerlistComplete" : action.name == "PJSIPShowEndpoints" ? "EndpointListComplete" : "\(action.name)Complete"
        guard dialect.listsHaveEventList else {
            let acknowledgement = action.name == "Status" ? "Channel status will follow" : "Peer status list will follow"
            let end = action.name == "Status" ? "Event: StatusComplete\r\n\(id)\r\n" : "Event: \(complete)\r\nListItems: \(entries.count)\r\n\(id)\r\n"
            return Reply(chunks: ["Response: Success\r\n\(id)Message: \(acknowledgement)\r\n\r\n"] + entries + [end])
        }
        return Reply(chunks: ["Response: Success\r\n\(id)EventList: start\r\nMessage: list will follow\r\n\r\n"] + entries
            + ["Event: \(complete)\r\n\(id)EventList: Complete\r\nListItems: \(entries.count)\r\n\r\n"])
    }

    /// A transcript of `Tests/AMITests/Golden/streams` (LF line ends, the pure tests' input) as
    /// the wire messages Asterisk would send, CRLF-terminated.
    static func wireMessages(fromTranscript name: String) throws -> [String] {
        let text = try String(contentsOf: Fixtures.testFile("AMITests/Golden/streams/\(name).ami"), encoding: .utf8)
        return text.components(separatedBy: "\n\n").filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
            .map { $0.split(separator: "\n").map { $0 + "\r\n" }.joined() + "\r\n" }
    }

    /// The script as a real server delivers it: the first half in fragments of 1 to 97 bytes
    /// (lines and messages cut anywhere, each its own write, in groups a few milliseconds
    /// apart), the rest in bursts of 16 KiB holding many messages.
    fileprivate func scriptWrites() -> [[ByteBuffer]] {
        let bytes = Array(script.joined().utf8)
        var random = SplitMix64(seed: 7)
        var groups: [[ByteBuffer]] = [[]]
        var index = 0
        while index < bytes.count {
            let size = index < bytes.count / 2 ? 1 + Int(random.next() % 97) : 16 * 1024
            let end = min(bytes.count, index + size)
            groups[groups.count - 1].append(ByteBuffer(bytes: bytes[index..<end]))
            if random.next() % 8 == 0 { groups.append([]) }
            index = end
        }
        return groups
    }

    /// A cacofonisk capture (a JSON list of event objects) as wire text: `Event` first, then the
    /// other keys in sorted order, as `AMIReplay` reads the same file.
    static func wireMessages(fromJSONCapture data: Data) throws -> [String] {
        let text = String(decoding: data, as: UTF8.self)
        let body = text.split(separator: "\n", omittingEmptySubsequences: false).drop { $0.hasPrefix("#") }.joined(separator: "\n")
        guard let list = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]] else { return [] }
        return list.map { object in
            var lines = "Event: \(object["Event"].map { "\($0)" } ?? "")\r\n"
            for key in object.keys.sorted() where key != "Event" && key != "content" {
                let value = object[key].map { ($0 as? NSNumber)?.stringValue ?? "\($0)" } ?? ""
                lines += "\(key): \(value)\r\n"
            }
            return lines + "\r\n"
        }
    }
}
