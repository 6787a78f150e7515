import Foundation
import RemoteFiles
import TamasEvents
import XCTest

/// The pure FTP conversation: reply framing, passive addresses, listings, the login.
final class FTPProtocolTests: XCTestCase {
    func replies(_ text: String) throws -> [FTPReply] {
        var reader = FTPReplyReader()
        return try reader.feed(Array(text.utf8))
    }

    func testSingleLineRepliesWithCRLFOrBareLF() throws {
        XCTAssertEqual(try replies("220 pyftpdlib ready.\r\n331 Username ok.\n"),
                       [FTPReply(code: 220, lines: ["pyftpdlib ready."]), FTPReply(code: 331, lines: ["Username ok."])])
        XCTAssertEqual(try replies("200\r\n"), [FTPReply(code: 200, lines: [""])], "a code alone is a reply")
    }

    func testMultiLineReplyEndsOnlyAtItsOwnCodeFollowedBySpace() throws {
        let text = "211-Features:\r\n MDTM\r\n 211 is not the end\r\n211-still not\r\n SIZE\r\n211 End\r\n230 next\r\n"
        let parsed = try replies(text)
        XCTAssertEqual(parsed.count, 2)
        XCTAssertEqual(parsed[0].code, 211)
        XCTAssertEqual(parsed[0].lines, ["Features:", "MDTM", "211 is not the end", "still not", "SIZE", "End"])
        XCTAssertEqual(parsed[1], FTPReply(code: 230, lines: ["next"]))
    }

    func testMultiLineReplyMayContainOtherCodes() throws {
        let parsed = try replies("150-Opening\r\n226 not mine\r\n150 done\r\n")
        XCTAssertEqual(parsed, [FTPReply(code: 150, lines: ["Opening", "226 not mine", "done"])])
    }

    func testARepliesArePickedUpAcrossAnySplit() throws {
        let text = Array("220-Welcome\r\n to the box\r\n220 ready\r\n331 pass please\r\n".utf8)
        let whole = try replies(String(decoding: text, as: UTF8.self))
        for split in 0...text.count {
            var reader = FTPReplyReader()
            let parsed = try reader.feed(text[..<split]) + reader.feed(text[split...])
            XCTAssertEqual(parsed, whole, "split at \(split)")
        }
    }

    func testNonReplyAndOverlongInputAreProblems() {
        var reader = FTPReplyReader()
        XCTAssertThrowsError(try reader.feed(Array("SSH-2.0-OpenSSH_9.2\r\n".utf8))) {
            XCTAssertEqual($0 as? FTPReplyReader.Problem, .notAReply("SSH-2.0-OpenSSH_9.2"))
        }
        var long = FTPReplyReader()
        XCTAssertThrowsError(try long.feed([UInt8](repeating: UInt8(ascii: "2"), count: FTPReplyReader.maxLineBytes + 1))) {
            XCTAssertEqual($0 as? FTPReplyReader.Problem, .tooLong)
        }
        var codes = FTPReplyReader()
        XCTAssertThrowsError(try codes.feed(Array("600 no such class\r\n".utf8)), "reply classes are 1 to 5")
    }

    func testRefusedFileCommandsMeanMissingDeniedOrFailed() {
        func problem(_ code: Int, _ text: String) -> RemoteFilesError {
            FTPReply(code: code, lines: [text]).fileProblem(server: "pbx:21", path: "/monitor/2026/01/02")
        }
        XCTAssertEqual(problem(550, "No such file or directory."), .notFound(server: "pbx:21", path: "/monitor/2026/01/02"))
        XCTAssertEqual(problem(450, "Requested file action not taken."), .notFound(server: "pbx:21", path: "/monitor/2026/01/02"))
        XCTAssertEqual(problem(501, "No such directory."), .notFound(server: "pbx:21", path: "/monitor/2026/01/02"), "pyftpdlib's MLSD of a missing folder")
        XCTAssertEqual(problem(550, "Permission denied."), .permissionDenied(server: "pbx:21", path: "/monitor/2026/01/02"))
        XCTAssertEqual(problem(501, "Invalid argument."), .failed(server: "pbx:21", path: "/monitor/2026/01/02", reason: "501 Invalid argument."))
        XCTAssertEqual(problem(421, "No such luck, closing."), .failed(server: "pbx:21", path: "/monitor/2026/01/02", reason: "421 No such luck, closing."),
                       "a 4xx other than 450 is no answer about the file")
    }

