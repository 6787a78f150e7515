import Crypto
import TamasEvents

/// A value that would break AMI framing if sent.
public struct AMIActionError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
}

/// One AMI action: its name and headers in the order they are written. `ActionID` is added
/// by the client when sending, so the same action value can be retried.
public struct AMIAction: Hashable, Sendable {
    public var name: String
    public var headers: [AMIHeader]

    public init(_ name: String, _ headers: [AMIHeader] = []) {
        self.name = name
        self.headers = headers
    }

    /// The exact bytes: `Action`, then `ActionID`, then the headers, CRLF-terminated, blank line at the end.
    ///
    /// A CR or LF inside a value would let it inject a second action (a click-to-call number
    /// coming from a CRM is not trusted), so such a value is refused rather than cleaned.
    public func encoded(actionID: String) throws(AMIActionError) -> [UInt8] {
        var text = "Action: \(name)\r\nActionID: \(actionID)\r\n"
        for header in headers {
            guard !header.value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }),
                  !header.key.contains(where: { $0 == "\r" || $0 == "\n" || $0 == ":" || $0 == "\r\n" }) else {
                throw AMIActionError(description: "\(name): header \(header.key) contains a line break")
            }
            text += "\(header.key): \(header.value)\r\n"
        }
        text += "\r\n"
        return Array(text.utf8)
    }
}

public struct AMIHeader: Hashable, Sendable {
    public var key: String
    public var value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

/// The actions the agent sends, built from settings rather than typed by users.
public enum AMIActions {
    public static func login(username: String, secret: String, events: String) -> AMIAction {
        AMIAction("Login", [.init("Username", username), .init("Secret", secret), .init("Events", events)])
    }

    public static func challenge() -> AMIAction {
        AMIAction("Challenge", [.init("AuthType", "MD5")])
    }

    public static func md5Login(username: String, secret: String, challenge: String, events: String) -> AMIAction {
        AMIAction("Login", [
            .init("AuthType", "MD5"), .init("Username", username),
            .init("Key", md5Key(challenge: challenge, secret: secret)), .init("Events", events),
        ])
    }

    /// FACTS.md section 1: `Key: md5hex(challenge + secret)`.
    public static func md5Key(challenge: String, secret: String) -> String {
        let digest = Insecure.MD5.hash(data: Array((challenge + secret).utf8))
        return digest.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    public static func ping() -> AMIAction { AMIAction("Ping") }
    public static func logoff() -> AMIAction { AMIAction("Logoff") }
    public static func command(_ command: String) -> AMIAction { AMIAction("Command", [.init("Command", command)]) }
    public static func coreShowChannels() -> AMIAction { AMIAction("CoreShowChannels") }
    public static func status() -> AMIAction { AMIAction("Status") }
    public static func extensionStateList() -> AMIAction { AMIAction("ExtensionStateList") }
    public static func sipPeers() -> AMIAction { AMIAction("SIPpeers") }
    public static func pjsipShowEndpoints() -> AMIAction { AMIAction("PJSIPShowEndpoints") }
    /// Needs no class itself, so it answers for any user; see `AMIPermittedActions`.
    public static func listCommands() -> AMIAction { AMIAction("ListCommands") }

    /// What to ask after login (and after FullyBooted/Reload) so calls and extension states in
    /// progress are known. Each list exists only from the version FACTS.md section 3 gives.
    public static func resync(dialect: AMIDialect, technology: AMIChannelTechnology) -> [AMIAction] {
        var actions: [AMIAction] = [dialect >= .v1_8 ? coreShowChannels() : status()]
        if dialect >= .v13plus { actions.append(extensionStateList()) }
        switch technology {
        case .sip: actions.append(sipPeers())
        case .pjsip where dialect >= .v13plus: actions.append(pjsipShowEndpoints())
        case .pjsip, .iax2: break
        case .auto:
            actions.append(sipPeers())
            if dialect >= .v13plus { actions.append(pjsipShowEndpoints()) }
        }
        return actions
    }
}

/// Click-to-call: ring the user's phone first, and when it is picked up dial the customer.
public struct AMIClickToCall: Hashable, Sendable {
    public var userExtension: String
    /// As the CRM has it: national (`09121234567`), E.164 (`+989121234567`) or an extension.
    public var number: String
    public var technology: AMIChannelTechnology
    public var context: String
    public var timeoutSeconds: Int
    public var numberPlan: NumberPlan
    public var channel: AMIOriginateChannel
    /// The header that asks the phone to answer by itself; nil rings it as usual.
    public var autoAnswerHeader: String?

