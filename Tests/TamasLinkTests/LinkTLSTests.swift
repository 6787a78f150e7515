import Foundation
import NIOSSL
import TamasLink
import XCTest

final class LinkTLSTests: XCTestCase {
    func testSelfSignedIdentityLoadsAndItsFingerprintIsStable() throws {
        let identity = try LinkTLS.makeSelfSigned(commonName: "tamas-collector", hosts: ["localhost", "127.0.0.1", "::1"])
        let certificate = try NIOSSLCertificate(bytes: Array(identity.certificatePEM.utf8), format: .pem)
        XCTAssertNoThrow(try NIOSSLPrivateKey(bytes: Array(identity.privateKeyPEM.utf8), format: .pem))
        let fingerprint = try LinkTLS.fingerprint(of: certificate)
        XCTAssertEqual(fingerprint.count, 64)
        XCTAssertEqual(try LinkTLS.fingerprint(pem: identity.certificatePEM), fingerprint)
        XCTAssertEqual(LinkTLS.normalizeFingerprint(fingerprint.uppercased().enumerated()
            .map { $0.offset % 2 == 1 ? "\($0.element):" : "\($0.element)" }.joined()), fingerprint, "openssl's AA:BB form is accepted")
    }

    func testSecretsAreHashedAndComparedExactly() {
        let secret = Secrets.random()
        XCTAssertEqual(secret.count, 64)
        let hash = Secrets.hash(secret)
        XCTAssertNotEqual(hash, secret)
        XCTAssertTrue(Secrets.matches(secret, hash: hash))
        XCTAssertFalse(Secrets.matches(secret + "0", hash: hash))
        XCTAssertFalse(Secrets.matches("", hash: hash))
    }

    func testPrivateFilesAreCreatedOwnerOnly() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tamas-secret-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Secrets.writePrivateFile("token\n", to: path)
        let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        XCTAssertEqual(mode & 0o777, 0o600)
        XCTAssertFalse(Secrets.isExposed(path: path))
        chmod(path, 0o644)
        XCTAssertTrue(Secrets.isExposed(path: path))
    }
}
