import TamasEvents

/// A deterministic, realistic Asterisk 13+ event stream for `tamas-agent ami bench`: a mix of
/// answered and missed inbound calls through a ring group, outbound calls (answered and busy)
/// and internal calls, a few in progress at once, wrapped in the chatter real servers send
/// (VarSet, Newexten, RTCP reports) that the tracker ignores.
public struct AMIStreamGenerator: Sendable {
    public let calls: Int
    public let seed: UInt64
    public let concurrentCalls: Int

    public init(calls: Int, seed: UInt64 = 1, concurrentCalls: Int = 4) {
        self.calls = max(0, calls)
        self.seed = seed
        self.concurrentCalls = max(1, concurrentCalls)
    }

    public struct Stream: Sendable {
        public var bytes: [UInt8]
        /// AMI messages in `bytes`, counting the banner as none.
        public var messageCount: Int
        /// Calls that end inside the stream.
        public var callCount: Int
    }

    public func generate() -> Stream {
        var random = SplitMix64(seed: seed)
        var text = "Asterisk Call Manager/2.10.6\r\n"
        var messageCount = 0
        var sequence = 1000
        var start = 0
        while start < calls {
            let batch = (start..<min(calls, start + concurrentCalls)).map { script(index: $0, sequence: &sequence, random: &random) }
            var cursors = Array(repeating: 0, count: batch.count)
            var remaining = batch.reduce(0) { $0 + $1.count }
            while remaining > 0 {
                for index in batch.indices where cursors[index] < batch[index].count {
                    let run = min(batch[index].count - cursors[index], 1 + Int(random.next() % 3))
                    for message in batch[index][cursors[index]..<(cursors[index] + run)] { text += message }
                    cursors[index] += run
                    remaining -= run
                    messageCount += run
                }
            }
            start += concurrentCalls
        }
        return Stream(bytes: Array(text.utf8), messageCount: messageCount, callCount: calls)
    }

    private enum Kind: CaseIterable { case inboundAnswered, inboundMissed, outboundAnswered, outboundBusy, internalCall }

    private func script(index: Int, sequence: inout Int, random: inout SplitMix64) -> [String] {
        let kind = Kind.allCases[Int(random.next() % UInt64(Kind.allCases.count))]
        let epoch = 1_700_000_000 + index * 7
        func uniqueid() -> String {
            sequence += 1
            return "\(epoch).\(sequence)"
        }
        let linkedid = uniqueid()
        let agentNumber = 210 + Int(random.next() % 80)
        let agent = String(agentNumber)
        let customer = "0912\(1_000_000 + Int(random.next() % 8_999_999))"
        var builder = ScriptBuilder(linkedid: linkedid, random: random)
        switch kind {
        case .inboundAnswered, .inboundMissed:
            let trunk = builder.channel("SIP/trunk-\(hex(sequence))", uniqueid: linkedid, caller: customer, context: "from-trunk", exten: "88776655")
            builder.newChannel(trunk, state: 4)
            builder.chatter(trunk, count: 12)
            let members = (0..<3).map { offset in
                builder.channel("SIP/\(agentNumber + offset)-\(hex(sequence + offset))", uniqueid: uniqueid(), caller: customer,
                                context: "from-internal", exten: "s")
            }
            for member in members {
                builder.newChannel(member, state: 0)
                builder.dial(from: trunk, to: member)
                builder.state(member, 5)
            }
            builder.chatter(trunk, count: 6)
            if kind == .inboundAnswered {
                builder.state(members[1], 6)
                for member in members { builder.dialEnd(from: trunk, to: member, status: member == members[1] ? "ANSWER" : "CANCEL") }
                builder.hangup(members[0], cause: 26)
                builder.hangup(members[2], cause: 26)
                builder.state(trunk, 6)
                builder.conversation(trunk, members[1], rtcp: 20)
                builder.hangup(members[1], cause: 16)
            } else {
                for member in members {
                    builder.dialEnd(from: trunk, to: member, status: "NOANSWER")
                    builder.hangup(member, cause: 19)
                }
            }
            builder.hangup(trunk, cause: 16)
        case .outboundAnswered, .outboundBusy, .internalCall:
            let phone = builder.channel("SIP/\(agent)-\(hex(sequence))", uniqueid: linkedid, caller: agent, context: "from-internal",
                                        exten: kind == .internalCall ? "205" : "9" + customer)
            builder.newChannel(phone, state: 0)
            builder.state(phone, 4)
            builder.chatter(phone, count: 14)
            let callee = kind == .internalCall
                ? builder.channel("SIP/205-\(hex(sequence + 1))", uniqueid: uniqueid(), caller: agent, context: "from-internal", exten: "s")
                : builder.channel("SIP/trunk-\(hex(sequence + 1))", uniqueid: uniqueid(), caller: agent, context: "from-trunk", exten: customer)
            builder.newChannel(callee, state: 0)
            builder.dial(from: phone, to: callee)
            builder.state(callee, 5)
            if kind == .outboundBusy {
                builder.dialEnd(from: phone, to: callee, status: "BUSY")
                builder.hangup(callee, cause: 17)
            } else {
                builder.state(callee, 6)
                builder.dialEnd(from: phone, to: callee, status: "ANSWER")
                builder.state(phone, 6)
                builder.conversation(phone, callee, rtcp: 20)
                builder.hangup(callee, cause: 16)
            }
            builder.hangup(phone, cause: 16)
        }
        random = builder.random
        return builder.messages
    }

