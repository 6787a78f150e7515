import TamasEvents

/// Turns AMI events of any version (1.4 to 22) into EVENTS.md call and extension events.
///
/// A call is everything sharing one Asterisk id: `Linkedid` where events carry it (12+), else
/// the first channel's `Uniqueid`, reached by following who dialed whom and which Local
/// channel halves belong together. Inside a call only real parties (phones and trunks) count;
/// Local channels are plumbing, so a call routed through them is still one call. A party is
/// tracked by channel name, because 1.8/11 masquerades move a phone onto another Uniqueid.
public struct AMICallTracker: Sendable {
    public let settings: AMISettings
    private let classifier: AMIChannelClassifier
    private var channels: [String: Channel] = [:]
    private var uniqueidByName: [String: String] = [:]
    /// A `<MASQ>` shell's party, by its former name, waiting for the channel that takes over that name.
    private var masqueradedParties: [String: MasqueradedParty] = [:]
    private var calls: [String: Call] = [:]
    private var extensionStates: [String: ExtensionSnapshot] = [:]
    /// The technology of each extension's own channels, as last seen in a channel event.
    private var technologyByExtension: [String: AMIChannelTechnology] = [:]
    /// The technology each extension was listed under (PeerEntry of SIPpeers, EndpointList of
    /// PJSIPShowEndpoints) or registered with (PeerStatus). On 13+ a box can run chan_sip and
    /// PJSIP side by side, so a phone that has made no call yet still gets the right one.
    private var listedTechnologyByExtension: [String: AMIChannelTechnology] = [:]
    private var resyncListed: Set<String>?
    /// Who dialed whom (child Uniqueid -> parent Uniqueid) where no Linkedid exists (1.4 to 11).
    /// Kept apart from `channels` because a parent often hangs up before its children, and the
    /// children must still find the call; entries go when their call ends.
    private var parents: [String: String] = [:]
    /// Sweeps for calls whose Hangup was lost run at most once a minute (`sweep(now:)`).
    private var nextSweepAt: Timestamp?
    /// Set while the channel limit is exceeded, so the `channelLimit` status is raised once.
    private var atChannelLimit = false

    public init(settings: AMISettings) {
        self.settings = settings
        classifier = AMIChannelClassifier(rules: settings.channelRules)
    }

    /// Every `Event:` name `handle` reads (its switch), for the documented manager.conf
    /// `eventfilter` lines, which must let all of them through (`EventFilterDocTests`).
    public static let eventsRead: Set<String> = [
        "Newchannel", "Newstate", "Dial", "DialBegin", "DialEnd", "Hangup", "Link", "Bridge", "Rename", "Pickup",
        "LocalBridge", "BlindTransfer", "AttendedTransfer", "Hold", "Unhold", "VarSet", "Newexten", "ExtensionStatus",
        "DeviceStateChange", "PeerStatus", "PeerEntry", "EndpointList", "CoreShowChannel", "Status",
        "CoreShowChannelsComplete", "StatusComplete",
    ]

    public var liveCallCount: Int { calls.count }
    public var liveChannelCount: Int { channels.count }

    /// The technology an extension's own phone was seen with, for click-to-call and spy: a
    /// channel it made or received wins over a listing, which may be older than the phone's move
    /// from one channel driver to the other.
    public func technology(ofExtension number: String) -> AMIChannelTechnology? {
        technologyByExtension[number] ?? listedTechnologyByExtension[number]
    }

    // MARK: - Input

    public mutating func handle(_ message: AMIMessage, now: Timestamp) -> [CallEvent] {
        let at = Self.eventTime(message, now: now)
        guard let name = message.eventName else {
            if message.isResponse || message.isAction { return [] }
            return [unparsed(message.wireText, reason: "AMI message without Event, Response or Action header", at: at)]
        }
        var out: [CallEvent] = []
        switch name {
        case "Newchannel": newChannel(message, at: at, now: now, out: &out)
        case "Newstate": newState(message, at: at, out: &out)
        case "Dial":
            if message.value("subevent", is: "End") { dialEnd(message, at: at, out: &out) } else { dialBegin(message, at: at, out: &out) }
        case "DialBegin": dialBegin(message, at: at, out: &out)
        case "DialEnd": dialEnd(message, at: at, out: &out)
        case "Hangup": hangup(message, at: at, out: &out)
        case "Link": link(message, at: at, out: &out)
        case "Bridge": if message.value("bridgestate", is: "Link") { link(message, at: at, out: &out) }
        case "Rename": rename(message, at: at, out: &out)
        case "Pickup": pickup(message, at: at, out: &out)
        case "LocalBridge": localBridge(message)
        case "BlindTransfer": transfer(message, target: message["extension"], at: at, out: &out)
        case "AttendedTransfer":
            transfer(message, target: message["secondtransfererconnectedlinenum"] ?? message["transfertargetcalleridnum"], at: at, out: &out)
            attendedTransfer(message, at: at, out: &out)
        case "Hold": hold(message, onHold: !message.value("status", is: "Off"), at: at, out: &out)
        case "Unhold": hold(message, onHold: false, at: at, out: &out)
        case "VarSet": varSet(message)
        case "Newexten":
            if let uniqueid = message["uniqueid"] { channels[uniqueid]?.noteExten(message["extension"] ?? message["exten"]) }
        case "ExtensionStatus": extensionStatus(message, at: at, out: &out)
        case "DeviceStateChange": deviceStateChange(message, at: at, out: &out)
        case "PeerStatus": peerStatus(message, at: at, out: &out)
        case "PeerEntry": peerEntry(message, at: at, out: &out)
        case "EndpointList": endpointList(message, at: at, out: &out)
        case "CoreShowChannel", "Status": listedChannel(message, at: at, now: now, out: &out)
        case "CoreShowChannelsComplete", "StatusComplete": channelListComplete(at: at, out: &out)
        default: break
        }
        // VarSet, the most frequent event on a FreePBX box, is left out: reading its Uniqueid
        // would cost every one of them a string, and a live call's other events suffice.
        if name != "VarSet", let uniqueid = message["uniqueid"], channels[uniqueid] != nil { channels[uniqueid]?.lastSeen = now }
        if channels.count > settings.maxTrackedChannels { shedLeastRecentlyActiveCalls(now: now, out: &out) }
        return out
    }

    /// A channel listing is starting: calls whose channels are missing from it ended while the link was down.
    public mutating func beginChannelResync() {
        resyncListed = []
    }

    public func unparsed(_ raw: String, reason: String, at: Timestamp) -> CallEvent {
        CallEvent(eventId: StableID.make(settings.systemKey, "ami", "line.unparsed", raw, reason), type: .lineUnparsed,
                  systemKey: settings.systemKey, source: SourceName.ami.rawValue, at: at, raw: raw, reason: reason)
    }

    // MARK: - Channel events

    private mutating func newChannel(_ message: AMIMessage, at: Timestamp, now: Timestamp, out: inout [CallEvent]) {
        guard let uniqueid = message["uniqueid"], let name = message["channel"] else {
            out.append(unparsed(message.wireText, reason: "Newchannel without Channel or Uniqueid", at: at))
            return
        }
        let state = Self.channelState(message)
        createChannel(uniqueid: uniqueid, name: name, message: message, state: state, now: now)
        if state == ChannelState.ring { party(uniqueid, .dialing, at: at, out: &out) }
    }

