import Foundation
import TamasEvents

/// The delivery-relevant meaning of an HTTP outcome, shared by every connector so that all
/// CRMs are retried, parked and stopped by the same rules.
public enum ResponseClass: Hashable, Sendable {
    case success
    /// 401: the token may just have expired; the connector re-authenticates once.
    case unauthorized
    /// 403: the account is locked or lacks permission; a retry will not help.
    case forbidden
    case transient(reason: String, afterSeconds: Int?)
    case invalid(status: Int)

    public static func of(_ outcome: HTTPOutcome, now: Timestamp) -> ResponseClass {
        switch outcome {
        case .timedOut:
            return .transient(reason: "no answer before the timeout", afterSeconds: nil)
        case .transportFailed(let reason):
            return .transient(reason: "transport failure: \(reason)", afterSeconds: nil)
        case .response(let response):
            switch response.status {
            case 200..<300:
                return .success
            case 401:
                return .unauthorized
            case 403:
                return .forbidden
            case 408, 429, 500..<600:
                let after = response.header("Retry-After").flatMap { RetryAfter.seconds($0, now: now) }
                return .transient(reason: "HTTP \(response.status)", afterSeconds: after)
            case 400..<500:
                return .invalid(status: response.status)
            default:
                // 1xx/3xx reaching us means the client did not follow or finish the exchange:
                // nothing says the CRM refused the data, so it is worth another try.
                return .transient(reason: "unexpected HTTP \(response.status)", afterSeconds: nil)
            }
        }
    }
}

/// `Retry-After` as delta-seconds or an IMF-fixdate (RFC 9110 §10.2.3).
public enum RetryAfter {
    public static func seconds(_ value: String, now: Timestamp) -> Int? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let delta = Int(text) { return max(0, delta) }
        guard let instant = imfFixdate(text) else { return nil }
        return max(0, Int(instant - now.epochSeconds))
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Sun, 06 Nov 1994 08:49:37 GMT` as epoch seconds.
    static func imfFixdate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]),
              let monthIndex = months.firstIndex(of: String(parts[2])), let year = Int(parts[3]),
              (1970...9999).contains(year) else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3, (1...CivilCalendar.daysInMonth(year: year, month: monthIndex + 1)).contains(day), (0...23).contains(clock[0]),
              (0...59).contains(clock[1]), (0...60).contains(clock[2]) else { return nil }
        let days = CivilCalendar.daysFromCivil(year: year, month: monthIndex + 1, day: day)
        return days * 86_400 + Int64(clock[0] * 3600 + clock[1] * 60 + min(clock[2], 59))
    }
}

/// A short, printable, secret-free view of a body for operators.
public enum BodyExcerpt {
    public static let limit = 300

    public static func make(_ body: Data, hiding secrets: [String] = []) -> String {
        var text = String(decoding: body.prefix(limit * 4), as: UTF8.self)
        for secret in secrets where !secret.isEmpty {
            text = text.replacingOccurrences(of: secret, with: "<redacted>")
        }
        let printable = text.unicodeScalars.map { $0.properties.generalCategory == .control && $0 != "\n" ? " " : Character($0) }
        let excerpt = String(printable.prefix(limit))
        return printable.count > limit ? excerpt + "…" : excerpt
    }
}
