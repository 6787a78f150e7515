import Foundation
import NIOCore

/// Reads an operator's JSON request about an endpoint (add, edit). Unlike the HTTP server's own
/// decoding it keeps the field a refusal concerns (`options.numberPlan.countryCode: must be
/// digits only, not '+98'`), and option names Tamas does not know are refused instead of ignored.
public enum EndpointRequest {
    private static let marker: CodingUserInfoKey = {
        // The initializer is failable only by the protocol's shape: it accepts every string.
        guard let key = CodingUserInfoKey(rawValue: "tamas.endpointRequest") else {
            preconditionFailure("CodingUserInfoKey refused a constant name")
        }
        return key
    }()

    public static func decode<Body: Decodable>(_ type: Body.Type, from body: ByteBuffer) throws -> Body {
        let decoder = JSONDecoder()
        decoder.userInfo[marker] = true
        do {
            return try decoder.decode(type, from: Data(body.readableBytesView))
        } catch let error as DecodingError {
            throw EndpointDefinition.Invalid(description: describe(error))
        }
    }

    /// Whether `decoder` reads an operator's request rather than a value Tamas stored itself.
    static func isRequest(_ decoder: any Decoder) -> Bool {
        decoder.userInfo[marker] as? Bool == true
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            field(context.codingPath + [key], "missing")
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context):
            field(context.codingPath, context.debugDescription)
        @unknown default:
            "\(error)"
        }
    }

    /// `options.userNames.201: problem`, `systemKeys[2]: problem`, or the problem alone for the whole body.
    private static func field(_ path: [any CodingKey], _ problem: String) -> String {
        guard !path.isEmpty else { return problem }
        var name = ""
        for key in path {
            if let index = key.intValue {
                name += "[\(index)]"
            } else {
                name += (name.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return "\(name): \(problem)"
    }
}

/// A coding key for any name, to see every key an object has.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
    }

    init?(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}

extension Decoder {
    /// Refuses the first key of this object not in `known`, naming it; `advice` may say what to do
    /// instead for a key that is expected by mistake.
    func refuseUnknownKeys(_ known: Set<String>, kind: String, advice: (String) -> String? = { _ in nil }) throws {
        let object = try container(keyedBy: AnyCodingKey.self)
        guard let unknown = object.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) else { return }
        let problem = advice(unknown) ?? "unknown \(kind); known: \(known.sorted().joined(separator: ", "))"
        throw DecodingError.dataCorrupted(.init(codingPath: codingPath + [AnyCodingKey(stringValue: unknown)], debugDescription: problem))
    }
}