    private mutating func createChannel(uniqueid: String, name: String, message: AMIMessage, state: Int, now: Timestamp) {
        let context = message["context"] ?? ""
        var channel = Channel(name: name, kind: classifier.kind(channel: name, context: context), lastSeen: now)
        channel.linkedid = message["linkedid"]
        channel.context = context
        channel.state = state
        channel.noteExten(message["exten"] ?? message["extension"])
        channel.noteCaller(message["calleridnum"] ?? message["callerid"])
        if channel.linkedid == nil, name.hasSuffix(";2"), let sibling = uniqueidByName[String(name.dropLast()) + "1"] {
            parents[uniqueid] = sibling
        }
        if case .extension(let number) = channel.kind, let technology = AMIChannelTechnology(rawValue: String(AMIChannelName(name).technology)) {
            technologyByExtension[number] = technology
        }
        channels[uniqueid] = channel
        uniqueidByName[name] = uniqueid
    }

    private mutating func newState(_ message: AMIMessage, at: Timestamp, out: inout [CallEvent]) {
        guard let uniqueid = message["uniqueid"], channels[uniqueid] != nil else { return }
        let state = Self.channelState(message)
        channels[uniqueid]?.state = state
        channels[uniqueid]?.noteExten(message["exten"])
        channels[uniqueid]?.noteCaller(message["calleridnum"] ?? message["callerid"])
        switch state {
        case ChannelState.ring: party(uniqueid, .dialing, at: at, out: &out)
        case ChannelState.ringing: party(uniqueid, .ringing, at: at, out: &out)
        case ChannelState.up: party(uniqueid, .up, at: at, out: &out)
        default: break
        }
    }

    private mutating func dialBegin(_ message: AMIMessage, at: Timestamp, out: inout [CallEvent]) {
        let source = message["uniqueid"] ?? message["srcuniqueid"]
        guard let destination = message["destuniqueid"] else {
            out.append(unparsed(message.wireText, reason: "Dial without DestUniqueID", at: at))
            return
        }
        guard channels[destination] != nil else { return }
        if let source, source != destination, channels[source] != nil { link(child: destination, to: source) }
        let dialed = message["destexten"].flatMap(Channel.meaningfulExten) ?? Self.numberInDialString(message["dialstring"])
        if let dialed, channels[destination]?.dialedNumber == nil { channels[destination]?.dialedNumber = dialed }
        if channels[destination]?.kind.isParty == true { party(destination, .dialed, at: at, out: &out) }
    }

    private mutating func dialEnd(_ message: AMIMessage, at: Timestamp, out: inout [CallEvent]) {
        guard let status = message["dialstatus"], let source = message["uniqueid"] ?? message["destuniqueid"] else { return }
        let key = groupKey(source)
        calls[key]?.dialStatuses.append(status)
    }

    private mutating func link(_ message: AMIMessage, at: Timestamp, out: inout [CallEvent]) {
        for key in ["uniqueid1", "uniqueid2"] {
            guard let uniqueid = message[key], let channel = channels[uniqueid], channel.kind.isParty else { continue }
            party(uniqueid, .up, at: at, out: &out)
        }
    }

    private mutating func localBridge(_ message: AMIMessage) {
        guard let one = message["uniqueid1"] ?? message["localoneuniqueid"],
              let two = message["uniqueid2"] ?? message["localtwouniqueid"],
              one != two, channels[one] != nil else { return }
        link(child: two, to: one)
    }

    /// 1.8/11 masquerade: `A` -> `A<MASQ>`, Local `;1` -> `A`, `A<MASQ>` -> `;1<ZOMBIE>`. The
    /// Local channel's Uniqueid becomes the phone's, so it inherits the phone's party kind.
    /// When the channel taking over the phone's name was itself a party (a ringing phone, not a
    /// Local channel), the phone has picked up that ringing call: 1.8 sends no Pickup event.
    private mutating func rename(_ message: AMIMessage, at: Timestamp, out: inout [CallEvent]) {
        guard let oldName = message["channel"] ?? message["oldname"], let newName = message["newname"],
              let uniqueid = message["uniqueid"] ?? uniqueidByName[oldName], var channel = channels[uniqueid] else { return }
        let newParts = AMIChannelName(newName)
        var picker: MasqueradedParty?
        if newParts.isMasqueradeShell {
            if channel.kind.isParty { masqueradedParties[String(newParts.base)] = MasqueradedParty(kind: channel.kind, uniqueid: uniqueid) }
            channel.kind = .plumbing
        } else if let party = masqueradedParties.removeValue(forKey: newName) {
            if channel.kind.isParty, party.uniqueid != uniqueid { picker = party }
            channel.kind = party.kind
        } else {
            channel.kind = classifier.kind(channel: newName, context: channel.context)
        }
        channel.name = newName
        if uniqueidByName[oldName] == uniqueid { uniqueidByName[oldName] = nil }
        uniqueidByName[newName] = uniqueid
        channels[uniqueid] = channel
        if let picker {
            let targetBase = AMIChannelName(oldName).base
            let targetKey = groupKey(uniqueid)
            if let target = calls[targetKey]?.legIndex(targetBase), calls[targetKey]?.legs[target].role != .callee
                || calls[targetKey]?.legs[target].answered == true {
                // Not a phone ringing but one in a conversation: the masqueraded party now talks
                // to whoever that phone talked to (1.8/11 attended transfer by SIP REFER/Replaces).
                masqueradeTransfer(party: picker.uniqueid, partyBase: newParts.base, host: uniqueid, hostBase: targetBase, at: at, out: &out)
            } else {
                pickUp(picker: picker.uniqueid, pickerBase: newParts.base, pickerKind: picker.kind, continuingOn: uniqueid,
                       targetBase: targetBase, targetKey: targetKey, at: at, out: &out)
            }
        }
    }

    /// `Pickup` (12+: `Channel` is the picker, `TargetChannel` the ringing phone, each with its
    /// Uniqueid; older servers that send it name only the channels).
    private mutating func pickup(_ message: AMIMessage, at: Timestamp, out: inout [CallEvent]) {
        guard let picker = message["uniqueid"] ?? message["channel"].flatMap({ uniqueidByName[$0] }),
              let target = message["targetuniqueid"] ?? message["targetchannel"].flatMap({ uniqueidByName[$0] }),
              picker != target, let pickerChannel = channels[picker], let targetChannel = channels[target] else { return }
        pickUp(picker: picker, pickerBase: AMIChannelName(pickerChannel.name).base, pickerKind: pickerChannel.kind, continuingOn: picker,
               targetBase: AMIChannelName(targetChannel.name).base, targetKey: groupKey(target), at: at, out: &out)
    }

