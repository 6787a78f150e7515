import AMIAgent
import AMIProtocol
import AgentCore
import Foundation
import TestSupport
import XCTest

final class AMIAgentConfigTests: XCTestCase {
    let base = """
        collector:
          address: 127.0.0.1:7443
          agentId: a
          secretFile: COLLECTOR_SECRET
        system:
          key: office1
          releaseCode: "9"
          cityCode: "21"

        """

    func testEveryKeyMapsOntoAMISettings() throws {
        let path = try writeAgentConfig(base + """
            ami:
              host: 10.0.0.5
              port: 5039
              username: crm
              secret: abc
              authentication: md5
              version: "11"
              eventMask: call,system
              originateContext: from-internal-custom
              originateTimeoutSeconds: 20
              originateAutoAnswer: true
              autoAnswerHeader: "Alert-Info: Ring Answer"
              channelTechnology: PJSIP
              trunkPeers: [itsp*]
              extensionPeers: [reception]
              extensionDigitsMin: 2
              extensionDigitsMax: 4
              trunkContexts: [from-pstn]
              extensionContexts: [from-internal]
              recordingEnabled: false
              recordingPath: /srv/rec
              ignoredEvents: [RTCPSent]
              pingIntervalSeconds: 15
              pingTimeoutSeconds: 5
              quietAfterSeconds: 600
              spyAuditLog: /var/log/tamas-spy.log
              recordingSearchDelaySeconds: 2.5
              staleCallHours: 4
              maxTrackedChannels: 5000

            """)
        let settings = try AMIAgentSettings.read(AgentConfig.load(path: path))
        let ami = settings.ami
        XCTAssertEqual(ami.systemKey, "office1")
        XCTAssertEqual([ami.host, String(ami.port), ami.username, ami.secret], ["10.0.0.5", "5039", "crm", "abc"])
        XCTAssertEqual(ami.authentication, .md5)
        XCTAssertEqual(ami.version, .v11)
        XCTAssertEqual(ami.eventMask, "call,system")
        XCTAssertEqual(ami.originateContext, "from-internal-custom")
        XCTAssertEqual(ami.originateTimeoutSeconds, 20)
        XCTAssertEqual(ami.originateChannel, .device)
        XCTAssertTrue(ami.originateAutoAnswer)
        XCTAssertEqual(ami.autoAnswerHeader, "Alert-Info: Ring Answer")
        XCTAssertEqual(ami.channelTechnology, .pjsip)
        XCTAssertEqual(ami.channelRules, AMIChannelRules(trunkPeers: ["itsp*"], extensionPeers: ["reception"], extensionDigitsMin: 2,
                                                         extensionDigitsMax: 4, trunkContexts: ["from-pstn"], extensionContexts: ["from-internal"]))
        XCTAssertFalse(ami.recordingEnabled)
        XCTAssertEqual(ami.recordingPath, "/srv/rec")
        XCTAssertEqual(ami.ignoredEvents, ["RTCPSent"])
        XCTAssertEqual([ami.pingIntervalSeconds, ami.pingTimeoutSeconds, settings.quietAfterSeconds], [15, 5, 600])
        XCTAssertEqual(ami.numberPlan.releaseCode, "9")
        XCTAssertEqual(ami.numberPlan.cityCode, "21")
        XCTAssertEqual(settings.spyAuditLog, "/var/log/tamas-spy.log")
        XCTAssertEqual(settings.recordingSearchDelaySeconds, 2.5)
        XCTAssertEqual([ami.staleCallHours, ami.maxTrackedChannels], [4, 5000])
    }

    func testDefaultsNeedOnlyUserAndSecret() throws {
        let path = try writeAgentConfig(base + "ami:\n  username: crm\n  secret: abc\n")
        let settings = try AMIAgentSettings.read(AgentConfig.load(path: path))
        let ami = settings.ami
        let defaults = AMISettings()
        XCTAssertEqual(settings.recordingSearchDelaySeconds, 10)
        XCTAssertFalse(ami.searchRecordingsByUniqueid, "the client turns it on only when recordingDownload is set")
        XCTAssertEqual(ami.port, 5038)
        XCTAssertEqual(ami.host, defaults.host)
        XCTAssertEqual(ami.originateContext, "from-internal")
        XCTAssertEqual(ami.originateChannel, .device)
        XCTAssertFalse(ami.originateAutoAnswer)
        XCTAssertEqual(ami.autoAnswerHeader, "Call-Info: <sip:127.0.0.1>;answer-after=0")
        XCTAssertEqual(ami.ignoredEvents, defaults.ignoredEvents)
        XCTAssertEqual(ami.channelRules, defaults.channelRules)
        XCTAssertEqual([ami.staleCallHours, ami.maxTrackedChannels], [12, 20_000])
    }

