import ConnectorKit
import TamasEvents

/// One request PayamGostar still needs so that it shows the call as the record describes it.
enum PayamGostarStep: Hashable, Sendable {
    case lookUpPeer(PeerKey)
    case createPeer(PeerKey)
    case createCall(CallCreateModel, initPeer: PeerKey)
    case createChannel(CallChannelCreateModel, peer: PeerKey)
    case updateChannel(CallChannelUpdateModel, peer: PeerKey, recordingRef: String?)
    case updateCall(CallUpdateModel)
}

/// Where one channel should stand now.
struct ChannelTarget: Hashable {
    var peer: PeerKey
    var status: ChannelStatus
    var response: ChannelResponse?
    var connectDate: Timestamp?
    var hangupDate: Timestamp?
    var recordingRef: String?
    /// `RecordedFileName`: the signed link to the collector's recording endpoint when the
    /// collector has a public URL, else the ref.
    var recordedFileName: String?
}

/// The call as PayamGostar should show it, derived from the assembled call alone: comparing it
/// with what the call state says was already sent yields the next request. Because the target
/// depends only on the record, a retried, replayed or reordered delivery converges on the same
/// picture and never repeats a request that already succeeded.
struct PayamGostarCallPlan {
    /// Stands in when a source gave neither line nor extension: CallCreate requires a first channel.
    static let unknownPeer = PeerKey(name: "unknown", type: .trunk)

    let tsKey: String
    let call: CallRecord
    let direction: Direction
    let settings: PayamGostarSettings
    let peers: [PeerKey]
    let initPeer: PeerKey
    let connected: Set<PeerKey>
    let startDate: Timestamp

    /// `firstSeen` stands in for the start time if the record has none.
    init(tsKey: String, call: CallRecord, direction: Direction, settings: PayamGostarSettings, firstSeen: Timestamp) {
        self.tsKey = tsKey
        startDate = call.startedAt ?? firstSeen
        self.call = call
        self.direction = direction
        self.settings = settings
        let trunk = call.line.map { PeerKey(name: $0, type: .trunk) }
        var extensions: [String] = []
        func add(_ name: String?) {
            guard let name, Self.isExtension(name, plan: settings.numberPlan), !extensions.contains(name) else { return }
            extensions.append(name)
        }
        if direction == .internal { add(call.from); add(call.to) }
        add(call.extension)
        call.extensions.forEach { add($0) }
        add(call.answeredBy)
        add(call.transferredTo)
        let extensionPeers = extensions.map { PeerKey(name: $0, type: .extension) }
        let caller = call.extension.flatMap { name in extensionPeers.first { $0.name == name } } ?? extensionPeers.first
        let first: PeerKey? = switch direction {
        case .inbound: trunk ?? extensionPeers.first
        case .outbound: caller ?? trunk
        case .internal: extensionPeers.first ?? trunk
        }
        let initPeer = first ?? Self.unknownPeer
        self.initPeer = initPeer
        peers = [initPeer] + ([trunk].compactMap { $0 } + extensionPeers).filter { $0 != initPeer }

        var connected: Set<PeerKey> = []
        if call.answeredAt != nil || call.disposition == .answered {
            if let trunk { connected.insert(trunk) }
            if let answeredBy = call.answeredBy { connected.insert(PeerKey(name: answeredBy, type: .extension)) }
            if direction != .inbound, initPeer.type == .extension { connected.insert(initPeer) }
            if direction == .internal, call.answeredBy == nil, let called = extensionPeers.dropFirst().first { connected.insert(called) }
            if let target = call.transferredTo, Self.isExtension(target, plan: settings.numberPlan) {
                connected.insert(PeerKey(name: target, type: .extension))
            }
        }
        self.connected = connected
    }

    static func isExtension(_ name: String, plan: NumberPlan) -> Bool {
        !name.isEmpty && name.count <= plan.maxExtensionLength && name.allSatisfy { $0.isASCII && $0.isNumber }
    }

    var isLive: Bool { call.phase != .ended }

    var callType: PhoneCallType {
        switch direction {
        case .inbound: call.answeredAt != nil || call.disposition == .answered ? .receivedCall : .missedCall
        case .outbound: .outgoingCall
        case .internal: .internal
        }
    }

    /// The outside party: who called in, or who was called.
    var phoneNumber: String? {
        let number = direction == .inbound ? call.from : call.to
        return number.map { settings.numberFormat.format($0, plan: settings.numberPlan) }
    }

    func channelSourceId(_ peer: PeerKey) -> String {
        "\(call.callId)/\(peer.type == .extension ? "ext" : "trunk")/\(peer.name)"
    }