    /// A pickup (`*8`, `**201`, Pickup()): the picker's phone answers the call ringing on the
    /// target leg, which stops ringing but stays among the extensions that rang. The call stays
    /// one call, answered by the picker; the picker's own call (it only dialed the pickup code,
    /// nothing rang) is dropped without events. `survivor` is the Uniqueid the picker's leg
    /// continues on: the picker's own on 12+ (and at 11's Pickup event), the ringing channel's
    /// after a 1.8/11 masquerade.
    private mutating func pickUp(picker: String, pickerBase: Substring, pickerKind: AMIChannelKind, continuingOn survivor: String,
                                 targetBase: Substring, targetKey: String, at: Timestamp, out: inout [CallEvent]) {
        guard pickerKind.isParty, var call = calls[targetKey], let target = call.legIndex(targetBase),
              call.legs[target].role == .callee else { return }
        if let joined = call.legIndex(pickerBase) {
            // 11 announced the pickup before masquerading; the leg only moves to the survivor.
            call.legs[joined].uniqueid = survivor
            calls[targetKey] = call
            stopRinging(targetKey, target, at: at, out: &out)
            return
        }
        guard call.answeredLeg == nil else { return }
        let pickerKey = groupKey(picker)
        if pickerKey != targetKey, var own = calls[pickerKey], let index = own.legIndex(pickerBase) {
            own.legs.remove(at: index)
            if own.legs.isEmpty {
                calls[pickerKey] = nil
                pendingRecordings[pickerKey] = nil
            } else {
                calls[pickerKey] = own
            }
        }
        if survivor == picker {
            if channels[picker]?.linkedid != nil {
                channels[picker]?.linkedid = targetKey
            } else {
                parents[picker] = call.legs[target].uniqueid
            }
        }
        var leg = Leg(channel: String(pickerBase), uniqueid: survivor, kind: pickerKind, role: .callee)
        leg.pickedUp = true
        call.legs.append(leg)
        calls[targetKey] = call
        stopRinging(targetKey, target, at: at, out: &out)
        calleeAnswered(targetKey, call.legs.count - 1, at: at, out: &out)
    }

    /// The picked-up phone: its ringing ends now, whether or not a Hangup for it follows.
    private mutating func stopRinging(_ key: String, _ index: Int, at: Timestamp, out: inout [CallEvent]) {
        guard var call = calls[key], !call.legs[index].ended else { return }
        call.legs[index].ended = true
        calls[key] = call
        if let number = call.legs[index].kind.extensionNumber {
            extensionState(number, .idle, peer: nil, callId: call.callId, discriminator: "hangup" + call.legs[index].uniqueid, at: at, out: &out)
        }
    }

    private mutating func hangup(_ message: AMIMessage, at: Timestamp, out: inout [CallEvent]) {
        guard let uniqueid = message["uniqueid"] else {
            out.append(unparsed(message.wireText, reason: "Hangup without Uniqueid", at: at))
            return
        }
        guard let channel = channels[uniqueid] else { return }
        let key = groupKey(uniqueid)
        channels[uniqueid] = nil
        if uniqueidByName[channel.name] == uniqueid { uniqueidByName[channel.name] = nil }
        resyncListed?.remove(uniqueid)
        guard channel.kind.isParty, var call = calls[key], let index = call.legIndex(AMIChannelName(channel.name).base) else { return }
        call.legs[index].note(channel)
        call.legs[index].ended = true
        call.legs[index].cause = message["cause"].flatMap { Int($0) }
        calls[key] = call
        if let number = call.legs[index].kind.extensionNumber {
            extensionState(number, .idle, peer: nil, callId: call.callId, discriminator: "hangup" + uniqueid, at: at, out: &out)
        }
        if call.legs.allSatisfy(\.ended) { finish(key, at: at, out: &out) }
    }

    // MARK: - Transfers, hold, recordings

    private mutating func transfer(_ message: AMIMessage, target: String?, at: Timestamp, out: inout [CallEvent]) {
        guard let target, !target.isEmpty else { return }
        let uniqueid = message["transfereruniqueid"] ?? message["origtransfereruniqueid"] ?? message["transfereeuniqueid"]
        let key = message["transfererlinkedid"] ?? message["origtransfererlinkedid"] ?? uniqueid.map { groupKey($0) }
        guard let key, calls[key] != nil else { return }
        calls[key]?.transferredTo = target
    }

    /// 12+ `AttendedTransfer` (Result Success): the original transferer's call (the customer's)
    /// absorbs the consultation call's other parties, as Asterisk's bridge merge does (and as it
    /// moves their Linkedid to the older call's); the consultation ends at the transfer.
    private mutating func attendedTransfer(_ message: AMIMessage, at: Timestamp, out: inout [CallEvent]) {
        guard message["result"].map({ $0.caseInsensitiveCompare("Success") == .orderedSame }) ?? true,
              let kept = message["origtransfererlinkedid"] ?? message["origtransfereruniqueid"].map({ groupKey($0) }),
              let consultation = message["secondtransfererlinkedid"] ?? message["secondtransfereruniqueid"].map({ groupKey($0) }),
              let transferer = message["secondtransfererchannel"] else { return }
        merge(consultation, into: kept, leavingBase: AMIChannelName(transferer).base, at: at, out: &out)
    }

    /// 1.8/11: party `partyBase` (uniqueid `party`) was masqueraded into channel `host`, which
    /// carried `hostBase`, a phone in a conversation in another call. The phone behind `host`
    /// has left (it transferred), the party continues on `host`'s Uniqueid. The older of the
    /// two calls (the customer's; a consultation is always younger) absorbs the other.
    private mutating func masqueradeTransfer(party: String, partyBase: Substring, host: String, hostBase: Substring,
                                             at: Timestamp, out: inout [CallEvent]) {
        let partyKey = groupKey(party)
        let hostKey = groupKey(host)
        guard partyKey != hostKey, let partyCall = calls[partyKey], let hostCall = calls[hostKey],
              let partyLeg = partyCall.legIndex(partyBase) else { return }
        // The host's numbers were the departed phone's; the party keeps its own.
        channels[host]?.callerNumber = partyCall.legs[partyLeg].callerNumber
        channels[host]?.exten = partyCall.legs[partyLeg].exten
        channels[host]?.dialedNumber = partyCall.legs[partyLeg].dialedNumber
        if partyCall.startedAt <= hostCall.startedAt {
            calls[partyKey]?.legs[partyLeg].uniqueid = host
            parents[host] = partyKey
            merge(hostKey, into: partyKey, leavingBase: hostBase, at: at, out: &out)
        } else {
            calls[partyKey]?.legs[partyLeg].ended = true
            if let hostLeg = hostCall.legIndex(hostBase) { calls[hostKey]?.legs[hostLeg].ended = true }
            var moved = partyCall.legs[partyLeg]
            moved.channel = String(partyBase)
            moved.uniqueid = host
            join(moved, into: hostKey, at: at, out: &out)
            if calls[partyKey]?.legs.allSatisfy(\.ended) == true { finish(partyKey, at: at, out: &out) }
        }
    }

    /// Ends `leavingBase`'s leg in the consultation `absorbed`, moves its other live parties into
    /// `kept` (answered, not first: they become `transferredTo`), and ends the consultation
    /// when nobody is left in it.
    private mutating func merge(_ absorbed: String, into kept: String, leavingBase: Substring, at: Timestamp, out: inout [CallEvent]) {
        guard absorbed != kept, calls[kept] != nil, var consultation = calls[absorbed] else { return }
        var movers: [Leg] = []
        for index in consultation.legs.indices where !consultation.legs[index].ended {
            if consultation.legs[index].channel != leavingBase { movers.append(consultation.legs[index]) }
            consultation.legs[index].ended = true
        }
        calls[absorbed] = consultation
        for leg in movers {
            if channels[leg.uniqueid]?.linkedid != nil {
                channels[leg.uniqueid]?.linkedid = kept
            } else {
                parents[leg.uniqueid] = kept
            }
            join(leg, into: kept, at: at, out: &out)
        }
        finish(absorbed, at: at, out: &out)
    }

