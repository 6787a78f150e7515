import AMIProtocol
import Foundation
import TamasEvents
import XCTest

/// An `Response: Error` to a resync list is reported as what manager.c says it is: a missing
/// write class only for `Permission denied`, an action this Asterisk does not know for
/// `Invalid/unknown command` (1.4's bare form and the 1.6+ form naming the action), and the
/// action's own failure otherwise, each with Asterisk's message in the `agent.status` detail.
final class ActionRefusalTests: XCTestCase {
    let t0 = Timestamp(epochMillis: 1_764_150_000_000)

    /// Logged in; the resync went out as tamas-1-2, tamas-1-3, ... in `AMIActions.resync` order.
    private func loggedIn(banner: String, technology: AMIChannelTechnology) -> AMIClientStateMachine {
        let settings = AMISettings(systemKey: "pbx1", username: "tamas", secret: "s3cret-ami", version: .auto, channelTechnology: technology)
        var client = AMIClientStateMachine(settings: settings, jitter: FixedJitter(value: 0))
        _ = client.connected(now: t0)
        _ = client.receive(Wire.bytes(banner + "\r\n"), now: t0)
        _ = client.receive(Wire.bytes(Wire.message([("Response", "Success"), ("ActionID", "tamas-1-1"), ("Message", "Authentication accepted")])), now: t0)
        return client
    }

    private func error(_ actionID: String, _ message: String) -> [UInt8] {
        Wire.bytes(Wire.message([("Response", "Error"), ("ActionID", actionID), ("Message", message)]))
    }

    private func agentStatuses(_ outputs: [AMIClientStateMachine.Output]) -> [String] {
        var statuses: [String] = []
        for case .events(let events) in outputs {
            for event in events where event.type == .agentStatus {
                statuses.append((event.state ?? "") + " | " + (event.detail ?? ""))
            }
        }
        return statuses
    }

    func testPermissionDeniedIsAMissingPermissionNamingTheWriteClassToAdd() {
        var client = loggedIn(banner: "Asterisk Call Manager/2.10.6", technology: .pjsip)
        XCTAssertEqual(agentStatuses(client.receive(error("tamas-1-2", "Permission denied"), now: t0)),
                       ["permissionMissing | CoreShowChannels: Permission denied; add 'reporting' to the AMI user's write line in manager.conf"])
        XCTAssertEqual(agentStatuses(client.receive(error("tamas-1-4", "Permission denied"), now: t0)),
                       ["permissionMissing | PJSIPShowEndpoints: Permission denied; add 'system' to the AMI user's write line in manager.conf"])
    }

    func testPermissionDeniedOnAsterisk14NamesThatVersionsClass() {
        var client = loggedIn(banner: "Asterisk Call Manager/1.0", technology: .sip)
        XCTAssertEqual(agentStatuses(client.receive(error("tamas-1-2", "Permission denied"), now: t0)),
                       ["permissionMissing | Status: Permission denied; add 'call' to the AMI user's write line in manager.conf"])
    }

    func testAnActionUnknownToThisAsteriskIsUnsupportedNotAMissingPermission() {
        var client = loggedIn(banner: "Asterisk Call Manager/2.10.6", technology: .auto)
        let message = "Invalid/unknown command: SIPpeers. Use Action: ListCommands to show available commands."
        XCTAssertEqual(agentStatuses(client.receive(error("tamas-1-4", message), now: t0)), [
            "actionUnsupported | SIPpeers is not supported by this Asterisk (\(message)): "
                + "the action is unknown to this version or its module is not loaded",
        ])
    }

    func testAsterisk14sBareUnknownCommandIsUnsupportedToo() {
        var client = loggedIn(banner: "Asterisk Call Manager/1.0", technology: .sip)
        XCTAssertEqual(agentStatuses(client.receive(error("tamas-1-3", "Invalid/unknown command"), now: t0)), [
            "actionUnsupported | SIPpeers is not supported by this Asterisk (Invalid/unknown command): "
                + "the action is unknown to this version or its module is not loaded",
        ])
    }

    func testAnyOtherErrorIsTheActionsOwnFailureWithItsMessage() {
        var client = loggedIn(banner: "Asterisk Call Manager/2.10.6", technology: .pjsip)
        XCTAssertEqual(agentStatuses(client.receive(error("tamas-1-4", "No endpoints found"), now: t0)),
                       ["actionFailed | PJSIPShowEndpoints failed: No endpoints found"])
    }
}