    func testAutoAnswerSettingsThatCannotWorkAreRefusedAtStart() throws {
        let cases = [
            ("originateChannel: local\n  originateAutoAnswer: true\n",
             "ami.originateAutoAnswer: needs originateChannel: device; through Local/ the header would also go to the customer's trunk"),
            ("channelTechnology: IAX2\n  originateAutoAnswer: true\n",
             "ami.originateAutoAnswer: auto-answer is a SIP header; IAX2 phones cannot be asked for it"),
            ("autoAnswerHeader: \"answer-after=0\"\n", "ami.autoAnswerHeader: 'answer-after=0' is not 'Name: value'"),
            ("originateChannel: everywhere\n", "ami.originateChannel"),
        ]
        for (settings, message) in cases {
            let path = try writeAgentConfig(base + "ami:\n  username: crm\n  secret: abc\n  " + settings)
            XCTAssertThrowsError(try AMIAgentSettings.read(AgentConfig.load(path: path)), settings) { error in
                XCTAssertTrue("\(error)".contains(message), "\(settings): \(error)")
            }
        }
        let local = try writeAgentConfig(base + "ami:\n  username: crm\n  secret: abc\n  originateChannel: local\n")
        XCTAssertEqual(try AMIAgentSettings.read(AgentConfig.load(path: local)).ami.originateChannel, .local)
    }

    func testASecretInAFileOthersCanReadIsRefused() throws {
        let path = try writeAgentConfig(base + "ami:\n  username: crm\n  secret: abc\n", mode: 0o644)
        XCTAssertThrowsError(try AMIAgentSettings.read(AgentConfig.load(path: path))) { error in
            XCTAssertTrue("\(error)".contains("ami.secret: this file holds the AMI secret but others can read it: chmod 600"), "\(error)")
            XCTAssertFalse("\(error)".contains("abc"))
        }
    }

    func testMisspeltKeysAndBadValuesNameTheKeyAndLine() throws {
        let misspelt = try writeAgentConfig(base + "ami:\n  username: crm\n  secret: abc\n  pingIntervalSecond: 5\n")
        XCTAssertThrowsError(try AMIAgentSettings.read(AgentConfig.load(path: misspelt))) { error in
            XCTAssertTrue("\(error)".contains(":12: ami.pingIntervalSecond: unknown setting (did you mean 'pingIntervalSeconds'?)") , "\(error)")
        }
        let badVersion = try writeAgentConfig(base + "ami:\n  username: crm\n  secret: abc\n  version: \"12\"\n")
        XCTAssertThrowsError(try AMIAgentSettings.read(AgentConfig.load(path: badVersion))) { error in
            XCTAssertTrue("\(error)".contains("ami.version: must be one of auto, 1.4, 1.8, 11, 13+, not '12'"), "\(error)")
        }
        let emptyRange = try writeAgentConfig(base + "ami:\n  username: crm\n  secret: abc\n  extensionDigitsMin: 6\n")
        XCTAssertThrowsError(try AMIAgentSettings.read(AgentConfig.load(path: emptyRange))) { error in
            XCTAssertTrue("\(error)".contains("ami.extensionDigitsMax: the shortest (6 digits) is longer than the longest (5)"), "\(error)")
        }
        let longDelay = try writeAgentConfig(base + "ami:\n  username: crm\n  secret: abc\n  recordingSearchDelaySeconds: 900\n")
        XCTAssertThrowsError(try AMIAgentSettings.read(AgentConfig.load(path: longDelay))) { error in
            XCTAssertTrue("\(error)".contains("ami.recordingSearchDelaySeconds: must be a number between 0.0 and 600.0, not '900'"), "\(error)")
        }
    }
}