    /// A party that was already talking joins `key`'s call: answered, but not its first answer.
    private mutating func join(_ leg: Leg, into key: String, at: Timestamp, out: inout [CallEvent]) {
        guard var call = calls[key] else { return }
        var joined = Leg(channel: leg.channel, uniqueid: leg.uniqueid, kind: leg.kind, role: .callee)
        joined.answered = true
        joined.callerNumber = leg.callerNumber
        joined.exten = leg.exten
        joined.dialedNumber = leg.dialedNumber
        call.legs.append(joined)
        call.transferredTo = call.transferredTo ?? joined.partyNumber
        calls[key] = call
        if let number = joined.kind.extensionNumber {
            let view = CallView(call: call, numberPlan: settings.numberPlan)
            extensionState(number, .inUse, peer: view.from, callId: call.callId, discriminator: "transfer" + joined.uniqueid, at: at, out: &out)
        }
    }

    private mutating func hold(_ message: AMIMessage, onHold: Bool, at: Timestamp, out: inout [CallEvent]) {
        guard let uniqueid = message["uniqueid"], let channel = channels[uniqueid], let number = channel.kind.extensionNumber else { return }
        let key = groupKey(uniqueid)
        extensionState(number, onHold ? .onHold : .inUse, peer: nil, callId: calls[key]?.callId,
                       discriminator: (onHold ? "hold" : "unhold") + uniqueid + String(at.epochMillis), at: at, out: &out)
    }

    private mutating func varSet(_ message: AMIMessage) {
        guard settings.recordingEnabled, let variable = message["variable"], AMIRecordings.spellings.contains(variable),
              let uniqueid = message["uniqueid"], channels[uniqueid] != nil, let value = message["value"],
              let recording = AMIRecordings.variable(name: variable, value: value) else { return }
        let key = groupKey(uniqueid)
        var pending = calls[key]?.recording ?? pendingRecordings[key] ?? PendingRecording()
        switch recording {
        case .mixMonitorFilename(let name): pending.mixMonitorFile = name
        case .callFilename(let name): pending.callFilename = name
        case .recordingFile(let name): pending.recordingFile = name
        case .monitorFormat(let format): pending.monitorFormat = format
        }
        if calls[key] != nil { calls[key]?.recording = pending } else { pendingRecordings[key] = pending }
    }

    private var pendingRecordings: [String: PendingRecording] = [:]
    /// Searches asked for by calls that ended since the last `takeRecordingSearches()`.
    private var recordingSearches: [AMIRecordingSearch] = []

    /// The recording searches the adapter should run (empty unless `searchRecordingsByUniqueid`).
    public mutating func takeRecordingSearches() -> [AMIRecordingSearch] {
        defer { recordingSearches = [] }
        return recordingSearches
    }

    // MARK: - Extension states from the PBX

    private mutating func extensionStatus(_ message: AMIMessage, at: Timestamp, out: inout [CallEvent]) {
        guard let exten = message["exten"], classifier.isExtensionNumber(exten),
              let status = message["status"].flatMap({ Int($0) }) else { return }
        let state: ExtensionState? = switch status {
        case 0: .idle
        case 1, 2: .inUse
        case 4: .unavailable
        case 8, 9: .ringing
        case 16, 17: .onHold
        default: nil
        }
        guard let state else { return }
        extensionState(exten, state, peer: nil, callId: nil, discriminator: "status" + String(at.epochMillis), at: at, out: &out)
    }

    private mutating func deviceStateChange(_ message: AMIMessage, at: Timestamp, out: inout [CallEvent]) {
        guard let device = message["device"], let number = classifier.kind(channel: device + "-0", context: nil).extensionNumber,
              let text = message["state"] else { return }
        let state: ExtensionState? = switch text.uppercased() {
        case "NOT_INUSE": .idle
        case "INUSE", "BUSY": .inUse
        case "RINGING", "RINGINUSE": .ringing
        case "ONHOLD": .onHold
        case "UNAVAILABLE", "INVALID": .unavailable
        default: nil
        }
        guard let state else { return }
        extensionState(number, state, peer: nil, callId: nil, discriminator: "device" + String(at.epochMillis), at: at, out: &out)
    }

    private mutating func peerStatus(_ message: AMIMessage, at: Timestamp, out: inout [CallEvent]) {
        guard let peer = message["peer"], let number = classifier.kind(channel: peer + "-0", context: nil).extensionNumber else { return }
        noteListedTechnology(number, AMIChannelName(peer).technology)
        guard let status = message["peerstatus"] else { return }
        let reachable: Bool? = switch status.lowercased() {
        case "registered", "reachable": true
        case "unregistered", "unreachable", "rejected": false
        default: nil
        }
        guard let reachable else { return }
        reachability(number, reachable: reachable, discriminator: "peer" + String(at.epochMillis), at: at, out: &out)
    }

    private mutating func peerEntry(_ message: AMIMessage, at: Timestamp, out: inout [CallEvent]) {
        guard let peer = message["objectname"], classifier.isExtensionNumber(peer) else { return }
        if let driver = message["channeltype"] { noteListedTechnology(peer, Substring(driver)) }
        guard let status = message["status"] else { return }
        let unregistered = message["ipaddress"] == "-none-" || message["ipaddress"] == "(null)"
        let reachable = status.hasPrefix("OK") || (status.hasPrefix("Unmonitored") && !unregistered)
        reachability(peer, reachable: reachable, discriminator: "peerentry" + String(at.epochMillis), at: at, out: &out)
    }

    private mutating func endpointList(_ message: AMIMessage, at: Timestamp, out: inout [CallEvent]) {
        guard let peer = message["objectname"], classifier.isExtensionNumber(peer) else { return }
        listedTechnologyByExtension[peer] = .pjsip
        guard let text = message["devicestate"] else { return }
        let state: ExtensionState? = switch text.lowercased() {
        case "not in use": .idle
        case "in use", "busy": .inUse
        case "ringing", "ring+inuse": .ringing
        case "on hold": .onHold
        case "unavailable", "invalid": .unavailable
        default: nil
        }
        guard let state else { return }
        extensionState(peer, state, peer: nil, callId: nil, discriminator: "endpoint" + String(at.epochMillis), at: at, out: &out)
    }

    /// Only a driver click-to-call can dial (`SIP`, `PJSIP`, `IAX2`) is kept; a phone listed under
    /// two drivers takes the later listing (the resync asks SIPpeers before PJSIPShowEndpoints).
    private mutating func noteListedTechnology(_ number: String, _ name: Substring) {
        guard let technology = AMIChannelTechnology(rawValue: name.uppercased()) else { return }
        listedTechnologyByExtension[number] = technology
    }

