import Crypto
import Foundation
import TamasLink

/// Signed, expiring recording links, so a CRM user can play a recording without a Tamas
/// account: HMAC-SHA256 over "ref|expires" with a key kept in the data folder (0600). The HTTP
/// route verifies them; CRM delivery mints them when it sends a call that has a recording.
public struct RecordingLinks: Sendable {
    let key: SymmetricKey

    public init(keyFile: String) throws {
        if let text = try? String(contentsOfFile: keyFile, encoding: .utf8),
           let data = Self.bytes(hex: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 {
            key = SymmetricKey(data: data)
        } else {
            let fresh = Secrets.random(bytes: 32)
            try Secrets.writePrivateFile(fresh + "\n", to: keyFile)
            key = SymmetricKey(data: Self.bytes(hex: fresh) ?? Data())
        }
    }

    /// `/recordings/{ref}?expires=…&signature=…`, relative to the collector's HTTP root.
    public func path(ref: String, validFor seconds: Int, now: Date) -> String {
        let expires = Int(now.timeIntervalSince1970) + seconds
        let encoded = ref.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?&="))) ?? ref
        return "/recordings/\(encoded)?expires=\(expires)&signature=\(signature(ref: ref, expires: expires))"
    }

    public func verify(ref: String, expires: Int, signature given: String, now: Date) -> Bool {
        guard expires >= Int(now.timeIntervalSince1970) else { return false }
        let expected = Array(signature(ref: ref, expires: expires).utf8)
        let actual = Array(given.utf8)
        guard expected.count == actual.count else { return false }
        return zip(expected, actual).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func signature(ref: String, expires: Int) -> String {
        Secrets.hex(HMAC<SHA256>.authenticationCode(for: Data("\(ref)|\(expires)".utf8), using: key))
    }

    private static func bytes(hex: String) -> Data? {
        guard hex.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return Data(bytes)
    }
}
