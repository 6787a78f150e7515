import Foundation
import TamasEvents

/// Deterministic JSON for request bodies: sorted keys, so the same delivery always produces the
/// same bytes (tests compare them; signatures cover them).
public enum WireJSON {
    public static func encode<Value: Encodable>(_ value: Value) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every value encoded here is a plain struct of strings, numbers and Timestamps, which
        // cannot fail to encode; an empty object is the defensible fallback rather than a crash.
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    public static func decode<Value: Decodable>(_ type: Value.Type, from data: Data) -> Value? {
        try? JSONDecoder().decode(type, from: data)
    }
}

/// `application/x-www-form-urlencoded` (WHATWG URL standard: space as `+`, everything but
/// `*-._` and alphanumerics percent-encoded).
public enum FormEncoding {
    public static func encode(_ fields: [(String, String)]) -> Data {
        Data(fields.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&").utf8)
    }

    public static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "*"), UInt8(ascii: "-"),
                 UInt8(ascii: "."), UInt8(ascii: "_"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                out.append("+")
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out.append("%" + (hex.count == 1 ? "0" + hex : hex))
            }
        }
        return out
    }

    /// Percent-encodes one path segment (a token, a peer name) so it cannot change the route.
    public static func pathSegment(_ text: String) -> String {
        escape(text).replacingOccurrences(of: "+", with: "%20")
    }
}

/// How a CRM wants phone numbers written.
public enum NumberFormat: String, Codable, Hashable, Sendable {
    /// `09121234567`: what Iranian CRM users type and search for.
    case national
    /// `+989121234567`.
    case e164
    /// `989121234567`: E.164 without the plus, as Zammad's examples use.
    case e164Digits

    public func format(_ normalized: String, plan: NumberPlan) -> String {
        switch self {
        case .national: plan.national(normalized)
        case .e164: normalized
        case .e164Digits: normalized.hasPrefix("+") ? String(normalized.dropFirst()) : normalized
        }
    }
}