    /// Registration alone says nothing about a call in progress, so "reachable" only clears an
    /// `unavailable` state.
    private mutating func reachability(_ number: String, reachable: Bool, discriminator: String, at: Timestamp, out: inout [CallEvent]) {
        if !reachable {
            extensionState(number, .unavailable, peer: nil, callId: nil, discriminator: discriminator, at: at, out: &out)
        } else if extensionStates[number] == nil || extensionStates[number]?.state == .unavailable {
            extensionState(number, .idle, peer: nil, callId: nil, discriminator: discriminator, at: at, out: &out)
        }
    }

    // MARK: - Resync after (re)connect

    /// A channel from CoreShowChannels (1.8+) or Status (1.4). Channels already known are
    /// skipped, so a resync after a short outage changes nothing; unknown ones are replayed as
    /// if their events had been seen, with the same ids those events would have given.
    private mutating func listedChannel(_ message: AMIMessage, at: Timestamp, now: Timestamp, out: inout [CallEvent]) {
        guard let uniqueid = message["uniqueid"], let name = message["channel"] else { return }
        resyncListed?.insert(uniqueid)
        guard channels[uniqueid] == nil else { return }
        let seconds = Self.seconds(message["duration"]) ?? Self.listedSeconds(message["seconds"]) ?? 0
        let started = at.adding(seconds: -seconds)
        let state = Self.channelState(message)
        createChannel(uniqueid: uniqueid, name: name, message: message, state: state, now: now)
        if let bridged = message["bridgeduniqueid"], channels[bridged] != nil {
            if bridged < uniqueid { link(child: uniqueid, to: bridged) } else { link(child: bridged, to: uniqueid) }
        }
        guard channels[uniqueid]?.kind.isParty == true else { return }
        let key = groupKey(uniqueid)
        let isFirst = message["linkedid"].map { $0 == uniqueid } ?? (parents[uniqueid] == nil)
        if isFirst || calls[key] == nil {
            party(uniqueid, isFirst ? .dialing : .ringing, at: started, out: &out)
        } else {
            party(uniqueid, .ringing, at: started, out: &out)
        }
        if state == ChannelState.up { party(uniqueid, .up, at: at, out: &out) }
    }

    private mutating func channelListComplete(at: Timestamp, out: inout [CallEvent]) {
        guard let listed = resyncListed else { return }
        resyncListed = nil
        let gone = channels.keys.filter { !listed.contains($0) }
        for uniqueid in gone.sorted() {
            let message = AMIMessage([("Event", "Hangup"), ("Uniqueid", uniqueid), ("Cause", "16")])
            hangup(message, at: at, out: &out)
        }
    }

    // MARK: - Lost hangups (PAINPOINTS #9: a Dial arrives, its Hangup never does)

    /// Closes calls none of whose channels was named by an event for `staleCallHours`, as if
    /// hung up, with a `detail` saying so. Call it about once a second while events can arrive
    /// (the client does so between resyncs); it does its work at most once a minute. Not while
    /// the link is down: silence then says nothing about the calls, the next resync does.
    public mutating func sweep(now: Timestamp) -> [CallEvent] {
        if let due = nextSweepAt, now < due { return [] }
        nextSweepAt = now.adding(seconds: 60)
        var out: [CallEvent] = []
        let cutoff = now.adding(seconds: -settings.staleCallHours * 3600)
        let activity = lastActivityByCall()
        var stale = activity.filter { $0.value.lastSeen < cutoff }.map(\.key)
        // A call can outlive its channels' entries (a leg renamed away by a masquerade whose
        // Hangup carried another Uniqueid); its start is all that is left to judge it by.
        stale += calls.filter { activity[$0.key] == nil && $0.value.startedAt < cutoff }.map(\.key)
        let reason = "no Hangup seen: closed after \(settings.staleCallHours) h without an event for the call; endedAt is the last event seen"
        closeWithoutHangup(stale.sorted(), activity: activity, reason: reason, now: now, out: &out)
        forgetLeftovers()
        if atChannelLimit, channels.count * 2 <= settings.maxTrackedChannels {
            atChannelLimit = false
            out.append(trackerStatus("channelsOk", detail: "\(channels.count) channels tracked, under half the limit of \(settings.maxTrackedChannels)", at: now))
        }
        return out
    }

    /// More channels than `maxTrackedChannels`: the least recently active calls are closed
    /// until a tenth of the limit is free again (so this runs once per that many new channels,
    /// not on every one), and `channelLimit` is reported the first time.
    private mutating func shedLeastRecentlyActiveCalls(now: Timestamp, out: inout [CallEvent]) {
        let activity = lastActivityByCall()
        let target = settings.maxTrackedChannels - max(1, settings.maxTrackedChannels / 10)
        var remaining = channels.count
        var victims: [String] = []
        for (key, entry) in activity.sorted(by: { ($0.value.lastSeen, $0.key) < ($1.value.lastSeen, $1.key) }) {
            guard remaining > target else { break }
            victims.append(key)
            remaining -= entry.channels.count
        }
        let reason = "no Hangup seen: closed to stay under maxTrackedChannels (\(settings.maxTrackedChannels)) as one of the least recently active calls; endedAt is the last event seen"
        closeWithoutHangup(victims, activity: activity, reason: reason, now: now, out: &out)
        forgetLeftovers()
        if !atChannelLimit {
            atChannelLimit = true
            out.append(trackerStatus("channelLimit", detail: "more than \(settings.maxTrackedChannels) channels tracked (maxTrackedChannels): the \(victims.count) least recently active calls were closed as if hung up; Hangups are being lost or the limit is too low", at: now))
        }
    }

    /// Each call key with its live channels and the newest time any of them was heard of.
    /// An entry is taken out while it grows, so appending to its list never copies it: a call
    /// with thousands of channels (a flood whose Hangups never come) stays linear.
    private func lastActivityByCall() -> [String: (lastSeen: Timestamp, channels: [String])] {
        var activity: [String: (lastSeen: Timestamp, channels: [String])] = [:]
        for (uniqueid, channel) in channels {
            let key = groupKey(uniqueid)
            var entry = activity.removeValue(forKey: key) ?? (lastSeen: channel.lastSeen, channels: [])
            entry.lastSeen = max(entry.lastSeen, channel.lastSeen)
            entry.channels.append(uniqueid)
            activity[key] = entry
        }
        return activity
    }

    /// Hangs up every channel of the given calls, marking the calls so `call.ended` says why
    /// and ends at the last event seen rather than now.
    private mutating func closeWithoutHangup(_ keys: [String], activity: [String: (lastSeen: Timestamp, channels: [String])],
                                            reason: String, now: Timestamp, out: inout [CallEvent]) {
        for key in keys {
            let lastSeen = activity[key]?.lastSeen ?? calls[key]?.startedAt ?? now
            calls[key]?.lostHangup = LostHangup(reason: reason, lastSeen: lastSeen)
            for uniqueid in (activity[key]?.channels ?? []).sorted() {
                hangup(AMIMessage([("Event", "Hangup"), ("Uniqueid", uniqueid)]), at: now, out: &out)
            }
            guard var call = calls[key] else { continue }
            for index in call.legs.indices { call.legs[index].ended = true }
            calls[key] = call
            finish(key, at: now, out: &out)
        }
    }

