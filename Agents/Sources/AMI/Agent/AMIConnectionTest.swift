import AMIProtocol
import Foundation
import TamasEvents

/// The settings page's "test connection" (SPEC.md section 4) and `tamas-agent ami test`: is the
/// login accepted, which Asterisk answers, how many extensions it has, and which permission is
/// missing when something is refused.
struct AMIConnectionTest {
    struct Report: Sendable {
        var ok: Bool
        var lines: [String]
        var text: String { lines.joined(separator: "\n") }
    }

    let client: AMIClient

    func run(loginTimeout: Duration) async -> Report {
        let settings = client.settings.ami
        let status = await client.waitForLogin(timeout: loginTimeout)
        let target = "\(settings.host):\(settings.port) as \(settings.username)"
        switch status {
        case .connected(let dialect):
            var lines = ["login: accepted (\(target), \(settings.authentication.rawValue))", "dialect: AMI \(dialect.rawValue)"]
            var ok = true
            let version = await client.perform(AMIActions.command("core show version"), timeout: .seconds(10))
            if version.success {
                lines.append("version: \(version.output.first { !$0.isEmpty } ?? "(empty answer)")")
            } else {
                ok = false
                lines.append("version: refused (\(version.message ?? "no reason")): the AMI user needs the 'command' write class in manager.conf")
            }
            let count = await extensionCount(dialect: dialect)
            switch count {
            case .success(let count): lines.append("extensions: \(count)")
            case .failure(let problem):
                ok = false
                lines.append("extensions: unknown (\(problem.description))")
            }
            if let last = await client.lastEventAt {
                lines.append("last AMI event: \(last.iso8601)")
            } else {
                lines.append("last AMI event: none yet (normal on an idle system; if calls are going on, check the 'call' read class and eventMask)")
            }
            return Report(ok: ok, lines: lines)
        case .loginRejected(let reason):
            return Report(ok: false, lines: ["login: refused by \(target): \(reason)",
                                             "check username and secret in manager.conf and that its permit/deny lines allow this address"])
        case .linkLost(let reason):
            return Report(ok: false, lines: ["connection: failed (\(reason))", "check host, port (5038) and that manager.conf has enabled = yes"])
        case .permissionMissing(let action, let reason):
            return Report(ok: false, lines: ["login: accepted, but \(action) was refused (\(reason)): Asterisk allows actions by the user's "
                                             + "write classes; add system,reporting (1.4: system,call) to its write line in manager.conf"])
        case .awaitingBanner, .authenticating:
            return Report(ok: false, lines: ["connection: no banner or login answer from \(target) in time (is this an AMI port?)"])
        }
    }

    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// Phones are counted from the peer listings, filtered by the extension rules so trunks are left out.
    private func extensionCount(dialect: AMIDialect) async -> Result<Int, Problem> {
        let settings = client.settings.ami
        let classifier = AMIChannelClassifier(rules: settings.channelRules)
        var listings: [AMIAction] = []
        if settings.channelTechnology != .pjsip { listings.append(AMIActions.sipPeers()) }
        if settings.channelTechnology != .sip, dialect >= .v13plus { listings.append(AMIActions.pjsipShowEndpoints()) }
        var names = Set<String>()
        var refusals: [String] = []
        for listing in listings {
            let result = await client.perform(listing, timeout: .seconds(15))
            guard result.success else {
                refusals.append("\(listing.name): \(result.message ?? "refused")")
                continue
            }
            for entry in result.listEvents {
                if let name = entry["objectname"], classifier.isExtensionNumber(name) { names.insert(name) }
            }
        }
        if names.isEmpty, !refusals.isEmpty, refusals.count == listings.count {
            return .failure(Problem(description: refusals.joined(separator: "; ")
                + "; the AMI user needs the 'system' write class (or 'reporting' for SIPpeers from 1.6 on)"))
        }
        return .success(names.count)
    }
}
