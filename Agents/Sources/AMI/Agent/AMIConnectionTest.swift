import AMIProtocol
import Foundation
import TamasEvents

/// The settings page's "test connection" (SPEC.md section 4) and `tamas-agent ami test`: is the
/// login accepted, which Asterisk answers, how many extensions it has, and what this AMI user
/// can and cannot do. An AMI user with only the read classes for call logs is a legitimate
/// setup, so an action Asterisk refuses makes a capability unavailable, named with the class
/// that would enable it, and fails the test only when Asterisk did not answer at all.
struct AMIConnectionTest {
    struct Report: Sendable {
        var ok: Bool
        var lines: [String]
        var text: String { lines.joined(separator: "\n") }
    }

    /// Something the AMI user cannot do, and what would change that.
    struct Unavailable {
        var capability: String
        var remedy: String
    }

    let client: AMIClient

    func run(loginTimeout: Duration) async -> Report {
        let settings = client.settings.ami
        let status = await client.waitForLogin(timeout: loginTimeout)
        let target = "\(settings.host):\(settings.port) as \(settings.username)"
        switch status {
        case .connected(let dialect):
            return await capabilities(dialect: dialect, login: "login: accepted (\(target), \(settings.authentication.rawValue))")
        case .loginRejected(let reason):
            return Report(ok: false, lines: ["login: refused by \(target): \(reason)",
                                             "check username and secret in manager.conf and that its permit/deny lines allow this address"])
        case .linkLost(let reason):
            return Report(ok: false, lines: ["connection: failed (\(reason))", "check host, port (5038) and that manager.conf has enabled = yes"])
        case .awaitingBanner, .authenticating:
            return Report(ok: false, lines: ["connection: no banner or login answer from \(target) in time (is this an AMI port?)"])
        }
    }

    private func capabilities(dialect: AMIDialect, login: String) async -> Report {
        var lines = [login, "dialect: AMI \(dialect.rawValue)"]
        var ok = true
        var unavailable: [Unavailable] = []

        let version = await client.perform(AMIActions.command("core show version"), timeout: .seconds(10))
        if version.success {
            lines.append("version: \(version.output.first { !$0.isEmpty } ?? "(empty answer)")")
        } else if let refusal = version.refusal {
            lines.append("version: unavailable: \(refusal.detail)")
            unavailable.append(Unavailable(capability: "Asterisk version line", remedy: remedy([refusal])))
        } else {
            ok = false
            lines.append("version: no answer (\(version.message ?? "no reason"))")
        }

        let count = await extensionCount(dialect: dialect)
        lines.append(count.line)
        if count.noAnswer { ok = false }
        if !count.refusals.isEmpty, count.count == nil {
            unavailable.append(Unavailable(capability: "extension count", remedy: remedy(count.refusals)))
        }

        let originate = await originateCheck(dialect: dialect)
        lines.append(originate.line)
        if originate.noAnswer { ok = false }
        if let missing = originate.unavailable { unavailable.append(missing) }

        // The resync went out before the test's own actions, so its answers are in by now.
        let resyncRefusals = await client.resyncRefusals
        for refusal in resyncRefusals { lines.append("resync: \(refusal.detail)") }
        if !resyncRefusals.isEmpty {
            unavailable.append(Unavailable(capability: "resync of calls and extension states after login ("
                                           + resyncRefusals.map(\.action).joined(separator: ", ") + ")", remedy: remedy(resyncRefusals)))
        }

        if let last = await client.lastEventAt {
            lines.append("last AMI event: \(last.iso8601)")
        } else {
            lines.append("last AMI event: none yet (normal on an idle system; if calls are going on, check the 'call' read class and eventMask)")
        }
        if ok, !unavailable.isEmpty {
            lines.append("unavailable with this AMI user (call logs work without them):")
            lines += unavailable.map { "  - \($0.capability): \($0.remedy)" }
        }
        return Report(ok: ok, lines: lines)
    }

