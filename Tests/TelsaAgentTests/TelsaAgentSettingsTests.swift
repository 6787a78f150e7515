import AgentCore
import Foundation
import TelsaProtocol
import TestSupport
import XCTest
@testable import TelsaAgent

final class TelsaAgentSettingsTests: XCTestCase {
    func config(_ telsa: String) throws -> AgentConfig {
        let folder = try temporaryFolder("telsa-settings")
        let file = folder.appendingPathComponent("agent.yaml")
        try """
            collector:
              address: 127.0.0.1:7443
              agentId: a1
              secret: s
            system:
              key: office1
            \(telsa)
            """.write(to: file, atomically: false, encoding: .utf8)
        chmod(file.path, 0o600)
        return try AgentConfig.load(path: file.path)
    }

    func testReadsEveryKey() throws {
        let settings = try TelsaAgentSettings.read(try config("""
            telsa:
              mode: folder
              root: /srv/telsa
              settleSeconds: 20
              archiveSettleSeconds: 3
              lineMapping:
                1: 3
                2: "04"
              trailerBytes: 8192
              timeZone: Asia/Tehran
              watch: polling
              pollIntervalSeconds: 2.5
              rescanSeconds: 120
            """))
        XCTAssertEqual(settings.root, "/srv/telsa")
        XCTAssertEqual(settings.watch, .polling)
        XCTAssertEqual(settings.pollIntervalSeconds, 2.5)
        XCTAssertEqual(settings.rescanSeconds, 120)
        XCTAssertEqual(settings.tracker, TelsaSettings(systemKey: "office1", mode: .folder, settleSeconds: 20, archiveSettleSeconds: 3,
                                                       lineMapping: TelsaLineMapping(["1": "3", "2": "04"]), trailerBytes: 8192,
                                                       timeZoneIdentifier: "Asia/Tehran"))
    }

    func testDefaultsAndMistakesNamedWithTheirKey() throws {
        let settings = try TelsaAgentSettings.read(try config("telsa:\n  root: /srv/telsa\n"))
        XCTAssertEqual(settings.watch, .auto)
        XCTAssertEqual(settings.tracker.mode, .full)
        XCTAssertEqual(settings.pollIntervalSeconds, 5)
        XCTAssertThrowsError(try TelsaAgentSettings.read(try config("telsa:\n  root: /srv/telsa\n  watch: fanotify\n"))) {
            XCTAssertTrue("\($0)".contains("telsa.watch: must be one of auto, inotify, polling"), "\($0)")
        }
        XCTAssertThrowsError(try TelsaAgentSettings.read(try config("telsa:\n  root: srv/telsa\n"))) {
            XCTAssertTrue("\($0)".contains("telsa.root: must be an absolute path"), "\($0)")
        }
        XCTAssertThrowsError(try TelsaAgentSettings.read(try config("telsa:\n  root: /srv/telsa\n  timeZone: Mars/Olympus\n"))) {
            XCTAssertTrue("\($0)".contains("unknown time zone"), "\($0)")
        }
        XCTAssertThrowsError(try TelsaAgentSettings.read(try config("telsa:\n  root: /srv/telsa\n  lineMaping:\n    1: 2\n"))) {
            XCTAssertTrue("\($0)".contains("did you mean 'lineMapping'"), "\($0)")
        }
        XCTAssertThrowsError(try TelsaAgentSettings.read(try config("telsa:\n  root: /srv/telsa\n  lineMapping:\n    one: 2\n"))) {
            XCTAssertTrue("\($0)".contains("telsa.lineMapping.one: a Telsa channel must be a number"), "\($0)")
        }
    }

    func testRemoteFilesystemsAreToldFromMountInfo() {
        let mountInfo = """
            22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
            40 22 0:35 / /mnt/telsa rw,relatime shared:20 - cifs //TELSAPC/record rw,vers=3.0
            41 22 0:36 / /mnt/telsa\\040share rw,relatime shared:21 - fuse.sshfs host:/x rw
            42 22 0:37 / /srv rw - tmpfs tmpfs rw
            """
        XCTAssertEqual(RemoteFilesystem.type(of: "/mnt/telsa/Archive", mountInfo: mountInfo), "cifs")
        XCTAssertEqual(RemoteFilesystem.type(of: "/mnt/telsa share/x", mountInfo: mountInfo), "fuse.sshfs")
        XCTAssertEqual(RemoteFilesystem.type(of: "/mnt/telsax", mountInfo: mountInfo), "ext4")
        XCTAssertEqual(RemoteFilesystem.type(of: "/srv", mountInfo: mountInfo), "tmpfs")
        XCTAssertTrue(RemoteFilesystem.isRemote("cifs") && RemoteFilesystem.isRemote("nfs4") && RemoteFilesystem.isRemote("fuse.sshfs"))
        XCTAssertFalse(RemoteFilesystem.isRemote("ext4") || RemoteFilesystem.isRemote("overlay") || RemoteFilesystem.isRemote("fuseblk"))
    }
}