    func testPassiveReplies() {
        let pasv = FTPPassive.parse227(FTPReply(code: 227, lines: ["Entering Passive Mode (127,0,0,1,195,80)."]))
        XCTAssertEqual(pasv?.host, "127.0.0.1")
        XCTAssertEqual(pasv?.port, 195 * 256 + 80)
        XCTAssertEqual(FTPPassive.parse227(FTPReply(code: 227, lines: ["Entering Passive Mode 10,1,2,3,4,5"]))?.port, 1029,
                       "without parentheses")
        XCTAssertNil(FTPPassive.parse227(FTPReply(code: 227, lines: ["Entering Passive Mode (300,0,0,1,1,1)"])))
        XCTAssertNil(FTPPassive.parse227(FTPReply(code: 227, lines: ["Entering Passive Mode (1,2,3,4,5)"])))
        XCTAssertNil(FTPPassive.parse227(FTPReply(code: 200, lines: ["(127,0,0,1,195,80)"])), "only a 227 names a passive port")
        XCTAssertEqual(FTPPassive.parse229(FTPReply(code: 229, lines: ["Entering extended passive mode (|||50123|)."])), 50123)
        XCTAssertEqual(FTPPassive.parse229(FTPReply(code: 229, lines: ["Entering Extended Passive Mode (!!!2121!)"])), 2121)
        XCTAssertNil(FTPPassive.parse229(FTPReply(code: 229, lines: ["Entering Extended Passive Mode (|||70000|)"])))
        XCTAssertNil(FTPPassive.parse229(FTPReply(code: 229, lines: ["Entering Extended Passive Mode (||1|)"])))
        XCTAssertNil(FTPPassive.parse229(FTPReply(code: 500, lines: ["EPSV not understood"])))
    }

    func testMLSDLines() {
        let file = FTPListing.parseMLSD("type=file;size=48044;modify=20240102030405.123;perm=r; in-200-09121234567-20240102-033000-1704166200.77.wav",
                                        folder: "/var/spool/asterisk/monitor/2024/01/02")
        XCTAssertEqual(file?.path, "/var/spool/asterisk/monitor/2024/01/02/in-200-09121234567-20240102-033000-1704166200.77.wav")
        XCTAssertEqual(file?.kind, .file)
        XCTAssertEqual(file?.size, 48044)
        XCTAssertEqual(file?.modified, Date(timeIntervalSince1970: 1_704_164_645))
        XCTAssertEqual(FTPListing.parseMLSD("Type=dir;Modify=20240101000000; 01", folder: "/m/")?.kind, .directory)
        XCTAssertEqual(FTPListing.parseMLSD("Type=dir;Modify=20240101000000; 01", folder: "/m/")?.path, "/m/01")
        XCTAssertNil(FTPListing.parseMLSD("type=cdir; .", folder: "/m"))
        XCTAssertNil(FTPListing.parseMLSD("type=pdir; ..", folder: "/m"))
        XCTAssertNil(FTPListing.parseMLSD("garbage", folder: "/m"))
        XCTAssertNil(FTPListing.parseMLSD("type=file; a/b", folder: "/m"), "a name with a slash would leave the folder")
    }

    func testMLSTReply() throws {
        var reader = FTPReplyReader()
        let reply = try XCTUnwrap(try reader.feed(Array("250-Listing /monitor\r\n type=dir;modify=20240102030405;perm=el; /monitor\r\n250 End MLST.\r\n".utf8)).first)
        XCTAssertEqual(FTPListing.parseMLST(reply, path: "/monitor"),
                       RemoteFile(path: "/monitor", kind: .directory, size: 0, modified: FTPListing.parseTime("20240102030405")))
        XCTAssertNil(FTPListing.parseMLST(FTPReply(code: 550, lines: ["No such file"]), path: "/x"))
    }

    func testUnixListLines() throws {
        let now = try XCTUnwrap(FTPListing.parseTime("20240615120000"))
        let recent = FTPListing.parseUnixList("-rw-r--r--   1 asterisk asterisk    48044 Jun 14 09:30 out-09121234567-201-20240614-093000-1718357400.12.wav",
                                              folder: "/mon", now: now)
        XCTAssertEqual(recent?.kind, .file)
        XCTAssertEqual(recent?.size, 48044)
        XCTAssertEqual(recent?.name, "out-09121234567-201-20240614-093000-1718357400.12.wav")
        XCTAssertEqual(recent?.modified, FTPListing.parseTime("20240614093000"))
        let lastYear = FTPListing.parseUnixList("-rw-r--r-- 1 a a 10 Dec 30 23:59 x.wav", folder: "/mon", now: now)
        XCTAssertEqual(lastYear?.modified, FTPListing.parseTime("20231230235900"), "a date more than a day ahead is last year's")
        let old = FTPListing.parseUnixList("drwxr-xr-x 2 a a 4096 Mar  3  2021 2021", folder: "/mon", now: now)
        XCTAssertEqual(old?.kind, .directory)
        XCTAssertEqual(old?.modified, FTPListing.parseTime("20210303000000"))
        let link = FTPListing.parseUnixList("lrwxrwxrwx 1 a a 11 Jun 14 09:30 latest.wav -> /etc/shadow", folder: "/mon", now: now)
        XCTAssertEqual(link?.kind, .symbolicLink)
        XCTAssertEqual(link?.name, "latest.wav")
        XCTAssertNil(FTPListing.parseUnixList("total 48", folder: "/mon", now: now))
        XCTAssertNil(FTPListing.parseTime("20241301000000"), "month 13")
    }