    /// Bookkeeping no live channel or call needs any more: parent links of gone calls, a
    /// recording variable that never met its call, a masquerade shell never taken over.
    private mutating func forgetLeftovers() {
        var liveKeys = Set(calls.keys)
        for uniqueid in channels.keys { liveKeys.insert(groupKey(uniqueid)) }
        let orphans = parents.keys.filter { channels[$0] == nil && !liveKeys.contains(groupKey($0)) }
        for child in orphans { parents[child] = nil }
        pendingRecordings = pendingRecordings.filter { liveKeys.contains($0.key) }
        masqueradedParties = masqueradedParties.filter { channels[$0.value.uniqueid] != nil }
    }

    private func trackerStatus(_ state: String, detail: String, at: Timestamp) -> CallEvent {
        CallEvent(eventId: StableID.make(settings.systemKey, "ami", "agent.status", state, detail, String(at.epochMillis)),
                  type: .agentStatus, systemKey: settings.systemKey, source: SourceName.ami.rawValue, at: at,
                  state: state, detail: detail)
    }

    // MARK: - Parties

    private enum Change { case dialing, dialed, ringing, up }

    private mutating func party(_ uniqueid: String, _ change: Change, at: Timestamp, out: inout [CallEvent]) {
        guard let channel = channels[uniqueid], channel.kind.isParty else { return }
        let key = groupKey(uniqueid)
        if calls[key] == nil {
            var call = Call(key: key, callId: StableID.make(settings.systemKey, "ami", key), startedAt: at)
            call.recording = pendingRecordings.removeValue(forKey: key)
            calls[key] = call
        }
        guard var call = calls[key] else { return }
        let base = AMIChannelName(channel.name).base
        let index: Int
        if let existing = call.legIndex(base) {
            index = existing
        } else {
            let role: Leg.Role = call.legs.isEmpty ? (change == .dialing ? .caller : .originator) : .callee
            call.legs.append(Leg(channel: String(base), uniqueid: uniqueid, kind: channel.kind, role: role))
            index = call.legs.count - 1
        }
        call.legs[index].uniqueid = uniqueid
        call.legs[index].note(channel)
        calls[key] = call
        switch (call.legs[index].role, change) {
        case (.callee, .dialed), (.callee, .ringing): calleeRinging(key, index, at: at, out: &out)
        case (.callee, .up): calleeAnswered(key, index, at: at, out: &out)
        case (.caller, .dialing):
            if let number = channel.kind.extensionNumber {
                extensionState(number, .inUse, peer: channel.exten, callId: call.callId, discriminator: "dialing" + uniqueid, at: at, out: &out)
            }
        case (.originator, .ringing), (.originator, .dialed):
            calls[key]?.legs[index].rang = true
            if let number = channel.kind.extensionNumber {
                extensionState(number, .ringing, peer: nil, callId: call.callId, discriminator: "ringing" + uniqueid, at: at, out: &out)
            }
        case (.originator, .up), (.caller, .up):
            guard !call.legs[index].answered else { return }
            calls[key]?.legs[index].answered = true
            if let number = channel.kind.extensionNumber {
                extensionState(number, .inUse, peer: nil, callId: call.callId, discriminator: "up" + uniqueid, at: at, out: &out)
            }
        default: break
        }
    }

    private mutating func calleeRinging(_ key: String, _ index: Int, at: Timestamp, out: inout [CallEvent]) {
        guard var call = calls[key], !call.legs[index].rang, !call.legs[index].pickedUp else { return }
        call.legs[index].rang = true
        call.refreshNumbers(from: channels)
        let leg = call.legs[index]
        lockDirection(&call)
        calls[key] = call
        let view = CallView(call: call, numberPlan: settings.numberPlan)
        switch leg.kind {
        case .extension(let number):
            extensionState(number, .ringing, peer: view.from, callId: call.callId, discriminator: "ringing" + leg.uniqueid, at: at, out: &out)
            var event = callEvent(.callRinging, call: call, view: view, discriminator: leg.channel, at: at)
            event.extension = number
            event.extensions = call.legs.filter { $0.role == .callee && $0.rang }.compactMap(\.kind.extensionNumber)
            out.append(event)
        case .trunk:
            guard call.direction == .outbound, !call.legs.contains(where: { $0.role == .callee && $0.rang && $0.channel != leg.channel }) else { return }
            out.append(callEvent(.callRinging, call: call, view: view, discriminator: leg.channel, at: at))
        case .plumbing: break
        }
    }

    private mutating func calleeAnswered(_ key: String, _ index: Int, at: Timestamp, out: inout [CallEvent]) {
        calleeRinging(key, index, at: at, out: &out)
        guard var call = calls[key], !call.legs[index].answered else { return }
        call.legs[index].answered = true
        call.refreshNumbers(from: channels)
        let leg = call.legs[index]
        if call.answeredLeg == nil {
            call.answeredLeg = index
            call.answeredAt = at
            lockDirection(&call)
            calls[key] = call
            let view = CallView(call: call, numberPlan: settings.numberPlan)
            var event = callEvent(.callAnswered, call: call, view: view, discriminator: "answered", at: at)
            event.answeredBy = leg.kind.extensionNumber
            out.append(event)
            if let number = leg.kind.extensionNumber {
                extensionState(number, .inUse, peer: view.from, callId: call.callId, discriminator: "up" + leg.uniqueid, at: at, out: &out)
            }
            for caller in call.legs where caller.role != .callee {
                if let number = caller.kind.extensionNumber {
                    extensionState(number, .inUse, peer: view.to, callId: call.callId, discriminator: "peer" + leg.uniqueid, at: at, out: &out)
                }
            }
        } else {
            call.transferredTo = call.transferredTo ?? leg.partyNumber
            calls[key] = call
            if let number = leg.kind.extensionNumber {
                extensionState(number, .inUse, peer: nil, callId: call.callId, discriminator: "up" + leg.uniqueid, at: at, out: &out)
            }
        }
    }

    private func lockDirection(_ call: inout Call) {
        guard call.direction == nil else { return }
        let first = call.legs.first { $0.role != .callee } ?? call.legs.first
        switch first?.kind {
        case .trunk?: call.direction = .inbound
        case .extension?:
            let trunkCallee = call.legs.contains { leg in
                if leg.role == .callee, case .trunk = leg.kind { return true }
                return false
            }
            call.direction = trunkCallee ? .outbound : .internal
        default: call.direction = .inbound
        }
    }