    /// The manager.conf write classes that would lift permission refusals, or why none would.
    private func remedy(_ refusals: [AMIRefusal]) -> String {
        var classes: [String] = []
        for refusal in refusals where refusal.kind == .permissionDenied {
            if let needed = AMIWriteClass.needed(for: refusal.action, dialect: refusal.dialect), !classes.contains(needed) {
                classes.append(needed)
            }
        }
        if !classes.isEmpty { return "add the write class " + classes.map { "'\($0)'" }.joined(separator: " or ") + " in manager.conf" }
        if refusals.contains(where: { $0.kind == .permissionDenied }) { return "a write class in manager.conf" }
        if refusals.contains(where: { $0.kind == .unknownAction }) { return "not supported by this Asterisk" }
        return "refused by Asterisk: " + refusals.map(\.message).joined(separator: "; ")
    }

    private struct ExtensionCount {
        var line: String
        var count: Int?
        var refusals: [AMIRefusal]
        var noAnswer: Bool
    }

    /// Phones are counted from the peer listings, filtered by the extension rules so trunks are left out.
    private func extensionCount(dialect: AMIDialect) async -> ExtensionCount {
        let settings = client.settings.ami
        let classifier = AMIChannelClassifier(rules: settings.channelRules)
        var listings: [AMIAction] = []
        if settings.channelTechnology != .pjsip { listings.append(AMIActions.sipPeers()) }
        if settings.channelTechnology != .sip, dialect >= .v13plus { listings.append(AMIActions.pjsipShowEndpoints()) }
        var names = Set<String>()
        var listed = 0
        var refusals: [AMIRefusal] = []
        var unanswered: [String] = []
        for listing in listings {
            let result = await client.perform(listing, timeout: .seconds(15))
            if result.success {
                listed += 1
                for entry in result.listEvents {
                    if let name = entry["objectname"], classifier.isExtensionNumber(name) { names.insert(name) }
                }
            } else if let refusal = result.refusal {
                refusals.append(refusal)
            } else {
                unanswered.append("\(listing.name): \(result.message ?? "no answer")")
            }
        }
        if !unanswered.isEmpty {
            return ExtensionCount(line: "extensions: no answer (\(unanswered.joined(separator: "; ")))", count: nil, refusals: refusals, noAnswer: true)
        }
        guard listed > 0 || refusals.isEmpty else {
            return ExtensionCount(line: "extensions: unavailable: " + refusals.map(\.detail).joined(separator: "; "),
                                  count: nil, refusals: refusals, noAnswer: false)
        }
        let notCounted = refusals.isEmpty ? "" : " (not counted: " + refusals.map(\.detail).joined(separator: "; ") + ")"
        return ExtensionCount(line: "extensions: \(names.count)\(notCounted)", count: names.count, refusals: refusals, noAnswer: false)
    }

    /// Originate cannot be tried without ringing a phone, so ListCommands tells whether this
    /// user may run it.
    private func originateCheck(dialect: AMIDialect) async -> (line: String, unavailable: Unavailable?, noAnswer: Bool) {
        let capability = "click-to-call and spy/whisper/barge"
        let answer = await client.perform(AMIActions.listCommands(), timeout: .seconds(10))
        guard answer.success else {
            if let refusal = answer.refusal { return ("\(capability): not checked (\(refusal.detail))", nil, false) }
            return ("\(capability): not checked (ListCommands: \(answer.message ?? "no answer"))", nil, true)
        }
        if AMIPermittedActions.names(in: answer.headers).contains("originate") {
            let settings = client.settings.ami
            let rings = settings.originateChannel == .local
                ? "every phone of the user, through Local/<ext>@\(settings.originateContext)" : "the extension's own phone"
            let autoAnswer = settings.originateAutoAnswer ? "asked with '\(settings.autoAnswerHeader)'" : "only when a request asks"
            return ("\(capability): allowed (Originate); click-to-call rings \(rings), auto-answer \(autoAnswer)", nil, false)
        }
        let needed = AMIWriteClass.needed(for: "Originate", dialect: dialect) ?? "originate"
        return ("\(capability): unavailable: this AMI user may not run Originate; add '\(needed)' to its write line in manager.conf",
                Unavailable(capability: capability, remedy: "add the write class '\(needed)' in manager.conf"), false)
    }
}
