import Crypto
import Foundation

/// Agent secrets and admin tokens: random, shown once, stored only as a hash.
///
/// A plain SHA-256 is enough here: the secrets are 256 random bits, not passwords a person
/// chose, so there is nothing for a slow KDF to protect against that brute force could reach.
public enum Secrets {
    public static func random(bytes count: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        return hex((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// Lower-case hexadecimal, the form every secret, hash, fingerprint and signature takes here.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    public static func hash(_ secret: String) -> String {
        hex(SHA256.hash(data: Data(secret.utf8)))
    }

    /// Compares without an early exit, so timing does not reveal how much of a guess was right.
    public static func matches(_ secret: String, hash expected: String) -> Bool {
        let actual = Array(hash(secret).utf8)
        let wanted = Array(expected.utf8)
        guard actual.count == wanted.count else { return false }
        var difference: UInt8 = 0
        for index in actual.indices { difference |= actual[index] ^ wanted[index] }
        return difference == 0
    }

    /// Writes a file that only its owner can read (0600), creating it that way rather than
    /// tightening it afterwards, so no other user can open it in between.
    public static func writePrivateFile(_ contents: String, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw PrivateFileError(path: path, errno: errno) }
        defer { close(descriptor) }
        guard fchmod(descriptor, 0o600) == 0 else { throw PrivateFileError(path: path, errno: errno) }
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard result > 0 else { throw PrivateFileError(path: path, errno: errno) }
            written += result
        }
        guard fsync(descriptor) == 0 else { throw PrivateFileError(path: path, errno: errno) }
    }

    /// True when group or others may read the file: a secret in it is exposed.
    public static func isExposed(path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return info.st_mode & 0o077 != 0
    }
}

public struct PrivateFileError: Error, CustomStringConvertible {
    public var path: String
    public var errno: Int32

    public var description: String { "cannot write \(path): \(String(cString: strerror(errno)))" }
}