    private mutating func finish(_ key: String, at: Timestamp, out: inout [CallEvent]) {
        guard var call = calls.removeValue(forKey: key) else { return }
        call.refreshNumbers(from: channels)
        pendingRecordings[key] = nil
        if !parents.isEmpty {
            let finished = parents.keys.filter { channels[$0] == nil && groupKey($0) == key }
            for child in finished { parents[child] = nil }
        }
        lockDirection(&call)
        if call.direction == .inbound, call.transferredTo == nil, let index = call.answeredLeg, case .trunk = call.legs[index].kind {
            call.transferredTo = call.legs[index].partyNumber.flatMap { settings.numberPlan.normalize($0, direction: .outbound) }
        }
        // Without a Hangup the real end is unknown; the last event heard is the one time the
        // call is known to have still been there, and keeps durations from growing by the
        // hours the sweep waited.
        let endedAt = call.lostHangup.map { max($0.lastSeen, call.answeredAt ?? call.startedAt) } ?? at
        let view = CallView(call: call, numberPlan: settings.numberPlan)
        var event = callEvent(.callEnded, call: call, view: view, discriminator: "ended", at: at)
        event.disposition = call.lostHangup == nil ? Self.disposition(call) : Self.dispositionWithoutHangup(call)
        event.detail = call.lostHangup?.reason
        event.startedAt = call.startedAt
        event.answeredAt = call.answeredAt
        event.endedAt = endedAt
        event.ringSec = call.startedAt.seconds(until: call.answeredAt ?? endedAt)
        event.durationSec = call.answeredAt.map { $0.seconds(until: endedAt) } ?? 0
        event.answeredBy = call.answeredLeg.flatMap { call.legs[$0].kind.extensionNumber }
        event.transferredTo = call.transferredTo
        event.extensions = call.legs.filter { $0.role == .callee && $0.rang }.compactMap(\.kind.extensionNumber)
        if event.extensions?.isEmpty == true { event.extensions = nil }
        if let path = call.recording?.path(root: settings.recordingPath) {
            event.recording = RecordingLink(ref: path)
            out.append(event)
            out.append(AMIRecordings.availableEvent(systemKey: settings.systemKey, callId: call.callId, line: event.line,
                                                    startedAt: call.answeredAt ?? call.startedAt, durationSec: event.durationSec,
                                                    path: path, at: at))
        } else {
            out.append(event)
            if settings.recordingEnabled, settings.searchRecordingsByUniqueid, call.answeredLeg != nil {
                recordingSearches.append(AMIRecordingSearch(
                    systemKey: settings.systemKey, callId: call.callId, line: event.line,
                    startedAt: call.answeredAt ?? call.startedAt, durationSec: event.durationSec ?? 0, endedAt: endedAt,
                    candidates: AMIRecordings.candidates(uniqueids: [call.key] + call.legs.map(\.uniqueid), at: call.startedAt,
                                                         root: settings.recordingPath)))
            }
        }
    }

    private static func disposition(_ call: Call) -> Disposition {
        if call.answeredLeg != nil { return .answered }
        if call.direction == .inbound { return .missed }
        let callees = call.legs.filter { $0.role == .callee }
        let statuses = Set(call.dialStatuses.map { $0.uppercased() })
        let causes = Set(callees.compactMap(\.cause))
        if statuses.contains("BUSY") || causes.contains(17) { return .busy }
        if statuses.contains("CHANUNAVAIL") || statuses.contains("CONGESTION") || !causes.isDisjoint(with: failureCauses) { return .failed }
        if statuses.contains("NOANSWER") || causes.contains(19) { return .noAnswer }
        if statuses.contains("CANCEL") { return .cancelled }
        if callees.isEmpty {
            if call.legs.first?.role == .originator, call.legs.first?.rang == true { return .noAnswer }
            return call.legs.first?.answered == true ? .answered : .failed
        }
        return .cancelled
    }

    /// A call closed because its Hangup never came: what was seen still holds (an answer
    /// happened; an inbound caller nobody answered still needs a call back); anything else
    /// did not complete as far as anyone can tell.
    private static func dispositionWithoutHangup(_ call: Call) -> Disposition {
        if call.answeredLeg != nil { return .answered }
        return call.direction == .inbound ? .missed : .failed
    }

    /// Q.850 causes that mean the call could not be placed (unallocated number, no route,
    /// out of order, congestion...), as opposed to busy (17) or no answer (18, 19).
    private static let failureCauses: Set<Int> = [1, 2, 3, 20, 21, 22, 27, 28, 34, 38, 41, 42, 44, 58, 66, 88, 102, 111, 127]

    private func callEvent(_ type: EventType, call: Call, view: CallView, discriminator: String, at: Timestamp) -> CallEvent {
        CallEvent(
            eventId: StableID.make(settings.systemKey, "ami", call.callId, type.rawValue, discriminator),
            type: type, systemKey: settings.systemKey, source: SourceName.ami.rawValue, at: at,
            callId: call.callId, direction: call.direction, from: view.from, to: view.to,
            fromRaw: view.fromRaw, toRaw: view.toRaw, extension: view.extension, line: view.line)
    }

    private mutating func extensionState(_ number: String, _ state: ExtensionState, peer: String?, callId: String?,
                                         discriminator: String, at: Timestamp, out: inout [CallEvent]) {
        let snapshot = ExtensionSnapshot(state: state, callId: callId)
        guard extensionStates[number] != snapshot else { return }
        extensionStates[number] = snapshot
        out.append(CallEvent(
            eventId: StableID.make(settings.systemKey, "ami", "extension.state", number, state.rawValue, callId ?? "", discriminator),
            type: .extensionState, systemKey: settings.systemKey, source: SourceName.ami.rawValue, at: at,
            callId: callId, extension: number, state: state.rawValue, peer: peer))
    }

    // MARK: - Helpers

    private func groupKey(_ uniqueid: String) -> String {
        if let linkedid = channels[uniqueid]?.linkedid { return linkedid }
        var current = uniqueid
        var steps = 0
        while let parent = parents[current], steps < 64 {
            current = parent
            steps += 1
        }
        return current
    }

    /// First link wins: a channel belongs to the call that created it; a later Link/Bridge
    /// between two calls (an attended transfer on 1.4 to 11) does not merge them.
    private mutating func link(child: String, to parent: String) {
        guard channels[child]?.linkedid == nil, parents[child] == nil, groupKey(parent) != child else { return }
        parents[child] = parent
    }

    static func numberInDialString(_ dialString: String?) -> String? {
        guard let dialString, !dialString.isEmpty else { return nil }
        var text = Substring(dialString)
        if let at = text.firstIndex(of: "@") {
            text = text[..<at]
        } else if let slash = text.lastIndex(of: "/") {
            text = text[text.index(after: slash)...]
        }
        if let comma = text.firstIndex(of: ",") { text = text[..<comma] }
        // A dial string's number part may be masked (`+31613925xxx`) or carry letters; it only
        // has to contain digits to be more useful than nothing.
        guard text.contains(where: { $0.isNumber }), !text.contains(where: { $0 == "/" || $0 == " " }) else { return nil }
        return String(text)
    }

    private static func channelState(_ message: AMIMessage) -> Int {
        if let number = message["channelstate"].flatMap({ Int($0) }) { return number }
        switch message["state"]?.lowercased() {
        case "down"?: return 0
        case "rsrvd"?: return 1
        case "offhook"?: return 2
        case "dialing"?: return 3
        case "ring"?: return ChannelState.ring
        case "ringing"?: return ChannelState.ringing
        case "up"?: return ChannelState.up
        case "busy"?: return 7
        default: return 0
        }
    }

    /// `HH:MM:SS`; nil for anything else, a negative part or more hours than a century has
    /// (a corrupt listing must not overflow the arithmetic that follows).
    private static func seconds(_ duration: String?) -> Int? {
        guard let parts = duration?.split(separator: ":"), parts.count == 3,
              let hours = Int(parts[0]), let minutes = Int(parts[1]), let seconds = Int(parts[2]),
              (0...876_000).contains(hours), (0..<60).contains(minutes), (0...60).contains(seconds) else { return nil }
        return hours * 3600 + minutes * 60 + seconds
    }

    /// A listing's `Seconds:`, kept to what `seconds(_:)` accepts for `Duration:`.
    private static func listedSeconds(_ text: String?) -> Int? {
        text.flatMap { Int($0) }.flatMap { (0...876_000 * 3600).contains($0) ? $0 : nil }
    }