    /// The channel a recording belongs to: the extension that answered, else the first that talked.
    var recordingPeer: PeerKey {
        if let answerer = call.answeredBy.map({ PeerKey(name: $0, type: .extension) }), peers.contains(answerer) { return answerer }
        return peers.first { connected.contains($0) } ?? initPeer
    }

    func target(_ peer: PeerKey) -> ChannelTarget {
        let isConnected = connected.contains(peer)
        let transferredAway = call.transferredTo != nil && peer.type == .extension && peer.name == call.answeredBy
            && call.transferredTo != peer.name
        let transferTarget = call.transferredTo == peer.name && peer.type == .extension
        switch call.phase {
        case .ringing:
            return ChannelTarget(peer: peer, status: .ringing)
        case .answered:
            if isConnected {
                return ChannelTarget(peer: peer, status: .up, response: .answered, connectDate: call.answeredAt)
            }
            // The others in a ring group stop ringing the moment one extension picks up.
            return ChannelTarget(peer: peer, status: .hangUp, response: .notAnswered, hangupDate: call.answeredAt)
        case .ended:
            let response: ChannelResponse = if transferredAway {
                .transfered
            } else if isConnected {
                .answered
            } else if call.disposition == .busy {
                .busy
            } else {
                .notAnswered
            }
            let recording = peer == recordingPeer ? call.recording : nil
            return ChannelTarget(peer: peer, status: .hangUp, response: response,
                                 connectDate: isConnected && !transferTarget ? call.answeredAt : nil,
                                 hangupDate: call.endedAt, recordingRef: recording?.ref,
                                 recordedFileName: recording.map { $0.url ?? $0.ref })
        }
    }

    func nextStep(state: PayamGostarCallState, session: PayamGostarSession) -> PayamGostarStep? {
        if settings.registerPeers {
            for peer in peers where peer != Self.unknownPeer
            && !session.registeredPeers.contains(PayamGostarSession.registrationKey(tsKey: tsKey, peer: peer)) {
                return .lookUpPeer(peer)
            }
        }
        guard let callId = state.callId else {
            return .createCall(CallCreateModel(
                tsKey: tsKey, sourceId: call.callId, phoneNumber: phoneNumber, startDate: startDate,
                callTypeIndex: callType, initChannelPeerName: initPeer.name, initChannelPeerTypeIndex: initPeer.type,
                initChannelSourceId: channelSourceId(initPeer), isLive: isLive), initPeer: initPeer)
        }
        for peer in peers where state.channel(for: peer) == nil {
            return .createChannel(CallChannelCreateModel(
                callId: callId, channelPeerName: peer.name, channelPeerTypeIndex: peer.type,
                channelSourceId: channelSourceId(peer), channelStatusIndex: isLive ? .ringing : .hangUp,
                createDate: startDate, isLive: isLive), peer: peer)
        }
        for peer in peers {
            let wanted = target(peer)
            guard let sent = state.channel(for: peer), let update = channelUpdate(sent: sent, wanted: wanted) else { continue }
            return .updateChannel(update, peer: peer, recordingRef: wanted.recordingRef)
        }
        if call.phase == .ended, !state.closed {
            return .updateCall(CallUpdateModel(
                callId: callId, endDate: call.endedAt, phoneNumber: phoneNumber, identityId: state.identityId,
                callTypeIndex: callType, isLive: false))
        }
        return nil
    }

    /// The update that brings a channel from what was sent to what is wanted, if any. A channel
    /// told it hung up with a response is final; only a recording that arrived later is added.
    private func channelUpdate(sent: ChannelProgress, wanted: ChannelTarget) -> CallChannelUpdateModel? {
        let recordingArrived = wanted.recordingRef != nil && sent.recordingRef != wanted.recordingRef
        if sent.status == .hangUp, let finalResponse = sent.response {
            guard recordingArrived else { return nil }
            return CallChannelUpdateModel(
                callChannelId: sent.callChannelId, channelStatusIndex: .hangUp, channelResponseIndex: finalResponse,
                recordedFileName: wanted.recordedFileName, connectDate: wanted.connectDate, hangupDate: wanted.hangupDate,
                toChangePeerName: nil, toChangePeerTypeIndex: nil, isLive: false)
        }
        guard let response = wanted.response,
              sent.status != wanted.status || sent.response != wanted.response || recordingArrived else { return nil }
        return CallChannelUpdateModel(
            callChannelId: sent.callChannelId, channelStatusIndex: wanted.status, channelResponseIndex: response,
            recordedFileName: wanted.recordedFileName, connectDate: wanted.connectDate, hangupDate: wanted.hangupDate,
            toChangePeerName: nil, toChangePeerTypeIndex: nil, isLive: wanted.status != .hangUp)
    }
}
