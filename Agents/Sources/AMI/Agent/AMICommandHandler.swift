import AMIProtocol
import AgentCLI
import AgentCore
import Foundation
import Logging
import TamasEvents
import TamasLink

/// What the collector can ask of an Asterisk agent over the link:
/// - `originate` {from, to, autoAnswer?}: click-to-call; rings `from`, then dials `to`. Answers with the outcome.
/// - `spy` {supervisor, target, mode: listen|whisper|barge, requestedBy?}: audited.
/// - `ami-command` {command}: ADMIN ONLY, runs an Asterisk CLI command (`core show channels`).
/// - `test`: login, version, extension count.
struct AMICommandHandler: CommandHandler {
    let client: AMIClient
    let audit: SpyAuditLog
    let logger: Logger

    var commandNames: Set<String> { ["originate", "spy", "ami-command", "test"] }

    func handle(_ command: Command, replies: CommandReplies) async -> CommandResult {
        do {
            switch command.name {
            case "originate": return try await originate(command)
            case "spy": return try await spy(command)
            case "ami-command": return try await amiCommand(command)
            default:
                let report = await AMIConnectionTest(client: client).run(loginTimeout: .seconds(5))
                return CommandResult(id: command.id, ok: report.ok, output: report.text, error: report.ok ? nil : report.lines.first)
            }
        } catch let problem as ArgumentProblem {
            return CommandResult(id: command.id, ok: false, error: problem.description)
        } catch {
            return CommandResult(id: command.id, ok: false, error: "\(error)")
        }
    }

    struct ArgumentProblem: Error, CustomStringConvertible {
        var description: String
    }

    private func argument(_ name: String, of command: Command) throws -> String {
        guard let value = command.arguments[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
            throw ArgumentProblem(description: "\(command.name): argument '\(name)' is required")
        }
        return value
    }

    private func extensionArgument(_ name: String, of command: Command) throws -> String {
        let value = try argument(name, of: command)
        guard value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
            throw ArgumentProblem(description: "\(command.name): '\(name)' must be an extension (letters, digits, - or _), not '\(value)'")
        }
        return value
    }

    private func originate(_ command: Command) async throws -> CommandResult {
        let from = try extensionArgument("from", of: command)
        let to = try argument("to", of: command)
        guard to.contains(where: \.isNumber), to.allSatisfy({ $0.isNumber || " +-()*#".contains($0) }) else {
            throw ArgumentProblem(description: "originate: 'to' must be a telephone number, not '\(to)'")
        }
        let autoAnswer: Bool?
        switch command.arguments["autoAnswer"] {
        case nil: autoAnswer = nil
        case "true": autoAnswer = true
        case "false": autoAnswer = false
        case let other?: throw ArgumentProblem(description: "originate: 'autoAnswer' must be true or false, not '\(other)'")
        }
        let action: AMIAction
        do {
            action = try await client.clickToCall(from: from, to: to, autoAnswer: autoAnswer)
        } catch {
            return CommandResult(id: command.id, ok: false, error: "originate: \(error.description)")
        }
        let timeout = Duration.seconds(client.settings.ami.originateTimeoutSeconds + 15)
        let outcome = OriginateOutcome(await client.perform(action, timeout: timeout))
        logger.notice("click-to-call", metadata: ["from": "\(from)", "to": "\(to)", "outcome": "\(outcome.word)"])
        return CommandResult(id: command.id, ok: outcome.word == "success", output: outcome.word,
                             error: outcome.word == "success" ? nil : outcome.explanation)
    }

    private func spy(_ command: Command) async throws -> CommandResult {
        let supervisor = try extensionArgument("supervisor", of: command)
        let target = try extensionArgument("target", of: command)
        let modeName = command.arguments["mode"] ?? "listen"
        let mode: AMISpyMode
        switch modeName {
        case "listen", "spy": mode = .spy
        case "whisper": mode = .whisper
        case "barge": mode = .barge
        default: throw ArgumentProblem(description: "spy: mode must be listen, whisper or barge, not '\(modeName)'")
        }
        let requestedBy = command.arguments["requestedBy"]
        let result: CommandResult
        do {
            let action = try await client.spy(mode, supervisor: supervisor, target: target)
            let answer = await client.perform(action, timeout: .seconds(client.settings.ami.originateTimeoutSeconds + 15))
            let outcome = OriginateOutcome(answer)
            result = CommandResult(id: command.id, ok: outcome.word == "success", output: outcome.word,
                                   error: outcome.word == "success" ? nil : outcome.explanation)
        } catch {
            result = CommandResult(id: command.id, ok: false, error: "spy: \(error.description)")
        }
        await audit.record(SpyAuditLog.Entry(
            at: .now(), mode: modeName == "spy" ? "listen" : modeName, supervisor: supervisor, target: target,
            requestedBy: requestedBy, outcome: result.ok ? "success" : (result.error ?? "failed")))
        return result
    }

    private func amiCommand(_ command: Command) async throws -> CommandResult {
        let text = try argument("command", of: command)
        let result = await client.perform(AMIActions.command(text), timeout: .seconds(30))
        logger.notice("ami-command", metadata: ["command": "\(text)", "ok": "\(result.success)"])
        guard result.success else {
            return CommandResult(id: command.id, ok: false, output: result.output.joined(separator: "\n"),
                                 error: "Asterisk refused '\(text)': \(result.refusal?.detail ?? result.message ?? "no answer")")
        }
        return CommandResult(id: command.id, ok: true, output: result.output.joined(separator: "\n"))
    }
}

