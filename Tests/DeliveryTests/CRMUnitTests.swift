@testable import CRMDelivery
import Foundation
import TestSupport
import XCTest

final class CRMUnitTests: XCTestCase {
    func testBackoffGrowsDoublesWithJitterUpToTheCapAndHonoursRetryAfter() {
        let backoff = Backoff(maxSeconds: 60)
        XCTAssertEqual(backoff.delayMillis(failures: 1, random: 1), 1000)
        XCTAssertEqual(backoff.delayMillis(failures: 1, random: 0), 500)
        XCTAssertEqual(backoff.delayMillis(failures: 4, random: 1), 8000)
        XCTAssertEqual(backoff.delayMillis(failures: 30, random: 1), 60_000)
        XCTAssertEqual(backoff.delayMillis(failures: 30, random: 0), 30_000)
        XCTAssertEqual(backoff.delayMillis(failures: 1, retryAfterSeconds: 120, random: 0), 120_000, "Retry-After beyond the cap is honoured")
        XCTAssertEqual(backoff.delayMillis(failures: 3, retryAfterSeconds: 1, random: 1), 4000, "a shorter Retry-After does not shorten backoff")
    }

    func testSecretBoxKeyFileIsPrivateAndSealsRoundTripWithoutThePlaintext() throws {
        let folder = try temporaryFolder("secretbox")
        let keyFile = folder.appendingPathComponent("crm.key").path
        let box = try SecretBox(keyFile: keyFile)
        let attributes = try FileManager.default.attributesOfItem(atPath: keyFile)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let sealed = try box.seal(Data("s3cret-pässword".utf8))
        XCTAssertNil(String(data: sealed, encoding: .utf8).flatMap { $0.contains("s3cret") ? $0 : nil })
        let reopened = try SecretBox(keyFile: keyFile)
        XCTAssertEqual(String(decoding: try reopened.open(sealed), as: UTF8.self), "s3cret-pässword")
        chmod(keyFile, 0o644)
        XCTAssertThrowsError(try SecretBox(keyFile: keyFile), "a world-readable key is refused")
    }

    func testDefinitionsAreValidated() throws {
        func definition(url: String = "https://crm.example.com/", keys: [String] = ["office1"], secret: String = "x") -> EndpointDefinition {
            EndpointDefinition(name: "pg", kind: .payamgostar, url: url, user: nil, secret: secret, systemKeys: keys, options: nil)
        }
        let clean = try definition().validated()
        XCTAssertEqual(clean.url, "https://crm.example.com")
        XCTAssertEqual(clean.user, "admin")
        XCTAssertThrowsError(try definition(url: "ftp://crm").validated())
        XCTAssertThrowsError(try definition(url: "https://user:pw@crm").validated())
        XCTAssertThrowsError(try definition(keys: []).validated())
        XCTAssertThrowsError(try definition(keys: ["bad key"]).validated())
        XCTAssertThrowsError(try definition(secret: "").validated())
    }

    /// `add` refuses a user for the kinds that have none, as `edit` does, rather than drop it.
    func testAddRefusesAUserForAKindThatSignsInWithoutOne() throws {
        for kind in [EndpointKind.webhook, .zammad] {
            let definition = EndpointDefinition(name: "crm", kind: kind, url: "https://crm.example.com", user: "bob", secret: "x",
                                                systemKeys: ["office1"], options: nil)
            XCTAssertThrowsError(try definition.validated(), "\(kind)") { error in
                XCTAssertEqual("\(error)", "user: only a PayamGostar endpoint signs in with a user name")
            }
            var withoutUser = definition
            withoutUser.user = nil
            XCTAssertNil(try withoutUser.validated().user, "\(kind)")
        }
    }
}