    private func hex(_ value: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}

private struct ScriptBuilder {
    struct Party: Equatable {
        var name: String
        var uniqueid: String
        var caller: String
        var context: String
        var exten: String
    }

    let linkedid: String
    var random: SplitMix64
    var messages: [String] = []
    var bridge = 0

    init(linkedid: String, random: SplitMix64) {
        self.linkedid = linkedid
        self.random = random
    }

    func channel(_ name: String, uniqueid: String, caller: String, context: String, exten: String) -> Party {
        Party(name: name, uniqueid: uniqueid, caller: caller, context: context, exten: exten)
    }

    private static let stateNames = [0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"]

    private func snapshot(_ party: Party, state: Int, prefix: String = "") -> String {
        "\(prefix)Channel: \(party.name)\r\n\(prefix)ChannelState: \(state)\r\n\(prefix)ChannelStateDesc: \(Self.stateNames[state] ?? "Down")\r\n"
            + "\(prefix)CallerIDNum: \(party.caller)\r\n\(prefix)CallerIDName: <unknown>\r\n\(prefix)ConnectedLineNum: <unknown>\r\n"
            + "\(prefix)ConnectedLineName: <unknown>\r\n\(prefix)Language: en\r\n\(prefix)AccountCode: \r\n\(prefix)Context: \(party.context)\r\n"
            + "\(prefix)Exten: \(party.exten)\r\n\(prefix)Priority: 1\r\n\(prefix)Uniqueid: \(party.uniqueid)\r\n\(prefix)Linkedid: \(linkedid)\r\n"
    }

    private func header(_ name: String, _ privilege: String = "call,all") -> String {
        "Event: \(name)\r\nPrivilege: \(privilege)\r\nSystemName: pbx1\r\n"
    }

    mutating func newChannel(_ party: Party, state: Int) {
        messages.append(header("Newchannel") + snapshot(party, state: state) + "\r\n")
    }

    mutating func state(_ party: Party, _ state: Int) {
        messages.append(header("Newstate") + snapshot(party, state: state) + "\r\n")
    }

    mutating func dial(from: Party, to: Party) {
        messages.append(header("DialBegin") + snapshot(from, state: 4) + snapshot(to, state: 0, prefix: "Dest") + "DialString: \(to.name.split(separator: "-").first ?? "")\r\n\r\n")
    }

    mutating func dialEnd(from: Party, to: Party, status: String) {
        messages.append(header("DialEnd") + snapshot(from, state: 4) + snapshot(to, state: 6, prefix: "Dest") + "DialStatus: \(status)\r\n\r\n")
    }

    mutating func hangup(_ party: Party, cause: Int) {
        messages.append(header("Hangup") + snapshot(party, state: 6) + "Cause: \(cause)\r\nCause-txt: Normal Clearing\r\n\r\n")
    }

    /// The dialplan noise of a FreePBX box: variables set and extensions stepped through.
    mutating func chatter(_ party: Party, count: Int) {
        for step in 0..<count {
            if random.next() % 2 == 0 {
                messages.append(header("VarSet", "dialplan,all") + snapshot(party, state: 4) + "Variable: __FROM_DID\(step)\r\nValue: \(random.next() % 100_000)\r\n\r\n")
            } else {
                messages.append(header("Newexten", "dialplan,all") + snapshot(party, state: 4) + "Extension: \(party.exten)\r\nApplication: Set\r\nAppData: CALLERID(name)=x\(step)\r\n\r\n")
            }
        }
    }

    mutating func conversation(_ first: Party, _ second: Party, rtcp: Int) {
        bridge += 1
        let bridgeId = "bridge-\(linkedid)-\(bridge)"
        for party in [first, second] {
            messages.append(header("BridgeEnter") + "BridgeUniqueid: \(bridgeId)\r\nBridgeType: basic\r\nBridgeTechnology: simple_bridge\r\nBridgeNumChannels: 2\r\n" + snapshot(party, state: 6) + "\r\n")
        }
        for index in 0..<rtcp {
            let party = index % 2 == 0 ? first : second
            messages.append(header(index % 4 < 2 ? "RTCPSent" : "RTCPReceived", "reporting,all") + snapshot(party, state: 6)
                + "To: 10.0.0.\(random.next() % 250):\(10_000 + random.next() % 10_000)\r\nSSRC: 0x\(String(random.next() % 0xFFFF_FFFF, radix: 16))\r\nPT: 200(SR)\r\nReportCount: 1\r\nSentNTP: 1700000000.\(random.next() % 1_000_000)\r\nSentRTP: \(random.next() % 100_000)\r\nSentPackets: \(index * 50)\r\nSentOctets: \(index * 8000)\r\n\r\n")
        }
        for party in [first, second] {
            messages.append(header("BridgeLeave") + "BridgeUniqueid: \(bridgeId)\r\nBridgeType: basic\r\nBridgeTechnology: simple_bridge\r\nBridgeNumChannels: 1\r\n" + snapshot(party, state: 6) + "\r\n")
        }
    }
}