/// The four outcomes a user understands, from OriginateResponse's `Reason` (Asterisk's control
/// frame numbers: 4 answered, 5 busy, 1 hung up while ringing, 3 rang out, 8 congestion, 0 the
/// channel could not be created: an unregistered, unreachable or unknown phone).
struct OriginateOutcome {
    var word: String
    var explanation: String

    init(_ result: AMIAnswer) {
        let reason = result.message.flatMap { message in
            message.hasPrefix("reason ") ? Int(message.dropFirst("reason ".count)) : nil
        }
        switch (result.success, reason) {
        case (true, _):
            word = "success"
            explanation = "the phone answered and the number is being dialed"
        case (false, 5?):
            word = "busy"
            explanation = "busy: the phone is busy (OriginateResponse Reason 5)"
        case (false, 1?), (false, 3?):
            word = "no answer"
            explanation = "no answer: the phone was not picked up (OriginateResponse Reason \(reason ?? 0))"
        case (false, 0?):
            word = "failure"
            explanation = "failure: Asterisk could not ring the phone: it is not registered, unreachable or does not exist (OriginateResponse Reason 0)"
        case (false, let code?):
            word = "failure"
            explanation = "failure: Asterisk could not ring the phone (OriginateResponse Reason \(code))"
        case (false, nil):
            word = "failure"
            explanation = "failure: \(result.message ?? "refused by Asterisk")"
        }
    }
}

/// Listening in on a call is sensitive: every spy/whisper/barge request leaves one JSON line
/// (who, on whom, when, for whom, what came of it) in an append-only file and in the log.
actor SpyAuditLog {
    struct Entry: Codable, Sendable {
        var at: Timestamp
        var mode: String
        var supervisor: String
        var target: String
        var requestedBy: String?
        var outcome: String
    }

    let path: String
    let logger: Logger
    private let queue = DispatchQueue(label: "tamas.ami.spy-audit")

    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    func record(_ entry: Entry) async {
        logger.notice("spy audit", metadata: [
            "mode": "\(entry.mode)", "supervisor": "\(entry.supervisor)", "target": "\(entry.target)",
            "requestedBy": "\(entry.requestedBy ?? "-")", "outcome": "\(entry.outcome)",
        ])
        guard let encoded = try? JSONEncoder().encode(entry) else { return }
        let line = encoded + [0x0A]
        let path = path
        let written: Bool = await withCheckedContinuation { continuation in
            queue.async {
                let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
                guard descriptor >= 0 else { return continuation.resume(returning: false) }
                defer { close(descriptor) }
                let count = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                continuation.resume(returning: count == line.count)
            }
        }
        if !written { logger.error("cannot write the spy audit log", metadata: ["path": "\(path)"]) }
    }
}