    func testLoginWithPassword() {
        var login = FTPLogin(user: "root", password: "secret")
        XCTAssertEqual(login.receive(FTPReply(code: 120, lines: ["ready in 1 minute"])), .wait)
        XCTAssertEqual(login.receive(FTPReply(code: 220, lines: ["hello"])), .send(verb: "USER", argument: "root"))
        XCTAssertEqual(login.receive(FTPReply(code: 331, lines: ["password"])), .send(verb: "PASS", argument: "secret"))
        XCTAssertEqual(login.receive(FTPReply(code: 230, lines: ["in"])), .send(verb: "TYPE", argument: "I"))
        XCTAssertEqual(login.receive(FTPReply(code: 200, lines: ["binary"])), .ready)
    }

    func testLoginWithoutPasswordStepAndRefusals() {
        var open = FTPLogin(user: "anonymous", password: "")
        _ = open.receive(FTPReply(code: 220, lines: [""]))
        XCTAssertEqual(open.receive(FTPReply(code: 230, lines: [""])), .send(verb: "TYPE", argument: "I"))

        var wrong = FTPLogin(user: "root", password: "bad")
        _ = wrong.receive(FTPReply(code: 220, lines: [""]))
        _ = wrong.receive(FTPReply(code: 331, lines: [""]))
        let refusal = FTPReply(code: 530, lines: ["Authentication failed."])
        XCTAssertEqual(wrong.receive(refusal), .failed(.refused(refusal)))

        var busy = FTPLogin(user: "root", password: "x")
        let full = FTPReply(code: 421, lines: ["Too many connections"])
        XCTAssertEqual(busy.receive(full), .failed(.unavailable(full)))

        var odd = FTPLogin(user: "root", password: "x")
        let ssh = FTPReply(code: 500, lines: ["?"])
        XCTAssertEqual(odd.receive(ssh), .failed(.unexpected(ssh)))
    }

    func testCommandsRefuseLineBreaksInArguments() throws {
        XCTAssertEqual(try FTPCommand.line("RETR", "/a b.wav"), Array("RETR /a b.wav\r\n".utf8))
        XCTAssertEqual(try FTPCommand.line("PASV"), Array("PASV\r\n".utf8))
        XCTAssertThrowsError(try FTPCommand.line("RETR", "x.wav\r\nDELE y.wav"))
        XCTAssertThrowsError(try FTPCommand.line("PASS", "a\u{0}b"))
    }
}

/// Random input never traps the reply reader, and how the bytes are split never changes the replies.
final class FTPProtocolFuzzTests: XCTestCase {
    static let pieces = ["220", "-", " ", "\r\n", "\n", "150", "226", "211-", "211 ", "abc", "\u{0}", "\r", "999", "1", "(127,0,0,1,1,2)", "é"]

    func outcome(_ chunks: [ArraySlice<UInt8>]) -> (replies: [FTPReply], problem: FTPReplyReader.Problem?) {
        var reader = FTPReplyReader()
        var replies: [FTPReply] = []
        for chunk in chunks {
            do {
                replies += try reader.feed(chunk)
            } catch {
                return (replies, error)
            }
        }
        return (replies, nil)
    }

    func testRandomInputSplitAnywhereGivesTheSameReplies() {
        var random = SplitMix64(seed: 20_240_102)
        for round in 0..<3_000 {
            var bytes: [UInt8] = []
            for _ in 0..<random.below(40) {
                if random.below(4) == 0 {
                    bytes.append(UInt8(random.below(256)))
                } else {
                    bytes += Array(Self.pieces[random.below(Self.pieces.count)].utf8)
                }
            }
            let whole = outcome([bytes[...]])
            var chunks: [ArraySlice<UInt8>] = []
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + 1 + random.below(7))
                chunks.append(bytes[start..<end])
                start = end
            }
            let split = outcome(chunks)
            XCTAssertEqual(split.problem, whole.problem, "round \(round)")
            if whole.problem == nil {
                XCTAssertEqual(split.replies, whole.replies, "round \(round)")
            }
            for reply in whole.replies {
                XCTAssertTrue((100...599).contains(reply.code))
                _ = FTPPassive.parse227(reply)
                _ = FTPPassive.parse229(reply)
            }
            let line = String(decoding: bytes, as: UTF8.self)
            _ = FTPListing.parseMLSD(line, folder: "/f")
            _ = FTPListing.parseUnixList(line, folder: "/f", now: Date(timeIntervalSince1970: 1_700_000_000))
        }
    }
}

final class RemoteFilesSettingsTests: XCTestCase {
    func testPrintingSettingsNeverShowsThePassword() {
        let settings = RemoteFilesSettings(transfer: .ftp, host: "pbx", port: 21, user: "root", credential: .password("hunter2-secret"),
                                           knownHostsFile: "/tmp/k")
        XCTAssertFalse("\(settings)".contains("hunter2-secret"), "\(settings)")
        XCTAssertFalse(String(reflecting: settings).contains("hunter2-secret"))
        XCTAssertEqual(settings.server, "pbx:21")
        var v6 = settings
        v6.host = "fd00::1"
        XCTAssertEqual(v6.server, "[fd00::1]:21")
    }
}
