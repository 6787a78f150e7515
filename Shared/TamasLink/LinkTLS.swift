import Crypto
import Foundation
import NIOCore
import NIOSSL
import SwiftASN1
import X509

/// TLS for the agent link: the collector's identity (a self-signed certificate made on first
/// start, or the operator's own), how agents trust it (a pinned SHA-256 fingerprint, a CA file,
/// or the system store), and optional mutual TLS with a private CA.
public enum LinkTLS {
    public struct Identity: Sendable {
        public var certificatePEM: String
        public var privateKeyPEM: String
    }

    /// A self-signed ECDSA P-256 server certificate valid for ten years for `hosts`
    /// (DNS names or IPv4/IPv6 literals). Agents pin its fingerprint.
    public static func makeSelfSigned(commonName: String, hosts: [String], now: Date = Date()) throws -> Identity {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let alternativeNames = hosts.map { host -> GeneralName in
            if let bytes = ipAddressBytes(host) { return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes))) }
            return .dnsName(host)
        }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames(alternativeNames)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions, issuerPrivateKey: Certificate.PrivateKey(key))
        return Identity(certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: key.pemRepresentation)
    }

    /// Lower-case hex SHA-256 of the leaf certificate's DER bytes, as `openssl x509 -fingerprint -sha256` shows it
    /// (without colons).
    public static func fingerprint(of certificate: NIOSSLCertificate) throws -> String {
        Secrets.hex(SHA256.hash(data: try certificate.toDERBytes()))
    }

    /// The subject's common name: `deploy/make-ca.sh agent NAME` issues each agent's client
    /// certificate to its enrolled name.
    public static func commonName(of certificate: NIOSSLCertificate) throws -> String? {
        let parsed = try Certificate(derEncoded: certificate.toDERBytes())
        for name in parsed.subject {
            for attribute in name where attribute.type == .RDNAttributeType.commonName {
                return attribute.value.description
            }
        }
        return nil
    }

    public static func fingerprint(pem: String) throws -> String {
        try fingerprint(of: NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem))
    }

    public static func normalizeFingerprint(_ text: String) -> String {
        text.lowercased().filter { $0.isHexDigit }
    }

    /// Server side. With `clientCAFile` every agent must also present a certificate issued by
    /// that CA (the secret is still checked). `.noHostnameVerification` because agents have no
    /// host names to verify, and the server must demand the client certificate explicitly.
    public static func serverContext(certificateFile: String, privateKeyFile: String, clientCAFile: String?) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)))
        configuration.minimumTLSVersion = .tlsv12
        // A peer being dropped for bad frames is not owed a long TLS goodbye during which the
        // collector keeps reading whatever it sends.
        configuration.shutdownTimeout = .seconds(1)
        if let clientCAFile {
            configuration.trustRoots = .file(clientCAFile)
            configuration.certificateVerification = .noHostnameVerification
        }
        return try NIOSSLContext(configuration: configuration)
    }

    public enum ServerTrust: Sendable, Equatable {
        /// Accept exactly the certificate with this SHA-256 fingerprint (self-signed collectors).
        case pinned(fingerprint: String)
        /// Verify against this CA bundle and the host name.
        case certificateAuthority(file: String)
        /// Verify against the operating system's trust store and the host name.
        case system
    }

    public static func clientConfiguration(trust: ServerTrust, clientCertificateFile: String?, clientKeyFile: String?) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        switch trust {
        case .pinned:
            configuration.certificateVerification = .noHostnameVerification
            // The fingerprint check replaces chain validation (`clientHandler`), so the system's
            // CA bundle would be parsed for nothing: some 140 certificates, at every start.
            configuration.trustRoots = .certificates([])
        case .certificateAuthority(let file):
            configuration.trustRoots = .file(file)
            configuration.certificateVerification = .fullVerification
        case .system:
            configuration.certificateVerification = .fullVerification
        }
        if let clientCertificateFile, let clientKeyFile {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(clientCertificateFile).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKeyFile, format: .pem))
        }
        return configuration
    }

    /// The client TLS handler; for a pinned collector it replaces chain validation with an exact
    /// fingerprint comparison of the leaf certificate.
    public static func clientHandler(context: NIOSSLContext, trust: ServerTrust, serverHostname: String?) throws -> NIOSSLClientHandler {
        let hostname = serverHostname.flatMap { ipAddressBytes($0) == nil ? $0 : nil }
        guard case .pinned(let expected) = trust else {
            return try NIOSSLClientHandler(context: context, serverHostname: hostname)
        }
        let wanted = normalizeFingerprint(expected)
        return try NIOSSLClientHandler(context: context, serverHostname: hostname) { certificates, promise in
            guard let leaf = certificates.first, let actual = try? fingerprint(of: leaf), actual == wanted else {
                promise.succeed(.failed)
                return
            }
            promise.succeed(.certificateVerified)
        }
    }

    static func ipAddressBytes(_ host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