    /// `Timestamp: 1409169929.412068` (timestampevents=yes) is when Asterisk raised the event;
    /// without it the arrival time is the best there is.
    private static func eventTime(_ message: AMIMessage, now: Timestamp) -> Timestamp {
        guard let text = message["timestamp"] else { return now }
        let parts = text.split(separator: ".", maxSplits: 1)
        guard let seconds = parts.first.flatMap({ Int64($0) }), Timestamp.plausibleEpochSeconds.contains(seconds) else { return now }
        var millis: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1].prefix(3)
            millis = Int64(fraction) ?? 0
            for _ in fraction.count..<3 { millis *= 10 }
        }
        return Timestamp(epochMillis: seconds * 1000 + millis, offsetSeconds: now.offsetSeconds)
    }
}

enum ChannelState {
    static let ring = 4
    static let ringing = 5
    static let up = 6
}

struct Channel: Sendable {
    var name: String
    var kind: AMIChannelKind
    var linkedid: String?
    var context = ""
    var state = 0
    /// The first real extension the channel was in: what a phone dialed, or a trunk's DID.
    var exten: String?
    var callerNumber: String?
    var dialedNumber: String?
    /// When an event last named this channel (arrival time): how a lost Hangup is noticed.
    var lastSeen: Timestamp

    init(name: String, kind: AMIChannelKind, lastSeen: Timestamp) {
        self.name = name
        self.kind = kind
        self.lastSeen = lastSeen
    }

    mutating func noteExten(_ value: String?) {
        guard exten == nil, let value = value.flatMap(Self.meaningfulExten) else { return }
        exten = value
    }

    mutating func noteCaller(_ value: String?) {
        guard callerNumber == nil, let value, !value.isEmpty, value != "<unknown>" else { return }
        callerNumber = value
    }

    static func meaningfulExten(_ value: String) -> String? {
        value.isEmpty || value == "s" || value == "h" || value == "onhangup" || value.hasPrefix("ID") ? nil : value
    }
}

struct Leg: Sendable {
    enum Role: Sendable {
        /// The party that dialed.
        case caller
        /// The first party of an originated call (click-to-call): rung by the PBX, then it "dials".
        case originator
        case callee
    }

    var channel: String
    var uniqueid: String
    var kind: AMIChannelKind
    var role: Role
    var rang = false
    var answered = false
    /// Joined by picking the call up: it answered without ever ringing.
    var pickedUp = false
    var ended = false
    var cause: Int?
    var callerNumber: String?
    var exten: String?
    var dialedNumber: String?

    /// Copies the channel's numbers, which outlive the channel itself (it may hang up first).
    mutating func note(_ channel: Channel) {
        callerNumber = channel.callerNumber ?? callerNumber
        exten = channel.exten ?? exten
        dialedNumber = channel.dialedNumber ?? dialedNumber
    }

    var partyNumber: String? {
        switch kind {
        case .extension(let number): number
        case .trunk: dialedNumber ?? exten ?? callerNumber
        case .plumbing: nil
        }
    }
}

struct Call: Sendable {
    var key: String
    var callId: String
    var startedAt: Timestamp
    var legs: [Leg] = []
    var direction: Direction?
    var answeredLeg: Int?
    var answeredAt: Timestamp?
    var dialStatuses: [String] = []
    var transferredTo: String?
    var recording: PendingRecording?
    /// Set when the call is closed without its Hangup having been seen.
    var lostHangup: LostHangup?

    init(key: String, callId: String, startedAt: Timestamp) {
        self.key = key
        self.callId = callId
        self.startedAt = startedAt
    }

    /// Numbers learned after a party joined (1.4's Newexten, a later Newstate) reach its leg.
    mutating func refreshNumbers(from channels: [String: Channel]) {
        for index in legs.indices where !legs[index].ended {
            if let channel = channels[legs[index].uniqueid] { legs[index].note(channel) }
        }
    }

    func legIndex(_ channel: Substring) -> Int? {
        legs.firstIndex { $0.channel == channel }
    }
}

struct PendingRecording: Sendable {
    var mixMonitorFile: String?
    var callFilename: String?
    var recordingFile: String?
    var monitorFormat: String?

    func path(root: String) -> String? {
        if let file = mixMonitorFile { return AMIRecordings.path(forFileName: file, root: root) }
        if let file = recordingFile { return AMIRecordings.path(forFileName: file, root: root) }
        if let name = callFilename {
            return AMIRecordings.path(forFileName: name + "." + AMIRecordings.fileExtension(monitorFormat: monitorFormat), root: root)
        }
        return nil
    }
}

/// Why a call is closed without a Hangup, and the last time any of its channels was heard of.
struct LostHangup: Sendable {
    var reason: String
    var lastSeen: Timestamp
}

struct MasqueradedParty: Sendable {
    var kind: AMIChannelKind
    var uniqueid: String
}

struct ExtensionSnapshot: Hashable, Sendable {
    var state: ExtensionState
    var callId: String?
}

/// The EVENTS.md number fields of a call, worked out from its parties.
struct CallView {
    var from: String?
    var to: String?
    var fromRaw: String?
    var toRaw: String?
    var `extension`: String?
    var line: String?

    init(call: Call, numberPlan: NumberPlan) {
        let first = call.legs.first { $0.role != .callee }
        let firstChannel = first
        let callees = call.legs.filter { $0.role == .callee }
        let answered = call.answeredLeg.map { call.legs[$0] }
        let rungExtension = (answered?.kind.extensionNumber).map { _ in answered } ?? callees.first { $0.rang && $0.kind.extensionNumber != nil }
        let trunkCallee = callees.first { if case .trunk = $0.kind { return true } else { return false } }
        switch call.direction ?? .inbound {
        case .inbound:
            fromRaw = firstChannel?.callerNumber
            if let number = rungExtension?.kind.extensionNumber {
                toRaw = number
                to = number
            } else {
                toRaw = firstChannel?.exten
                to = toRaw.flatMap { numberPlan.normalize($0, direction: .inbound) }
            }
            from = fromRaw.flatMap { numberPlan.normalize($0, direction: .inbound) }
            `extension` = rungExtension?.kind.extensionNumber
            if case .trunk(let peer) = first?.kind { line = peer }
        case .outbound:
            fromRaw = first?.kind.extensionNumber
            from = fromRaw
            let trunkChannel = trunkCallee
            // Not the trunk leg's caller ID: on a dialed channel that is our own number.
            toRaw = (first?.role == .caller ? firstChannel?.exten : nil) ?? trunkChannel?.dialedNumber ?? trunkChannel?.exten
            to = toRaw.flatMap { numberPlan.normalize($0, direction: .outbound) }
            `extension` = first?.kind.extensionNumber
            if case .trunk(let peer) = trunkCallee?.kind { line = peer }
        case .internal:
            fromRaw = first?.kind.extensionNumber
            from = fromRaw
            toRaw = rungExtension?.kind.extensionNumber ?? (first?.role == .caller ? firstChannel?.exten : nil)
            to = toRaw.flatMap { numberPlan.normalize($0, direction: .internal) }
            `extension` = first?.kind.extensionNumber
        }
    }
}
