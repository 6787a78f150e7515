import Crypto
import Foundation
import TamasLink

/// Encrypts CRM secrets (passwords, tokens, signing secrets, bearer tokens in sessions) at rest
/// with AES-GCM under a 256-bit key kept in `<dataDir>/crm.key` (0600, made on first use), so a
/// copy of the database alone reveals none of them.
public struct SecretBox: Sendable {
    private let key: SymmetricKey

    public struct KeyFileError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The key file that belongs to the database at `databasePath` (same folder).
    public static func keyFile(besideDatabase databasePath: String) -> String {
        URL(fileURLWithPath: databasePath).deletingLastPathComponent().appendingPathComponent("crm.key").path
    }

    public init(keyFile: String) throws {
        if let existing = FileManager.default.contents(atPath: keyFile) {
            guard !Secrets.isExposed(path: keyFile) else {
                throw KeyFileError(description: "\(keyFile) is readable by other users: chmod 600 it")
            }
            guard let bytes = Data(base64Encoded: String(decoding: existing, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
                  bytes.count == 32 else {
                throw KeyFileError(description: "\(keyFile) does not hold a base64 256-bit key")
            }
            key = SymmetricKey(data: bytes)
            return
        }
        let fresh = SymmetricKey(size: .bits256)
        let text = fresh.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        try Secrets.writePrivateFile(text, to: keyFile)
        key = fresh
    }

    public func seal(_ plaintext: Data) throws -> Data {
        guard let combined = try AES.GCM.seal(plaintext, using: key).combined else {
            throw KeyFileError(description: "AES-GCM produced no combined box")
        }
        return combined
    }

    public func open(_ sealed: Data) throws -> Data {
        try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key)
    }

    func seal(_ text: String) throws -> Data { try seal(Data(text.utf8)) }

    func openText(_ sealed: Data) throws -> String { String(decoding: try open(sealed), as: UTF8.self) }
}
