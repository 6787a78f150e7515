import Foundation
import TamasLink

/// The collector's data folder: the store, its TLS identity (made on first start when the
/// operator gives none) and the admin token `tamasctl` uses. Everything secret in it is 0600.
public struct CollectorHome: Sendable {
    public let folder: String

    public init(folder: String) throws {
        self.folder = folder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    public var databasePath: String { folder + "/collector.sqlite" }
    public var adminTokenPath: String { folder + "/admin.token" }
    public var certificatePath: String { folder + "/tls/collector.crt" }
    public var privateKeyPath: String { folder + "/tls/collector.key" }

    /// Creates a self-signed identity for `hosts` unless one exists; returns the certificate and key paths.
    public func ensureSelfSignedIdentity(hosts: [String]) throws -> (certificate: String, key: String, created: Bool) {
        let manager = FileManager.default
        if manager.fileExists(atPath: certificatePath), manager.fileExists(atPath: privateKeyPath) {
            return (certificatePath, privateKeyPath, false)
        }
        try manager.createDirectory(atPath: folder + "/tls", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let identity = try LinkTLS.makeSelfSigned(commonName: "tamas-collector", hosts: hosts)
        try Secrets.writePrivateFile(identity.privateKeyPEM, to: privateKeyPath)
        try identity.certificatePEM.write(toFile: certificatePath, atomically: true, encoding: .utf8)
        return (certificatePath, privateKeyPath, true)
    }

    /// The admin token file's content, created (and its hash stored) on first start.
    public func ensureAdminToken(store: CollectorStore) async throws -> (token: String, created: Bool) {
        if let existing = try? String(contentsOfFile: adminTokenPath, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !existing.isEmpty {
            try await store.addAdminToken(existing)
            return (existing, false)
        }
        let token = Secrets.random(bytes: 32)
        try await store.addAdminToken(token)
        try Secrets.writePrivateFile(token + "\n", to: adminTokenPath)
        return (token, true)
    }
}