    public init(userExtension: String, number: String, technology: AMIChannelTechnology, context: String = "from-internal",
                timeoutSeconds: Int = 30, numberPlan: NumberPlan, channel: AMIOriginateChannel = .device,
                autoAnswerHeader: String? = nil) {
        self.userExtension = userExtension
        self.number = number
        self.technology = technology
        self.context = context
        self.timeoutSeconds = timeoutSeconds
        self.numberPlan = numberPlan
        self.channel = channel
        self.autoAnswerHeader = autoAnswerHeader
    }

    /// The digits the PBX must dial: national form, release code in front for outside numbers.
    public var dialedDigits: String {
        let digits = nationalNumber.filter { $0.isNumber || $0 == "*" || $0 == "#" }
        guard digits.count > numberPlan.maxExtensionLength else { return digits }
        return numberPlan.releaseCode + digits
    }

    /// `Async: true` so the outcome comes back as `OriginateResponse` instead of blocking the
    /// action queue.
    public func action(technologyFallback: AMIChannelTechnology) throws(AMIActionError) -> AMIAction {
        let technology = resolvedTechnology(technologyFallback)
        var headers: [AMIHeader] = [
            .init("Channel", channel == .local ? "Local/\(userExtension)@\(context)" : "\(technology.rawValue)/\(userExtension)"),
            .init("Context", context),
            .init("Exten", dialedDigits),
            .init("Priority", "1"),
            .init("CallerID", callerID),
            .init("Timeout", String(timeoutSeconds * 1000)),
            .init("Async", "true"),
        ]
        if let autoAnswerHeader {
            // The originated Local channel is also the one that dials the customer: a variable
            // that reaches the phone through the dialplan is inherited by the trunk leg too.
            guard channel == .device else {
                throw AMIActionError(description: "auto-answer needs originateChannel: device; " + AMIAutoAnswer.notThroughLocal)
            }
            headers += try AMIAutoAnswer.variables(autoAnswerHeader, technology: technology, userExtension: userExtension)
        }
        return AMIAction("Originate", headers)
    }

    /// `"<customer, national form>" <user extension>`: the user's phone shows whom it is about
    /// to call as the name, while the number stays the extension. The dialplan runs with the
    /// originated channel's CALLERID(num) and the trunk leg inherits it; with the customer's
    /// number there the provider refuses the call, the CDR source equals the destination and
    /// recording policies miss the extension (PAINPOINTS 29 and 31, docs/asterisk.md "Actions").
    private var callerID: String { "\"\(nationalNumber)\" <\(userExtension)>" }

    /// The customer's number as a CRM user in this country types it (`09121234567`).
    private var nationalNumber: String {
        numberPlan.national(number.hasPrefix("+") ? "+" + number.filter(\.isNumber) : number.filter(\.isNumber))
    }

    private func resolvedTechnology(_ fallback: AMIChannelTechnology) -> AMIChannelTechnology {
        technology == .auto ? (fallback == .auto ? .sip : fallback) : technology
    }
}

/// Asking the user's phone to answer a click-to-call by itself (PAINPOINTS goal 6). No SIP
/// standard is common to phones: `Call-Info: <uri>;answer-after=0` is what most of them read
/// (Grandstream, Yealink, Gigaset), Polycom reads `Alert-Info: Ring Answer`, so the header is a
/// setting. It reaches the phone as a variable on the originated channel, read when the INVITE
/// to the phone is built: `SIPADDHEADER<n>` by chan_sip, `PJSIP_HEADER(add,<name>)` by chan_pjsip.
public enum AMIAutoAnswer {
    public static let defaultHeader = "Call-Info: <sip:127.0.0.1>;answer-after=0"
    public static let notThroughLocal = "through Local/ the header would also go to the customer's trunk"

    /// Why `header` cannot be sent, or nil. Asterisk splits Originate's `Variable:` at commas and
    /// drops quotes and backslashes, so a header holding them would arrive mangled.
    public static func problem(_ header: String) -> String? {
        guard let colon = header.firstIndex(of: ":") else { return "'\(header)' is not 'Name: value'" }
        let name = header[..<colon]
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            return "'\(name)' is not a SIP header name"
        }
        guard header[header.index(after: colon)...].contains(where: { $0 != " " }) else { return "'\(header)' has no value" }
        if let bad = header.first(where: { ",|\"\\\r\n".contains($0) }) {
            return "'\(header)' holds '\(bad)', which Asterisk's Originate variables cannot carry"
        }
        return nil
    }

    /// The Originate variables that put `header` into the INVITE sent to the user's phone. The
    /// `;` before a parameter is escaped as MikoPBX's and PhoneSuite's AMI examples escape it.
    static func variables(_ header: String, technology: AMIChannelTechnology,
                          userExtension: String) throws(AMIActionError) -> [AMIHeader] {
        let escaped = header.replacing(";", with: "\\;")
        guard problem(header) == nil, let colon = escaped.firstIndex(of: ":") else {
            throw AMIActionError(description: "autoAnswerHeader: \(problem(header) ?? header)")
        }
        switch technology {
        case .sip:
            return [AMIHeader("Variable", "SIPADDHEADER51=\(escaped)")]
        case .pjsip:
            let value = escaped[escaped.index(after: colon)...].drop(while: { $0 == " " })
            return [AMIHeader("Variable", "PJSIP_HEADER(add,\(escaped[..<colon]))=\(value)")]
        case .iax2, .auto:
            throw AMIActionError(description: "auto-answer is a SIP header; \(technology.rawValue)/\(userExtension) cannot carry it")
        }
    }
}

/// Listen to, whisper to, or barge into a live call from a supervisor's phone.
public enum AMISpyMode: String, Codable, Sendable, CaseIterable {
    /// Listen only: `q` (no beep, no name announced), and no talk option.
    case spy
    /// Speak to the spied extension only: `w`.
    case whisper
    /// Speak to both parties: `B` (1.8 and later; 1.4's ChanSpy has no barge).
    case barge
}

public struct AMISpy: Hashable, Sendable {
    public var mode: AMISpyMode
    public var supervisorExtension: String
    public var targetExtension: String
    public var technology: AMIChannelTechnology

    public init(mode: AMISpyMode, supervisorExtension: String, targetExtension: String, technology: AMIChannelTechnology) {
        self.mode = mode
        self.supervisorExtension = supervisorExtension
        self.targetExtension = targetExtension
        self.technology = technology
    }

    /// ChanSpy options per FACTS.md section 3. `E` (leave when the spied call ends) exists from
    /// 1.8, so the supervisor's phone does not stay in ChanSpy scanning for the next call.
    public func options(dialect: AMIDialect) throws(AMIActionError) -> String {
        let exit = dialect >= .v1_8 ? "E" : ""
        switch mode {
        case .spy: return "q" + exit
        case .whisper: return "qw" + exit
        case .barge:
            guard dialect >= .v1_8 else { throw AMIActionError(description: "barge needs ChanSpy option B, which Asterisk 1.4 does not have") }
            return "qB" + exit
        }
    }

    /// Originate to the supervisor's phone running `ChanSpy(<TECH>/<ext>-,<options>)`. The
    /// trailing `-` matters: ChanSpy matches a channel-name prefix, and `SIP/201` alone would
    /// also spy on `SIP/2010`. With `auto`, each phone gets its own fallback: on a box running
    /// chan_sip and PJSIP side by side the supervisor and the target may use different drivers.
    public func action(dialect: AMIDialect, supervisorTechnologyFallback: AMIChannelTechnology,
                       targetTechnologyFallback: AMIChannelTechnology) throws(AMIActionError) -> AMIAction {
        func resolved(_ fallback: AMIChannelTechnology) -> String {
            (technology == .auto ? (fallback == .auto ? .sip : fallback) : technology).rawValue
        }
        return AMIAction("Originate", [
            .init("Channel", "\(resolved(supervisorTechnologyFallback))/\(supervisorExtension)"),
            .init("Application", "ChanSpy"),
            .init("Data", "\(resolved(targetTechnologyFallback))/\(targetExtension)-,\(try options(dialect: dialect))"),
            .init("CallerID", "\"\(mode.rawValue) \(targetExtension)\" <\(targetExtension)>"),
            .init("Async", "true"),
        ])
    }
}

/// The text lines of a Command answer in either form FACTS.md section 1 describes.
public enum AMICommandOutput {
    public static func lines(of message: AMIMessage) -> [String] {
        if !message.followsOutput.isEmpty || message.value("response", is: "Follows") { return message.followsOutput }
        return message.values("output")
    }
}

/// The answer to ListCommands: one `<Action>: <synopsis> (Priv: <classes>)` header for each
/// action the user may run (manager.c lists an action when the user's write classes allow it,
/// the same test that answers `Permission denied`), so an action can be checked without running
/// it (an Originate would ring a phone).
public enum AMIPermittedActions {
    /// The permitted action names, lower-cased.
    public static func names(in headers: [AMIHeader]) -> Set<String> {
        Set(headers.filter { $0.value.hasSuffix(")") && $0.value.contains("(Priv: ") }.map { $0.key.lowercased() })
    }
}
